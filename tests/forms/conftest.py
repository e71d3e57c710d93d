"""A small template, built as data, that exercises every part of the template format.

Tests change a fresh copy (fixture `data`) to provoke one loader error at a time, and
validate answers (fixture `answers`) against the loaded `small` template. Everything is
handed out as fixtures: test modules never import this file (several conftest.py files
share the module name "conftest").
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import pytest

from forms.loader import load_template_data
from forms.model import Template

NOW = datetime.fromisoformat("2026-03-14T14:09:30-06:00")


def codes(*items: str) -> dict[str, Any]:
    """Return a code list whose labels are the codes in words."""
    return {"codes": [{"code": c, "label": c.replace("_", " ").capitalize()} for c in items]}


def entry(fid: str, section: str, label: str, ftype: str, usage: str, **more: Any) -> dict[str, Any]:
    """Return a field entry with the usual defaults (core, tap, metric, send)."""
    base = {
        "id": fid,
        "section": section,
        "label": label,
        "type": ftype,
        "usage": usage,
        "tier": "core",
        "input": "tap",
        "privacy": "metric",
        "to_state": "send",
    }
    return {**base, **more}


BASE: dict[str, Any] = {
    "template": {
        "id": "test-standard",
        "version": "1.0",
        "title": "Test template",
        "effective_date": "2026-01-01",
    },
    "parameters": {"response_target_s": 1200, "suppress_below": 11},
    "not_values": [
        {"code": "not_applicable", "label": "Not applicable", "kind": "not"},
        {"code": "not_recorded", "label": "Not recorded", "kind": "not"},
        {"code": "refused", "label": "Refused", "kind": "pn"},
        {"code": "unable_to_complete", "label": "Unable to complete", "kind": "pn"},
        {"code": "approximate", "label": "Approximate", "kind": "pn"},
    ],
    "sections": [
        {"id": "call", "title": "Call"},
        {"id": "people", "title": "People", "group": "persons"},
        {"id": "wrapup", "title": "Wrap-up"},
    ],
    "groups": [
        {
            "id": "persons",
            "label": "People served",
            "row_label": "Person",
            "relevant": {"use": "contact"},
            "min_rows": 1,
            "max_rows": 3,
            "sequence_field": "person_seq",
            "count_field": "persons_contacted_count",
        },
    ],
    "fields": [
        entry("call_source", "call", "Call source", "enum", "M", code_list="call_source"),
        entry(
            "dispatch_reason",
            "call",
            "Dispatch reason",
            "enum",
            "M",
            code_list="dispatch_reason",
            auto_value={"value": "not_dispatched", "when": {"use": "self_initiated"}},
        ),
        entry("contact_mode", "call", "How did we help?", "enum", "M", code_list="contact_mode"),
        entry("unit_notified_at", "call", "Dispatched to us", "datetime", "M", input="now", now_button=True),
        entry(
            "en_route_at",
            "call",
            "En route",
            "datetime",
            "R",
            input="now",
            relevant={"use": "on_scene"},
            auto_value={"value": {"nv": "not_applicable"}, "when": {"use": "self_initiated"}},
        ),
        entry(
            "arrived_on_scene_at",
            "call",
            "On scene",
            "datetime",
            "R",
            input="now",
            relevant={"use": "on_scene"},
        ),
        entry("cleared_at", "call", "Available again", "datetime", "M", input="now"),
        entry("unit_disposition", "call", "Did we make contact?", "enum", "M", code_list="unit_disposition"),
        entry("incident_county", "call", "County", "enum", "M", code_list="fips_county", input="preset"),
        entry(
            "psap_incident_id",
            "call",
            "Incident number",
            "text",
            "R",
            input="text",
            max_length=40,
            relevant={"use": "dispatched"},
            privacy="pii",
            to_state="generalize",
            generalize={"method": "hmac", "output": "psap_incident_hash", "purpose": "incident"},
        ),
        entry(
            "incident_zip",
            "call",
            "ZIP code",
            "text",
            "R",
            input="text",
            pattern="^[0-9]{5}$",
            privacy="pii",
            to_state="generalize",
            generalize={"method": "zip3", "output": "incident_zip3"},
        ),
        entry(
            "response_delay",
            "call",
            "Anything delay us?",
            "multi_enum",
            "Rec",
            code_list="response_delay",
            tier="extended",
        ),
        entry(
            "street_address",
            "call",
            "Address",
            "text",
            "O",
            input="text",
            tier="extended",
            max_length=200,
            privacy="pii",
            to_state="never",
        ),
        entry("gps_location", "call", "GPS point", "geo", "O", input="auto", privacy="pii", to_state="never"),
        entry("distance_km", "call", "Distance driven", "number", "O", input="num", min=0),
        entry("police_requested_by_team", "call", "Did we call police?", "boolean", "M"),
        entry(
            "police_request_reason",
            "call",
            "Why did we call police?",
            "multi_enum",
            "R",
            code_list="police_request_reason",
            relevant={"field": "police_requested_by_team", "op": "is_true"},
        ),
        entry("persons_contacted_count", "call", "People contacted", "integer", "M", input="derived"),
        entry("person_seq", "people", "Person number", "integer", "M", input="auto"),
        entry(
            "age_years",
            "people",
            "Age",
            "integer",
            "R",
            input="num",
            min=0,
            max=120,
            privacy="pii",
            pertinent_negatives=["approximate", "refused", "unable_to_complete"],
            to_state="generalize",
            generalize={"method": "age_band", "output": "age_band"},
        ),
        entry(
            "race_ethnicity",
            "people",
            "Race / ethnicity",
            "multi_enum",
            "Rec",
            code_list="race_ethnicity",
            pertinent_negatives=["refused", "unable_to_complete"],
        ),
        entry("needs", "people", "Needs", "multi_enum", "M", code_list="needs", min_items=1),
        entry("primary_need", "people", "Main need", "enum", "M", code_list="needs"),
        entry(
            "naloxone_administered",
            "people",
            "Did we give naloxone?",
            "boolean",
            "R",
            relevant={"field": "needs", "op": "in", "value": ["suspected_overdose"]},
            pertinent_negatives=["refused"],
        ),
        entry(
            "naloxone_doses",
            "people",
            "Doses we gave",
            "integer",
            "R",
            input="num",
            min=1,
            max=10,
            relevant={"field": "naloxone_administered", "op": "is_true"},
        ),
        entry("referrals", "people", "Referred to", "multi_enum", "R", code_list="referrals"),
        entry("follow_up_planned", "people", "Follow-up planned?", "boolean", "M"),
        entry(
            "follow_up_due",
            "people",
            "Follow up by",
            "date",
            "R",
            relevant={"field": "follow_up_planned", "op": "is_true"},
        ),
        entry(
            "narrative",
            "wrapup",
            "What happened",
            "text",
            "Rec",
            input="text",
            max_length=8000,
            privacy="pii",
            to_state="never",
        ),
        entry(
            "attested",
            "wrapup",
            "I confirm this record is accurate",
            "boolean",
            "M",
            must_be_true=True,
            to_state="never",
        ),
    ],
    "code_lists": {
        "call_source": codes("911", "988", "walk_up_flag_down", "proactive_outreach"),
        "dispatch_reason": codes("well_person_check", "overdose_poisoning", "not_dispatched", "other"),
        "contact_mode": codes("in_person", "phone_only", "both"),
        "unit_disposition": codes("contact_made", "no_contact", "cancelled_prior_to_arrival"),
        "fips_county": {
            "external": True,
            "pattern": "^[0-9]{5}$",
            "codes": [{"code": "08031", "label": "Denver"}],
        },
        "response_delay": codes("none", "traffic", "distance"),
        "police_request_reason": codes("weapon", "other"),
        "race_ethnicity": codes("asian", "white", "hispanic_latino"),
        "needs": codes("mental_health_crisis", "suspected_overdose", "homelessness_basic_needs"),
        "referrals": codes("food", "housing_shelter", "no_referral"),
        "age_band": {**codes("0_17", "18_64", "65_plus"), "output_only": True},
    },
    "filters": {
        "self_initiated": {
            "field": "call_source",
            "op": "in",
            "value": ["walk_up_flag_down", "proactive_outreach"],
        },
        "dispatched": {"not": {"use": "self_initiated"}},
        "on_scene": {"field": "contact_mode", "op": "ne", "value": "phone_only"},
        "contact": {"field": "unit_disposition", "op": "eq", "value": "contact_made"},
        "in_person": {
            "all": [{"use": "contact"}, {"field": "contact_mode", "op": "in", "value": ["in_person", "both"]}]
        },
    },
    "derived": [
        {"id": "encounter_date", "level": "encounter", "kind": "local_date", "start": ["unit_notified_at"]},
        {
            "id": "response_s",
            "level": "encounter",
            "kind": "seconds",
            "start": ["unit_notified_at"],
            "end": ["arrived_on_scene_at"],
            "when": {"use": "dispatched"},
        },
        {
            "id": "follow_up_due_days",
            "level": "persons",
            "kind": "days",
            "start": ["encounter_date"],
            "end": ["follow_up_due"],
        },
    ],
    "rules": [
        {
            "id": "R01",
            "severity": "FATAL",
            "kind": "order",
            "message": "Times are out of order",
            "fields": ["unit_notified_at", "en_route_at", "arrived_on_scene_at", "cleared_at"],
        },
        {
            "id": "R02",
            "severity": "FATAL",
            "kind": "not_future",
            "tolerance_s": 300,
            "message": "A time is in the future",
        },
        {"id": "R03", "severity": "FATAL", "kind": "schema", "message": "Missing or invalid value"},
        {
            "id": "R05",
            "severity": "ERROR",
            "kind": "rows",
            "group": "persons",
            "message": "People served do not match contact",
        },
        {
            "id": "R06",
            "severity": "ERROR",
            "kind": "require",
            "when": {"use": "in_person"},
            "then": {"field": "arrived_on_scene_at", "op": "is_set"},
            "message": "Enter the on-scene time",
        },
        {
            "id": "R07",
            "severity": "ERROR",
            "kind": "require",
            "when": {"field": "police_requested_by_team", "op": "is_true"},
            "then": {"field": "police_request_reason", "op": "is_set"},
            "message": "Say why police were called",
        },
        {
            "id": "R09",
            "severity": "WARNING",
            "kind": "require",
            "level": "persons",
            "when": {"field": "naloxone_administered", "op": "is_true"},
            "then": {"field": "needs", "op": "eq", "value": "suspected_overdose"},
            "message": "Naloxone given without suspected overdose",
        },
        {
            "id": "R16",
            "severity": "ERROR",
            "kind": "subset",
            "level": "persons",
            "field": "primary_need",
            "of": "needs",
            "message": "Main need must be one of the needs",
        },
        {
            "id": "R17",
            "severity": "ERROR",
            "kind": "exclusive",
            "message": '"None" cannot be combined',
            "items": [
                {"field": "referrals", "code": "no_referral"},
                {"field": "response_delay", "code": "none"},
            ],
        },
        {
            "id": "R19",
            "severity": "WARNING",
            "kind": "max_gap",
            "level": "persons",
            "start": "encounter_date",
            "end": "follow_up_due",
            "max_s": 2592000,
            "message": "Follow-up more than 30 days away",
        },
        {
            "id": "R21",
            "severity": "WARNING",
            "kind": "require",
            "level": "persons",
            "then": {
                "any": [
                    {"field": "race_ethnicity", "op": "is_set"},
                    {"field": "race_ethnicity", "op": "in", "value": ["refused", "unable_to_complete"]},
                ]
            },
            "message": 'Ask race/ethnicity, or record "refused"',
        },
        {
            "id": "R24",
            "severity": "WARNING",
            "kind": "max_gap",
            "start": "unit_notified_at",
            "end": "cleared_at",
            "max_s": 43200,
            "message": "Over 12 hours: check dates",
        },
        {
            "id": "R25",
            "severity": "WARNING",
            "kind": "unique",
            "fields": ["psap_incident_hash"],
            "message": "Possible duplicate record",
        },
    ],
    "breakdowns": {"ENC": ["month", "call_source"], "PER": ["ENC", "age_band"]},
    "metrics": [
        {
            "id": "encounter_volume",
            "label": "Encounters",
            "kind": "count",
            "unit": "encounter",
            "breakdowns": ["ENC"],
        },
        {
            "id": "police_backup_rate",
            "label": "Police backup",
            "kind": "rate",
            "unit": "encounter",
            "numerator": {"field": "police_requested_by_team", "op": "is_true"},
            "denominator": {"use": "in_person"},
        },
        {
            "id": "response_within_target",
            "label": "Within target",
            "kind": "rate",
            "unit": "encounter",
            "numerator": {"field": "response_s", "op": "le", "value": {"param": "response_target_s"}},
            "denominator": {"field": "response_s", "op": "is_set"},
        },
        {
            "id": "response_time",
            "label": "Response time",
            "kind": "duration",
            "unit": "encounter",
            "value": "response_s",
            "aggregations": ["median", "p90"],
            "breakdowns": ["PER"],
        },
        {"id": "completeness", "label": "Completeness", "kind": "completeness", "unit": "encounter"},
    ],
}


def template_data() -> dict[str, Any]:
    """Return a fresh copy of the small template's data."""
    return copy.deepcopy(BASE)


def valid_answers() -> dict[str, Any]:
    """Return the answers of a complete, finalizable dispatched in-person call with one person."""
    return {
        "call_source": "911",
        "dispatch_reason": "well_person_check",
        "contact_mode": "in_person",
        "unit_notified_at": "2026-03-14T13:05:40-06:00",
        "en_route_at": "2026-03-14T13:06:02-06:00",
        "arrived_on_scene_at": "2026-03-14T13:17:45-06:00",
        "cleared_at": "2026-03-14T14:01:00-06:00",
        "unit_disposition": "contact_made",
        "incident_county": "08031",
        "psap_incident_id": "2026-0314-00871",
        "incident_zip": "80205",
        "police_requested_by_team": False,
        "attested": True,
        "persons": [
            {
                "age_years": {"value": 37, "pn": "approximate"},
                "race_ethnicity": {"pn": "refused"},
                "needs": ["mental_health_crisis"],
                "primary_need": "mental_health_crisis",
                "referrals": ["housing_shelter"],
                "follow_up_planned": True,
                "follow_up_due": "2026-03-16",
            }
        ],
    }


@pytest.fixture(scope="session")
def small() -> Template:
    """Return the small template, loaded."""
    return load_template_data(template_data(), "small.toml")


@pytest.fixture
def data() -> dict[str, Any]:
    """Return a fresh copy of the small template's data, to change."""
    return template_data()


@pytest.fixture
def answers() -> dict[str, Any]:
    """Return fresh answers that finalize cleanly on the small template."""
    return valid_answers()


@pytest.fixture
def now() -> datetime:
    """Return the finalize time used with `answers`."""
    return NOW
