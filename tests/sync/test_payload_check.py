"""The state's payload check: what a de-identified record may hold, judged from the template alone."""

from __future__ import annotations

from typing import Any

import pytest

from forms.payload import shape_payload
from sync.receiver.payload_check import PayloadChecker, envelope_problems
from tests.sync.sync_builders import WORKED, make_answers, make_payload, template


@pytest.fixture(scope="module")
def checker() -> PayloadChecker:
    return PayloadChecker(template())


def _rules(messages: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(m["rule"], m["severity"]) for m in messages}


def test_worked_example_payload_passes(checker: PayloadChecker) -> None:
    assert checker.check(WORKED.payload()) == []


def test_month_precision_payload_passes(checker: PayloadChecker) -> None:
    payload = shape_payload(
        template(), make_answers(), hmac_key=WORKED.HMAC_KEY, hmac_key_id="k2026", date_precision="month"
    )
    assert "encounter_month" in payload and checker.check(payload) == []


def test_a_code_outside_its_list_is_fatal(checker: PayloadChecker) -> None:
    [problem] = checker.check(make_payload(dispatch_reason="alien_landing"))
    assert problem["field"] == "dispatch_reason" and problem["severity"] == "FATAL"
    assert "alien_landing" in problem["message"]


def test_a_not_value_is_refused_on_a_mandatory_field(checker: PayloadChecker) -> None:
    [problem] = checker.check(make_payload(call_source={"nv": "not_recorded"}))
    assert problem["field"] == "call_source" and "not allowed" in problem["message"]


def test_a_missing_mandatory_field_is_named(checker: PayloadChecker) -> None:
    payload = make_payload()
    del payload["contact_mode"]
    assert [(m["field"], m["severity"]) for m in checker.check(payload)] == [("contact_mode", "FATAL")]


def test_pertinent_negative_carried_through_generalization_passes(checker: PayloadChecker) -> None:
    payload = make_payload()
    payload["persons"][0]["age_band"] = {"pn": "refused"}
    assert checker.check(payload) == []
    payload["persons"][0]["age_band"] = {"pn": "contraindication_noted"}
    assert checker.check(payload)[0]["field"] == "persons[0].age_band"


def test_cross_field_rules_run_on_sent_values(checker: PayloadChecker) -> None:
    payload = make_payload()
    person = payload["persons"][0]
    person["primary_need"] = "suspected_overdose"
    person["referrals"] = ["no_referral", "food"]
    assert _rules(checker.check(payload)) == {("R16", "ERROR"), ("R17", "ERROR")}


def test_people_rows_must_match_contact(checker: PayloadChecker) -> None:
    payload = make_payload(persons=[], persons_contacted_count=0)
    assert ("R05", "ERROR") in _rules(checker.check(payload))


def test_rules_reading_exact_times_are_left_to_the_device(checker: PayloadChecker) -> None:
    checked = {rule.id for rule in checker.rules}
    assert "R01" not in checked and "R02" not in checked  # times never reach the state
    assert {"R05", "R16", "R17"} <= checked


def test_a_voided_record_needs_only_valid_values(checker: PayloadChecker) -> None:
    voided = {
        k: v
        for k, v in make_payload(record_status="voided").items()
        if k
        in ("encounter_id", "record_version", "template_id", "template_version", "record_status", "agency_id")
    }
    assert checker.check(voided) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"encounter_id": "not-a-uuid"}, "encounter_id"),
        ({"record_version": 0}, "record_version"),
        ({"record_version": True}, "record_version"),
        ({"agency_id": "ST-OTHER"}, "agency_id"),
    ],
)
def test_envelope_problems_are_fatal(change: dict[str, Any], field: str) -> None:
    [problem] = envelope_problems(make_payload(**change), "ST-CR-0042")
    assert problem["field"] == field and problem["severity"] == "FATAL"


def test_a_record_that_is_not_an_object_is_refused() -> None:
    assert envelope_problems(["x"], "ST-CR-0042")[0]["message"] == "each record must be a JSON object"
