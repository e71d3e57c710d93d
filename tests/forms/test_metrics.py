"""The state's metrics over de-identified payloads, each checked against numbers worked out by hand."""

from __future__ import annotations

import itertools
import json
from datetime import date, datetime
from typing import Any

import pytest

from forms.conditions import evaluate, is_set
from forms.loader import load_shipped_template
from forms.metrics import MetricError, compute_metrics
from forms.model import Template
from forms.payload import shape_payload
from tests.forms.worked_example import EXTENDED, HMAC_KEY, HMAC_KEY_ID, answers

NOW = datetime(2026, 6, 1, 12, 0)
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def shipped() -> Template:
    return load_shipped_template()


def person(**fields: Any) -> dict[str, Any]:
    """Return a person row of a payload: an adult, resolved on scene, nothing else happened."""
    row: dict[str, Any] = {
        "person_seq": 1,
        "person_link_key": f"k2026:{next(_numbers):064x}",
        "age_band": "35_44",
        "sex": "male",
        "race_ethnicity": ["white"],
        "housing_status": "housed",
        "repeat_client": False,
        "needs": ["mental_health_crisis"],
        "primary_need": "mental_health_crisis",
        "services": ["assessment_screening"],
        "resolution": "resolved_on_scene",
        "transport_disposition": "no_transport",
        "arrest_made": False,
        "involuntary_hold": False,
        "injury_person_served": "none",
        "referrals": ["no_referral"],
        "follow_up_planned": False,
    }
    row.update(fields)
    return row


def encounter(*persons: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Return an encounter payload: a 911 call met in person with contact, no police, on 2026-03-10."""
    record: dict[str, Any] = {
        "encounter_id": f"00000000-0000-4000-8000-{next(_numbers):012d}",
        "record_version": 1,
        "record_status": "final",
        "template_id": "state-standard",
        "template_version": "2026.1",
        "agency_id": "ST-CR-0042",
        "program_model": "community_responder",
        "call_source": "911",
        "dispatch_reason": "well_person_check",
        "contact_mode": "in_person",
        "unit_disposition": "contact_made",
        "encounter_date": "2026-03-10",
        "encounter_hour": 13,
        "incident_county": "08031",
        "police_on_scene_at_arrival": False,
        "police_co_dispatched": False,
        "police_requested_by_team": False,
        "injury_responder": "none",
    }
    record.update(fields)
    record["persons"] = list(persons)
    record["persons_contacted_count"] = len(persons)
    return record


def many(count: int, *persons: dict[str, Any], **fields: Any) -> list[dict[str, Any]]:
    """Return `count` alike encounters (each person row copied, with a new link key)."""
    return [
        encounter(
            *(person(**{**p, "person_link_key": f"k2026:{next(_numbers):064x}"}) for p in persons), **fields
        )
        for _ in range(count)
    ]


def metric(
    template: Template, records: list[dict[str, Any]], metric_id: str, **options: Any
) -> dict[str, Any]:
    """Return one metric, unsuppressed unless asked."""
    options.setdefault("suppress", False)
    options.setdefault("now", NOW)
    result: dict[str, Any] = compute_metrics(template, records, **options)["metrics"][metric_id]
    return result


def rate(result: dict[str, Any]) -> tuple[Any, Any, Any]:
    return result["numerator"], result["denominator"], result["percent"]


def cells(result: dict[str, Any], dim: str) -> dict[Any, Any]:
    return {c["value"]: c for c in result["breakdowns"][dim]}


# --- counts -----------------------------------------------------------------------------------


def test_encounter_volume_counts_the_latest_final_or_amended_version_once(shipped: Template) -> None:
    records = many(10)
    amended = encounter(contact_mode="phone_only")
    records += [amended, {**amended, "record_version": 2, "record_status": "amended", "contact_mode": "both"}]
    voided = encounter()
    records += [voided, {**voided, "record_version": 2, "record_status": "voided"}]
    records += [encounter(record_status="draft")]
    late = encounter()
    records += [{**late, "record_version": 3, "record_status": "amended"}, late]  # newest listed first
    result = metric(shipped, records, "encounter_volume", breakdowns=True)
    # 10 plain + the amended one (once) + `late` (once); voided and draft drop out: 12
    assert result["count"] == 12
    # the amendment moved it from phone_only to both: in_person 10 + late 1 = 11, both 1, no phone_only
    assert {v: c["count"] for v, c in cells(result, "contact_mode").items()} == {"both": 1, "in_person": 11}


def test_unique_people_counts_each_link_key_once_and_skips_refusals(shipped: Template) -> None:
    records = [
        encounter(person(person_link_key="k2026:aa"), person(person_link_key="k2026:bb")),
        encounter(person(person_link_key="k2026:aa")),
        encounter(person(person_link_key="k2026:cc")),
        encounter(person(person_link_key={"pn": "refused"})),
        *many(8, person(person_link_key="k2026:dd")),
    ]
    # aa, bb, cc, dd (dd seen 8 times but `many` gives each row a new key: 8 keys) -> 3 + 8 = 11
    assert metric(shipped, records, "unique_people")["count"] == 11


def test_naloxone_administrations_count_people_given_naloxone(shipped: Template) -> None:
    given = {
        "needs": ["suspected_overdose"],
        "naloxone_administered": True,
        "naloxone_doses": 2,
        "naloxone_response": "improved",
    }
    records = [
        *many(4, person(**given)),
        encounter(person(**given), person(**given)),
        *many(3, person(needs=["suspected_overdose"], naloxone_administered=False)),
        *many(2, person(needs=["suspected_overdose"], naloxone_administered={"pn": "refused"})),
        *many(5),
    ]
    # 4 + 2 people given naloxone; the refusals and the "no" answers are not administrations: 6
    assert metric(shipped, records, "naloxone_administrations")["count"] == 6


def test_naloxone_doses_sum_the_doses_of_people_given_naloxone(shipped: Template) -> None:
    def given(doses: Any) -> dict[str, Any]:
        return person(needs=["suspected_overdose"], naloxone_administered=True, naloxone_doses=doses)

    records = [
        encounter(given(1)),
        encounter(given(2)),
        encounter(given(3), given(1)),
        encounter(given({"nv": "not_recorded"})),
        encounter(person(needs=["suspected_overdose"], naloxone_administered=False, naloxone_doses=4)),
        *many(6),
    ]
    result = metric(shipped, records, "naloxone_doses")
    # 1 + 2 + 3 + 1 = 7 doses over 4 rows; the unrecorded dose adds nothing; "not given" rows never count
    assert (result["count"], result["rows"]) == (7, 4)


# --- rates ------------------------------------------------------------------------------------


def test_repeat_contact_rate_counts_distinct_people(shipped: Template) -> None:
    records = [
        encounter(person(person_link_key="k2026:aa", repeat_client=False)),
        encounter(person(person_link_key="k2026:aa", repeat_client=True)),
        encounter(person(person_link_key="k2026:bb", repeat_client=True)),
        encounter(person(person_link_key="k2026:bb", repeat_client=True)),
        encounter(person(person_link_key="k2026:cc", repeat_client=False)),
        encounter(person(person_link_key={"pn": "refused"}, repeat_client=True)),
        *many(4, person(repeat_client=False)),
    ]
    # people: aa (repeat once), bb (repeat), cc, 4 new; refusal has no key -> 2 of 7 = 28.6 %
    assert rate(metric(shipped, records, "repeat_contact_rate")) == (2, 7, 28.6)


def test_response_within_target_counts_responses_of_20_minutes_or_less(shipped: Template) -> None:
    seconds = [300, 600, 900, 1200, 1201, 1500, 1800, 2100, 2400, 2700]
    records = [encounter(response_s=s) for s in seconds] + many(2, call_source="walk_up_flag_down")
    # within 1200 s: 300, 600, 900, 1200 -> 4 of the 10 with a response time = 40.0 %
    assert rate(metric(shipped, records, "response_within_target")) == (4, 10, 40.0)


def test_phone_resolution_rate_is_phone_only_contacts_among_contacts(shipped: Template) -> None:
    records = [
        *many(3, contact_mode="phone_only"),
        *many(9, contact_mode="in_person"),
        *many(2, contact_mode="phone_only", unit_disposition="no_contact"),
    ]
    # 3 phone-only of 12 contacts; the 2 without contact are outside the denominator: 25.0 %
    assert rate(metric(shipped, records, "phone_resolution_rate")) == (3, 12, 25.0)


def test_police_backup_rate_is_police_called_by_the_team_among_in_person_contacts(shipped: Template) -> None:
    records = [
        *many(3, police_requested_by_team=True),
        *many(5),
        encounter(contact_mode="both", police_requested_by_team=True),
        *many(2, contact_mode="phone_only", police_requested_by_team=True),
        encounter(unit_disposition="no_contact", police_requested_by_team=True),
    ]
    # in person with contact: 3 + 5 + 1 (both) = 9; called police: 3 + 1 = 4 -> 44.4 %
    assert rate(metric(shipped, records, "police_backup_rate")) == (4, 9, 44.4)


def test_police_presence_rate_counts_any_police_involvement(shipped: Template) -> None:
    records = [
        encounter(police_on_scene_at_arrival=True),
        encounter(police_co_dispatched=True),
        encounter(police_requested_by_team=True),
        encounter(police_on_scene_at_arrival=True, police_co_dispatched=True),
        encounter(police_on_scene_at_arrival={"nv": "not_recorded"}),
        *many(7),
        encounter(contact_mode="phone_only", police_co_dispatched=True),
    ]
    # in person: 4 + 1 + 7 = 12; any police: 4 (not_recorded is not "yes") -> 33.3 %
    assert rate(metric(shipped, records, "police_presence_rate")) == (4, 12, 33.3)


def test_arrest_rate_is_per_person_among_people_met_in_person(shipped: Template) -> None:
    records = [
        encounter(person(arrest_made=True), person()),
        encounter(person(arrest_made=True)),
        *many(8, person()),
        encounter(person(arrest_made=True), contact_mode="phone_only"),
    ]
    # people met in person: 2 + 1 + 8 = 11; arrested: 2 -> 18.2 %
    assert rate(metric(shipped, records, "arrest_rate")) == (2, 11, 18.2)


def test_involuntary_hold_rate(shipped: Template) -> None:
    hold = {
        "involuntary_hold": True,
        "involuntary_hold_initiated_by": "team_clinician",
        "resolution": "involuntary_hold_initiated",
    }
    records = [
        *many(3, person(**hold)),
        *many(12, person()),
        encounter(person(**hold), contact_mode="phone_only"),
    ]
    # 3 holds among 15 people met in person -> 20.0 %
    assert rate(metric(shipped, records, "involuntary_hold_rate")) == (3, 15, 20.0)


def test_resolved_on_scene_rate_counts_both_resolved_outcomes(shipped: Template) -> None:
    records = [
        *many(5, person(resolution="resolved_on_scene")),
        *many(4, person(resolution="resolved_with_referral")),
        *many(2, person(resolution="handed_off_to_ems")),
        *many(1, person(resolution="person_left")),
        *many(2, person(resolution="resolved_on_scene"), contact_mode="phone_only"),
    ]
    # resolved: 5 + 4 = 9 of 5 + 4 + 2 + 1 = 12 in person -> 75.0 %
    assert rate(metric(shipped, records, "resolved_on_scene_rate")) == (9, 12, 75.0)


def test_diversion_rate_excludes_arrest_hold_police_handoff_ed_and_jail(shipped: Template) -> None:
    moved = {"transport_disposition": "transported_by_ems"}
    records = [
        *many(10, person()),
        encounter(person(arrest_made=True, resolution="arrested")),
        encounter(person(involuntary_hold=True, involuntary_hold_initiated_by="law_enforcement")),
        encounter(person(**moved, destination_type="hospital_ed", resolution="transported_voluntary")),
        encounter(person(**moved, destination_type="police_jail")),
        encounter(person(resolution="handed_off_to_police")),
        encounter(
            person(
                **moved, destination_type="crisis_stabilization_center", resolution="transported_voluntary"
            )
        ),
        encounter(person(arrest_made={"pn": "refused"})),
    ]
    # 17 people in person; not diverted: arrest, hold, ED, jail, police hand-off = 5;
    # diverted: 10 + crisis centre + the refused answer (a PN on a boolean means "no") = 12 -> 70.6 %
    assert rate(metric(shipped, records, "diversion_rate")) == (12, 17, 70.6)


def test_ed_transport_rate_is_per_person_among_all_contacts(shipped: Template) -> None:
    ed = {"transport_disposition": "transported_by_ems", "destination_type": "hospital_ed"}
    records = [
        *many(2, person(**ed)),
        encounter(person(**ed), contact_mode="phone_only"),
        *many(7, person()),
        encounter(person(), person()),
    ]
    # contacts (any mode): 2 + 1 + 7 + 2 = 12 people; to the ED: 3 -> 25.0 %
    assert rate(metric(shipped, records, "ed_transport_rate")) == (3, 12, 25.0)


def test_referral_rate_ignores_no_referral_and_unrecorded(shipped: Template) -> None:
    records = [
        *many(4, person(referrals=["housing_shelter"])),
        *many(2, person(referrals=["mh_outpatient", "food"])),
        *many(5, person(referrals=["no_referral"])),
        encounter(person(referrals={"nv": "not_recorded"})),
    ]
    # referred: 4 + 2 = 6 of 12 contacts -> 50.0 %
    assert rate(metric(shipped, records, "referral_rate")) == (6, 12, 50.0)


def test_naloxone_reversal_rate_is_improved_among_people_given_naloxone(shipped: Template) -> None:
    def given(response: str) -> dict[str, Any]:
        return person(
            needs=["suspected_overdose"],
            naloxone_administered=True,
            naloxone_doses=1,
            naloxone_response=response,
        )

    records = [
        *many(1),
        *(encounter(given("improved")) for _ in range(7)),
        encounter(given("unchanged")),
        encounter(given("worse")),
        encounter(given("improved"), contact_mode="phone_only"),
    ]
    # given naloxone: 7 + 1 + 1 + 1 = 10 (any contact mode); improved 8 -> 80.0 %
    assert rate(metric(shipped, records, "naloxone_reversal_rate")) == (8, 10, 80.0)


def test_person_injury_rate_counts_minor_serious_and_fatal(shipped: Template) -> None:
    records = [
        encounter(person(injury_person_served="minor"), person(injury_person_served="serious")),
        encounter(person(injury_person_served="fatal")),
        encounter(person(injury_person_served="unknown")),
        *many(9, person()),
    ]
    # 3 injured among 2 + 1 + 1 + 9 = 13 people met in person -> 23.1 %
    assert rate(metric(shipped, records, "person_injury_rate")) == (3, 13, 23.1)


def test_responder_injury_rate_counts_minor_and_serious(shipped: Template) -> None:
    records = [
        encounter(injury_responder="minor"),
        encounter(injury_responder="serious"),
        *many(14),
        encounter(injury_responder="minor", contact_mode="phone_only"),
    ]
    # 2 of 16 in-person encounters -> 12.5 %
    assert rate(metric(shipped, records, "responder_injury_rate")) == (2, 16, 12.5)


def follow_ups() -> list[dict[str, Any]]:
    planned = {"follow_up_planned": True, "follow_up_due_days": 2}
    return [
        *many(3, person(**planned, follow_up_hours=20.5)),
        *many(2, person(**planned, follow_up_hours=72.0)),
        *many(1, person(**planned, follow_up_hours=72.1)),
        *many(2, person(**planned)),
        *many(4, person()),
    ]


def test_follow_up_completion_rate_counts_follow_ups_within_72_hours(shipped: Template) -> None:
    result = metric(shipped, follow_ups(), "follow_up_completion_rate", end=date(2026, 3, 31))
    # planned 3 + 2 + 1 + 2 = 8; done within 72.0 h: 3 + 2 = 5 -> 62.5 %
    assert rate(result) == (5, 8, 62.5)
    assert result["pending"] is False


def test_follow_up_completion_waits_until_the_window_has_passed(shipped: Template) -> None:
    result = metric(shipped, follow_ups(), "follow_up_completion_rate", end=date(2026, 5, 30))
    # the period ends 2026-05-31 00:00; 72 h later is 2026-06-03 00:00, after now (2026-06-01 12:00)
    assert result["pending"] is True
    assert result["available_after"] == "2026-06-03T00:00:00"
    assert "numerator" not in result


def test_follow_up_completion_without_an_end_covers_days_whose_window_passed(shipped: Template) -> None:
    records = [
        *follow_ups(),
        *many(2, person(follow_up_planned=True, follow_up_hours=1.0), encounter_date="2026-05-31"),
    ]
    result = metric(shipped, records, "follow_up_completion_rate")
    # now - 72 h = 2026-05-29 12:00, so 2026-05-28 is the last whole day: the 31 May records wait
    assert result["through"] == "2026-05-28"
    assert rate(result) == (5, 8, 62.5)


# --- durations --------------------------------------------------------------------------------


def test_response_time_median_p90_and_mean(shipped: Template) -> None:
    seconds = [600, 300, 900, 1200, 1500, 1800, 2100, 2400, 2700, 3000, 4500]
    records = [encounter(response_s=s) for s in seconds]
    records += [
        encounter(response_s=60, call_source="walk_up_flag_down"),
        encounter(response_s=60, contact_mode="phone_only"),
        encounter(call_source="988"),
    ]
    result = metric(shipped, records, "response_time")
    # dispatched and on scene with a time: n = 11; sorted 300 .. 4500, median = 6th = 1800;
    # p90 nearest rank = ceil(0.9 * 11) = 10th = 3000; mean = 21000 / 11 = 1909.09 -> 1909.1
    assert (result["n"], result["median_s"], result["p90_s"], result["mean_s"]) == (11, 1800, 3000, 1909.1)
    assert (result["median_min"], result["p90_min"], result["mean_min"]) == (30.0, 50.0, 31.8)


def test_response_time_median_of_an_even_count_is_the_mean_of_the_middle_two(shipped: Template) -> None:
    records = [
        encounter(response_s=s) for s in (100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1250)
    ]
    result = metric(shipped, records, "response_time")
    # n = 12: median = (600 + 700) / 2 = 650; p90 = ceil(10.8) = 11th = 1100
    assert (result["n"], result["median_s"], result["p90_s"]) == (12, 650, 1100)


def test_time_on_scene_is_for_on_scene_encounters_only(shipped: Template) -> None:
    records = [encounter(on_scene_s=60 * m) for m in (10, 20, 30, 40, 50, 60, 70, 80, 90, 100)]
    records += [encounter(on_scene_s=5, contact_mode="phone_only"), encounter(on_scene_s=-30)]
    result = metric(shipped, records, "time_on_scene")
    # 10 rows (phone-only excluded, negative dropped): median (50 + 60) / 2 min = 3300 s; p90 = 9th = 90 min
    assert (result["n"], result["median_s"], result["p90_s"], result["mean_s"]) == (10, 3300, 5400, 3300.0)


def test_time_on_task_covers_every_encounter(shipped: Template) -> None:
    records = [encounter(task_s=s) for s in (1000, 2000, 3000)]
    records += [
        encounter(task_s=4000, contact_mode="phone_only"),
        encounter(task_s=5000, unit_disposition="no_contact"),
    ]
    result = metric(shipped, records, "time_on_task")
    # all 5: median 3000, p90 = ceil(4.5) = 5th = 5000, mean 15000 / 5 = 3000.0
    assert (result["n"], result["median_s"], result["p90_s"], result["mean_s"]) == (5, 3000, 5000, 3000.0)


# --- completeness -----------------------------------------------------------------------------


def test_completeness_counts_real_values_pns_and_not_applicable_but_not_not_recorded(
    shipped: Template,
) -> None:
    records = [
        *many(9, person(), location_type="sidewalk", psap_incident_hash="k2026:x"),
        encounter(person(), location_type={"nv": "not_applicable"}, psap_incident_hash="k2026:x"),
        encounter(person(sex={"nv": "not_recorded"}), location_type={"nv": "not_recorded"}),
        encounter(person(), call_source="walk_up_flag_down", location_type="park"),
    ]
    result = metric(shipped, records, "completeness")
    fields = {f["field"]: f for f in result["fields"]}
    # location_type (R): 12 records, one not_recorded -> 11 of 12
    assert rate(fields["location_type"]) == (11, 12, 91.7)
    # psap incident (R, dispatched only): 11 dispatched, one without a hash -> 10 of 11; walk-up not counted
    assert rate(fields["psap_incident_id"]) == (10, 11, 90.9)
    # sex (R, per person): 12 people, one not_recorded -> 11 of 12
    assert rate(fields["sex"]) == (11, 12, 91.7)
    assert rate(fields["call_source"]) == (12, 12, 100.0)
    assert "response_mode" not in fields  # extended and never sent: not enabled anywhere


def test_completeness_counts_an_extended_field_where_the_agency_uses_it(shipped: Template) -> None:
    other = "ST-CR-0007"
    records = [*many(6, response_mode="emergent"), *many(4), *many(5, agency_id=other)]
    fields = {f["field"]: f for f in metric(shipped, records, "completeness")["fields"]}
    # response_mode is R and on_scene: our agency uses it (6 with, 4 missing); the other agency does not
    assert rate(fields["response_mode"]) == (6, 10, 60.0)


# --- base set and period ----------------------------------------------------------------------


def test_period_includes_both_end_dates_and_months_that_overlap(shipped: Template) -> None:
    dates = ["2026-02-28", "2026-03-01", "2026-03-15", "2026-03-31", "2026-04-01"]
    records = [encounter(encounter_date=d) for d in dates]
    by_month = [encounter(encounter_month=m) for m in ("2026-02", "2026-03", "2026-04")]
    for record in by_month:
        del record["encounter_date"]
    result = compute_metrics(
        shipped, records + by_month, start=date(2026, 3, 1), end=date(2026, 3, 31), suppress=False, now=NOW
    )
    # 1, 15 and 31 March, plus the record dated only "2026-03": 4
    assert result["metrics"]["encounter_volume"]["count"] == 4
    assert result["period"]["start"] == "2026-03-01" and result["period"]["encounters"] == 4


def test_records_without_an_id_or_version_are_skipped_and_reported(shipped: Template) -> None:
    records: list[Any] = [*many(3), {"record_status": "final"}, encounter(record_version="2"), "not a record"]
    result = compute_metrics(shipped, records, suppress=False, now=NOW)
    assert result["metrics"]["encounter_volume"]["count"] == 3
    assert result["period"]["skipped_records"] == 3


def test_the_worked_example_counts_where_the_standard_says(shipped: Template) -> None:
    sent = shape_payload(shipped, answers(), hmac_key=HMAC_KEY, hmac_key_id=HMAC_KEY_ID, extended=EXTENDED)
    found = compute_metrics(shipped, [sent], suppress=False, now=NOW)["metrics"]
    # section 7: it counts in the numerators of response_within_target (934 s), resolved_on_scene,
    # diversion, referral, repeat_contact and follow_up_completion (44.5 h)
    for name in (
        "response_within_target",
        "resolved_on_scene_rate",
        "diversion_rate",
        "referral_rate",
        "repeat_contact_rate",
        "follow_up_completion_rate",
    ):
        assert rate(found[name]) == (1, 1, 100.0), name
    for name in ("police_backup_rate", "arrest_rate", "ed_transport_rate", "phone_resolution_rate"):
        assert found[name]["numerator"] == 0, name
    assert found["response_time"]["median_s"] == 934


# --- suppression ------------------------------------------------------------------------------


def test_small_counts_are_shown_as_under_11_and_zero_is_shown(shipped: Template) -> None:
    few = compute_metrics(shipped, many(5), now=NOW)["metrics"]
    assert few["encounter_volume"] == {**few["encounter_volume"], "count": "<11", "suppressed": True}
    assert few["naloxone_administrations"]["count"] == 0 and not few["naloxone_administrations"]["suppressed"]
    enough = compute_metrics(shipped, many(11), now=NOW)["metrics"]["encounter_volume"]
    assert (enough["count"], enough["suppressed"]) == (11, False)


def test_a_rate_with_a_small_numerator_hides_the_numerator_and_percent(shipped: Template) -> None:
    records = [*many(3, police_requested_by_team=True), *many(17)]
    result = metric(shipped, records, "police_backup_rate", suppress=True)
    assert (result["numerator"], result["denominator"], result["percent"]) == ("<11", 20, None)
    assert result["suppressed"] is True


def test_a_rate_with_a_small_denominator_is_hidden_entirely(shipped: Template) -> None:
    result = metric(shipped, many(8), "police_backup_rate", suppress=True)
    assert (result["numerator"], result["denominator"], result["percent"]) == ("<11", "<11", None)


def test_a_duration_of_fewer_than_11_rows_is_hidden(shipped: Template) -> None:
    result = metric(shipped, [encounter(response_s=600) for _ in range(10)], "response_time", suppress=True)
    assert (result["n"], result["median_s"], result["p90_min"], result["suppressed"]) == (
        "<11",
        None,
        None,
        True,
    )
    shown = metric(shipped, [encounter(response_s=600) for _ in range(11)], "response_time", suppress=True)
    assert (shown["n"], shown["median_s"], shown["suppressed"]) == (11, 600, False)


def test_one_small_cell_also_hides_the_next_smallest_cell(shipped: Template) -> None:
    records = [
        *many(30),
        *many(4, contact_mode="both"),
        *many(12, contact_mode="phone_only"),
        *many(15, call_source="988"),
    ]
    result = metric(shipped, records, "encounter_volume", suppress=True, breakdowns=True)
    modes = cells(result, "contact_mode")
    assert (modes["both"]["count"], modes["both"]["suppressed"]) == ("<11", True)
    # the total (61) minus in_person (45) would reveal both (4) unless phone_only (12) is hidden too
    assert (modes["phone_only"]["count"], modes["phone_only"].get("complementary")) == (None, True)
    assert (modes["in_person"]["count"], modes["in_person"]["suppressed"]) == (45, False)


def test_two_small_cells_protect_each_other_without_a_third(shipped: Template) -> None:
    records = [*many(30), *many(4, contact_mode="both"), *many(6, contact_mode="phone_only")]
    modes = cells(
        metric(shipped, records, "encounter_volume", suppress=True, breakdowns=True), "contact_mode"
    )
    assert [modes[m]["count"] for m in ("both", "in_person", "phone_only")] == ["<11", 30, "<11"]
    assert not any(c.get("complementary") for c in modes.values())


def test_suppression_can_be_switched_off_for_the_agencys_own_dashboard(shipped: Template) -> None:
    result = compute_metrics(shipped, many(5), suppress=False, now=NOW)
    assert result["metrics"]["encounter_volume"]["count"] == 5
    assert result["period"]["suppressed"] is False


# --- breakdowns -------------------------------------------------------------------------------


def test_a_person_with_several_race_codes_counts_under_each(shipped: Template) -> None:
    records = [
        encounter(person(race_ethnicity=["white", "asian"])),
        encounter(person(race_ethnicity=["white"])),
        encounter(person(race_ethnicity={"pn": "refused"})),
    ]
    by_race = cells(metric(shipped, records, "unique_people", breakdowns=True), "race_ethnicity")
    # 3 people; white 2 + asian 1 + refused 1 = 4 cell entries (categories do not sum to the total)
    assert {v: c["count"] for v, c in by_race.items()} == {"asian": 1, "refused": 1, "white": 2}


def test_breakdowns_by_month_and_by_a_named_filter(shipped: Template) -> None:
    records = [
        *many(2, encounter_date="2026-02-11"),
        *many(3, encounter_date="2026-03-02"),
        encounter(person(arrest_made=True), police_co_dispatched=True),
    ]
    result = metric(shipped, records, "encounter_volume", breakdowns=True)
    assert {v: c["count"] for v, c in cells(result, "month").items()} == {"2026-02": 2, "2026-03": 4}
    assert "dispatch_reason" in result["breakdowns"] and "program_model" in result["breakdowns"]


def test_person_injury_rate_breaks_down_by_the_any_police_filter_as_yes_and_no(shipped: Template) -> None:
    records = [
        encounter(person(injury_person_served="minor"), person(), police_co_dispatched=True),
        encounter(person(), police_on_scene_at_arrival=True),
        encounter(person(injury_person_served="serious")),
        encounter(person()),
        encounter(person(injury_person_served="minor"), contact_mode="phone_only", police_co_dispatched=True),
    ]
    result = metric(shipped, records, "person_injury_rate", breakdowns=True)
    # in person: 5 people, 2 hurt; the phone-only person is in neither cell
    assert rate(result) == (2, 5, 40.0)
    by_police = {v: rate(c) for v, c in cells(result, "any_police").items()}
    # police involved: 3 people (2 + 1), 1 hurt; no police: 2 people, 1 hurt
    assert by_police == {True: (1, 3, 33.3), False: (1, 2, 50.0)}
    assert set(result["breakdowns"]) >= {"any_police", "age_band", "month"}


def test_a_unit_field_breaks_every_metric_down_by_unit(shipped: Template) -> None:
    records = [*many(3, unit_key="k2026:u1"), *many(2, unit_key="k2026:u2")]
    found = compute_metrics(shipped, records, suppress=False, now=NOW, unit_field="unit_key")["metrics"]
    assert {v: c["count"] for v, c in cells(found["encounter_volume"], "unit_key").items()} == {
        "k2026:u1": 3,
        "k2026:u2": 2,
    }
    assert set(found["arrest_rate"]["breakdowns"]) == {"unit_key"}


def test_totals_without_breakdowns_leave_breakdowns_empty(shipped: Template) -> None:
    found = compute_metrics(shipped, many(3), now=NOW)["metrics"]
    assert all(m["breakdowns"] == {} for m in found.values())


def test_the_result_is_plain_json(shipped: Template) -> None:
    records = [*many(12, person(race_ethnicity=["white", "asian"])), encounter(response_s=900)]
    result = compute_metrics(shipped, records, breakdowns=True, now=NOW)
    assert json.loads(json.dumps(result)) == result


def test_every_shipped_metric_has_a_hand_worked_test(shipped: Template) -> None:
    tested = {
        "encounter_volume",
        "unique_people",
        "repeat_contact_rate",
        "response_time",
        "response_within_target",
        "time_on_scene",
        "time_on_task",
        "phone_resolution_rate",
        "police_backup_rate",
        "police_presence_rate",
        "arrest_rate",
        "involuntary_hold_rate",
        "resolved_on_scene_rate",
        "diversion_rate",
        "ed_transport_rate",
        "referral_rate",
        "naloxone_administrations",
        "naloxone_doses",
        "naloxone_reversal_rate",
        "person_injury_rate",
        "responder_injury_rate",
        "follow_up_completion_rate",
        "completeness",
    }
    assert {m.id for m in shipped.metrics} == tested


def test_a_person_metric_without_a_repeat_group_is_a_clear_error(shipped: Template) -> None:
    from dataclasses import replace

    lonely = replace(shipped, groups={})
    with pytest.raises(MetricError, match="metric 'unique_people': unit 'person' needs a repeat group"):
        compute_metrics(lonely, many(1), now=NOW)


# --- the columnar engine against a plain row-by-row count -------------------------------------


def synthetic_records(template: Template, encounters: int) -> list[dict[str, Any]]:
    """Return varied payloads from the benchmark's seeded generator."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "forms_bench.py"
    spec = importlib.util.spec_from_file_location("forms_bench", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    records: list[dict[str, Any]] = bench.Synth(template, seed=11, people=150).records(encounters)
    return records


def row_by_row(template: Template, records: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    """Return each count, rate and duration computed one row at a time with `evaluate`."""
    latest: dict[str, dict[str, Any]] = {}
    for r in records:
        if (
            r["encounter_id"] not in latest
            or latest[r["encounter_id"]]["record_version"] < r["record_version"]
        ):
            latest[r["encounter_id"]] = r
    base = [r for r in latest.values() if r["record_status"] in ("final", "amended")]
    found: dict[str, tuple[Any, ...]] = {}
    for m in template.metrics:
        rows = (
            [(e, None) for e in base]
            if m.unit == "encounter"
            else [(e, p) for e in base for p in e["persons"]]
        )

        def holds(cond: Any, e: dict[str, Any], p: Any) -> bool:
            return cond is None or evaluate(cond, e, template, p)

        def value(name: str, e: dict[str, Any], p: Any) -> Any:
            return p[name] if p is not None and name in p else e.get(name)

        spec = m.spec
        if m.kind == "rate":
            den = [(e, p) for e, p in rows if holds(spec["denominator"], e, p)]
            num = [(e, p) for e, p in den if holds(spec["numerator"], e, p)]
            if "distinct" in spec:
                keys = {value(spec["distinct"], e, p) for e, p in den} - {None}
                found[m.id] = (len({value(spec["distinct"], e, p) for e, p in num} & keys), len(keys))
            else:
                found[m.id] = (len(num), len(den))
        elif m.kind == "count":
            kept = [(e, p) for e, p in rows if holds(spec.get("filter"), e, p)]
            if "distinct" in spec:
                found[m.id] = (
                    len(
                        {
                            value(spec["distinct"], e, p)
                            for e, p in kept
                            if is_set(value(spec["distinct"], e, p))
                        }
                    ),
                )
            elif "sum" in spec:
                found[m.id] = (sum(v for e, p in kept if isinstance(v := value(spec["sum"], e, p), int)),)
            else:
                found[m.id] = (len(kept),)
        elif m.kind == "duration":
            times = sorted(
                v
                for e, p in rows
                if holds(spec.get("filter"), e, p) and isinstance(v := value(spec["value"], e, p), int)
            )
            found[m.id] = (len(times), times[-(-9 * len(times) // 10) - 1] if times else None)
    return found


def test_every_metric_matches_a_row_by_row_count_on_varied_records(shipped: Template) -> None:
    records = synthetic_records(shipped, 600)
    expected = row_by_row(shipped, records)
    later = datetime(2027, 2, 1)  # the whole of 2026 is past its follow-up window
    found = compute_metrics(shipped, records, suppress=False, now=later, end=date(2026, 12, 31))["metrics"]
    for metric_id, figures in expected.items():
        m = found[metric_id]
        got = {"rate": (m.get("numerator"), m.get("denominator")), "count": (m.get("count"),)}.get(
            m["kind"], (m.get("n"), m.get("p90_s"))
        )
        assert got == figures, metric_id
    assert expected["unique_people"][0] > 50 and expected["arrest_rate"][1] > 300  # not a vacuous data set


def test_breakdown_cells_of_a_single_valued_field_add_up_to_the_total(shipped: Template) -> None:
    found = compute_metrics(
        shipped, synthetic_records(shipped, 400), suppress=False, breakdowns=True, now=NOW
    )
    for metric_id in (
        "encounter_volume",
        "police_backup_rate",
        "arrest_rate",
        "naloxone_doses",
        "completeness",
    ):
        m = found["metrics"][metric_id]
        for dim in set(m["breakdowns"]) & {"month", "call_source", "incident_county", "agency_id"}:
            for figure in ("count", "numerator", "denominator"):
                if figure in m:
                    assert sum(c[figure] for c in m["breakdowns"][dim]) == m[figure], (metric_id, dim)


def test_no_records_give_zeros_not_errors(shipped: Template) -> None:
    found = compute_metrics(shipped, [], now=NOW)
    assert found["period"]["encounters"] == 0
    assert found["metrics"]["encounter_volume"]["count"] == 0
    assert found["metrics"]["police_backup_rate"]["percent"] is None
    assert found["metrics"]["response_time"]["median_s"] is None


def test_person_rows_that_are_not_objects_are_ignored(shipped: Template) -> None:
    broken = [encounter(), encounter(person(), person())]
    broken[0]["persons"] = "not a list"
    broken[1]["persons"].insert(0, "not a row")
    found = compute_metrics(shipped, broken, suppress=False, now=NOW)
    assert found["period"]["persons"] == 2
    assert found["metrics"]["encounter_volume"]["count"] == 2


def test_records_can_come_from_a_generator(shipped: Template) -> None:
    found = compute_metrics(shipped, (r for r in many(4)), suppress=False, now=NOW)
    assert found["metrics"]["encounter_volume"]["count"] == 4
