"""The worked example of standard-template.md section 7, as stored answers and as the payload.

Reusable by any test: `ANSWERS` is the normalized stored document of version 2 (the
amendment after the follow-up), auto fields included; `PAYLOAD` is exactly what the state
receives for it with `HMAC_KEY` / `HMAC_KEY_ID`; `EXTENDED` are the extended fields the
deployment switched on. Use `answers()` / `payload()` for fresh deep copies.
"""

from __future__ import annotations

import copy
import json
from typing import Any

HMAC_KEY = bytes(range(32))
HMAC_KEY_ID = "k2026"
EXTENDED = frozenset({"street_address", "person_name"})

ANSWERS: dict[str, Any] = {
    "encounter_id": "3f0c7c1e-7d5a-4f39-9a8e-2b1c5e4d9f10",
    "record_version": 2,
    "template_id": "state-standard",
    "template_version": "2026.1",
    "record_status": "amended",
    "agency_id": "ST-CR-0042",
    "software_name": "Crewlog",
    "software_version": "1.0.0",
    "program_model": "community_responder",
    "unit_id": "CR-3",
    "team_roles": ["behavioral_health_clinician", "emt"],
    "call_source": "911",
    "psap_incident_id": "2026-0314-00871",
    "dispatch_reason": "well_person_check",
    "contact_mode": "in_person",
    "call_received_at": "2026-03-14T13:02:11-06:00",
    "unit_notified_at": "2026-03-14T13:05:40-06:00",
    "en_route_at": "2026-03-14T13:06:02-06:00",
    "arrived_on_scene_at": "2026-03-14T13:17:45-06:00",
    "left_scene_at": "2026-03-14T13:58:10-06:00",
    "cleared_at": "2026-03-14T14:01:00-06:00",
    "incident_state": "08",
    "incident_county": "08031",
    "incident_zip": "80205",
    "location_type": "sidewalk",
    "street_address": "1500 block of Champa St",
    "persons_contacted_count": 1,
    "unit_disposition": "contact_made",
    "police_on_scene_at_arrival": False,
    "police_co_dispatched": False,
    "police_requested_by_team": False,
    "injury_responder": "none",
    "narrative": "Found J. near the bus shelter…",
    "attested": True,
    "completed_by_user": "jrivera",
    "completed_by_role": "behavioral_health_clinician",
    "completed_at": "2026-03-14T14:09:30-06:00",
    "persons": [
        {
            "person_seq": 1,
            "person_local_id": "CL-004417",
            "person_name": "J. Doe",
            "age_years": {"value": 37, "pn": "approximate"},
            "sex": "male",
            "race_ethnicity": {"pn": "refused"},
            "housing_status": "unsheltered",
            "repeat_client": True,
            "needs": ["mental_health_crisis", "homelessness_basic_needs"],
            "primary_need": "mental_health_crisis",
            "services": [
                "assessment_screening",
                "de_escalation_counseling",
                "basic_needs",
                "information_referral",
            ],
            "resolution": "resolved_with_referral",
            "transport_disposition": "no_transport",
            "arrest_made": False,
            "involuntary_hold": False,
            "injury_person_served": "none",
            "referrals": ["housing_shelter", "mh_outpatient"],
            "follow_up_planned": True,
            "follow_up_due": "2026-03-16",
            "follow_up_completed_at": "2026-03-16T10:30:00-06:00",
        }
    ],
}

# Copied verbatim from standard-template.md section 7 ("Sent to the state").
PAYLOAD_JSON = """
{
  "template_id": "state-standard", "template_version": "2026.1",
  "agency_id": "ST-CR-0042", "encounter_id": "3f0c7c1e-7d5a-4f39-9a8e-2b1c5e4d9f10",
  "record_version": 2, "record_status": "amended",
  "software_name": "Crewlog", "software_version": "1.0.0",
  "program_model": "community_responder",
  "unit_key": "k2026:28a98239b5dd7877a27ce02632663201cb084ce50a9a007b4de0f0dfaf234264",
  "team_roles": ["behavioral_health_clinician", "emt"],
  "call_source": "911",
  "psap_incident_hash": "k2026:4716865ea953413df4d5faadd389102222ffa8cb5d37890e3bedcfdf944558a0",
  "dispatch_reason": "well_person_check", "contact_mode": "in_person",
  "encounter_date": "2026-03-14", "encounter_hour": 13,
  "notify_s": 209, "chute_s": 22, "travel_s": 703, "response_s": 934,
  "on_scene_s": 2425, "task_s": 3320, "total_call_s": 3529,
  "incident_state": "08", "incident_county": "08031", "incident_zip3": "802",
  "location_type": "sidewalk", "unit_disposition": "contact_made",
  "police_on_scene_at_arrival": false, "police_co_dispatched": false,
  "police_requested_by_team": false, "injury_responder": "none",
  "persons_contacted_count": 1,
  "completed_by_role": "behavioral_health_clinician", "completion_lag_min": 8,
  "persons": [{
    "person_seq": 1,
    "person_link_key": "k2026:72c34ae3afd4097a4d299f36ab3fc2c4dca8e406dc56d2d55d2517669899d8ad",
    "age_band": {"value": "35_44", "pn": "approximate"},
    "sex": "male", "race_ethnicity": {"pn": "refused"},
    "housing_status": "unsheltered", "repeat_client": true,
    "needs": ["mental_health_crisis", "homelessness_basic_needs"],
    "primary_need": "mental_health_crisis",
    "services": ["assessment_screening", "de_escalation_counseling", "basic_needs", "information_referral"],
    "resolution": "resolved_with_referral", "transport_disposition": "no_transport",
    "arrest_made": false, "involuntary_hold": false, "injury_person_served": "none",
    "referrals": ["housing_shelter", "mh_outpatient"],
    "follow_up_planned": true, "follow_up_due_days": 2, "follow_up_hours": 44.5
  }]
}
"""
PAYLOAD: dict[str, Any] = json.loads(PAYLOAD_JSON)


def answers() -> dict[str, Any]:
    """Return a fresh copy of the worked example's stored answers (version 2)."""
    return copy.deepcopy(ANSWERS)


def payload() -> dict[str, Any]:
    """Return a fresh copy of the payload the state receives for the worked example."""
    return copy.deepcopy(PAYLOAD)
