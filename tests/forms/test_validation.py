"""What the crew is told when a draft is saved or a record is finalized."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import pytest

from forms.loader import load_shipped_template, load_template_data
from forms.model import Template
from forms.validation import Message, blocking, normalize, validate
from tests.forms.worked_example import EXTENDED as WORKED_EXTENDED
from tests.forms.worked_example import answers as worked_answers


def finalize(template: Template, answers: dict[str, Any], now: datetime, **more: Any) -> list[Message]:
    """Return the messages of finalizing the answers."""
    return validate(template, answers, finalize=True, now=now, **more)


def texts(messages: list[Message]) -> list[str]:
    return [m.message for m in messages]


def test_complete_answers_finalize_without_messages(
    small: Template, answers: dict[str, Any], now: datetime
) -> None:
    assert finalize(small, answers, now) == []


def test_an_incomplete_draft_saves_without_messages(small: Template, now: datetime) -> None:
    draft = {"call_source": "911", "persons": [{"age_years": 40}]}
    assert validate(small, draft, finalize=False, now=now) == []


WRONG_VALUES = [
    ("call_source", 911, "Call source: choose one of the listed options (911 is not one)."),
    ("call_source", "912", "Call source: choose one of the listed options ('912' is not one)."),
    (
        "unit_notified_at",
        "2026-03-14T13:05",
        "Dispatched to us: enter a date and time with seconds and UTC offset "
        "(e.g. 2026-03-14T13:17:45-06:00).",
    ),
    (
        "cleared_at",
        "2026-03-14T14:01:00",
        "Available again: enter a date and time with seconds and UTC offset "
        "(e.g. 2026-03-14T13:17:45-06:00).",
    ),
    ("police_requested_by_team", "yes", "Did we call police?: answer yes or no."),
    ("incident_zip", "8020", "ZIP code: '8020' is not in the expected format; check it."),
    ("psap_incident_id", "x" * 41, "Incident number: keep it to 40 characters or fewer (now 41)."),
    ("incident_county", "Denver", "County: choose one of the listed options ('Denver' is not one)."),
    (
        "gps_location",
        "39.75;-104.99",
        "GPS point: enter a GPS point as latitude,longitude (e.g. 39.7508,-104.9966).",
    ),
    ("distance_km", -1, "Distance driven: enter a number of 0 or more."),
    (
        "incident_zip",
        {"nv": "forgot"},
        "ZIP code: 'forgot' is not a known reason for a missing value; choose one from the list.",
    ),
    (
        "incident_zip",
        {"nv": "refused"},
        "ZIP code: 'refused' is not a known reason for a missing value; choose one from the list.",
    ),
    (
        "incident_zip",
        {"value": "80205"},
        "ZIP code: the stored answer is unreadable; answer the question again.",
    ),
]


@pytest.mark.parametrize(("name", "value", "text"), WRONG_VALUES)
def test_a_draft_never_holds_a_wrong_value(
    small: Template, now: datetime, name: str, value: Any, text: str
) -> None:
    messages = validate(small, {name: value}, finalize=False, now=now)
    assert messages == [Message(name, "FATAL", text, "R03")]


def test_a_wrong_value_in_a_person_row_names_the_row(
    small: Template, answers: dict[str, Any], now: datetime
) -> None:
    answers["persons"].append({"age_years": 130, "needs": ["happy"]})
    messages = validate(small, answers, finalize=False, now=now)
    assert [m.to_json() for m in messages] == [
        {
            "field": "persons[1].age_years",
            "severity": "FATAL",
            "message": "Person 2: Age: enter a whole number from 0 to 120.",
            "rule": "R03",
            "row": 1,
        },
        {
            "field": "persons[1].needs",
            "severity": "FATAL",
            "message": "Person 2: Needs: choose from the listed options ('happy' is not one).",
            "rule": "R03",
            "row": 1,
        },
    ]


def test_repeated_and_misplaced_choices_are_refused(small: Template, now: datetime) -> None:
    row = {"needs": ["suspected_overdose", "suspected_overdose"], "race_ethnicity": "asian"}
    messages = validate(
        small, {"unit_disposition": "contact_made", "persons": [row]}, finalize=False, now=now
    )
    assert texts(messages) == [
        "Person 1: Race / ethnicity: choose one or more of the listed options.",
        "Person 1: Needs: choose each option only once.",
    ]


def test_answers_that_are_not_questions_are_named(
    small: Template, answers: dict[str, Any], now: datetime
) -> None:
    answers["colour"] = "red"
    answers["age_years"] = 30  # a person-row question at encounter level
    answers["persons"][0]["call_source"] = "911"
    messages = validate(small, answers, finalize=False, now=now)
    assert [(m.field, m.message) for m in messages] == [
        (
            "persons[0].call_source",
            "Person 1: 'call_source' is not a question of template test-standard 1.0: remove it.",
        ),
        ("colour", "'colour' is not a question of template test-standard 1.0: remove it."),
        ("age_years", "'age_years' is not a question of template test-standard 1.0: remove it."),
    ]


@pytest.mark.parametrize("odd", [None, "text", [1, 2], {"persons": "everyone"}, {"persons": [1]}])
def test_unreadable_answers_get_a_message_never_an_exception(
    small: Template, now: datetime, odd: Any
) -> None:
    messages = validate(small, odd, finalize=True, now=now)
    assert blocking(messages)


def test_fields_that_do_not_apply_are_never_checked(
    small: Template, answers: dict[str, Any], now: datetime
) -> None:
    answers["police_request_reason"] = ["not a reason"]  # police were not called
    answers["response_delay"] = "not enabled"  # extended, switched off
    assert finalize(small, answers, now) == []
    messages = finalize(small, answers, now, extended=frozenset({"response_delay"}))
    assert texts(messages) == ["Anything delay us?: choose one or more of the listed options."]


def test_finalize_needs_mandatory_answers(small: Template, answers: dict[str, Any], now: datetime) -> None:
    del answers["call_source"]
    answers["persons"][0]["needs"] = []
    messages = finalize(small, answers, now)
    assert [(m.field, m.severity, m.message) for m in messages] == [
        ("call_source", "FATAL", "Call source: answer this to finalize."),
        ("persons[0].needs", "FATAL", "Person 1: Needs: answer this to finalize."),
    ]


NOT_VALUE_CASES = [
    (
        "call_source",
        {"nv": "not_recorded"},
        "Call source: a real answer is needed; 'Not recorded' is not allowed here.",
    ),
    ("incident_zip", {"nv": "not_applicable"}, None),  # R: allowed
    ("incident_zip", {"nv": "not_recorded"}, None),
    (
        "incident_zip",
        {"pn": "refused"},
        "ZIP code: 'Refused' is not allowed here: enter a value or choose "
        "'Not applicable' or 'Not recorded'.",
    ),
    ("narrative", {"nv": "not_applicable"}, None),  # Rec: allowed
    (
        "gps_location",
        {"nv": "not_recorded"},
        "GPS point: 'Not recorded' is not allowed here: enter a value.",
    ),  # O
]


@pytest.mark.parametrize(("name", "value", "text"), NOT_VALUE_CASES)
def test_not_values_follow_the_usage_level(
    small: Template, answers: dict[str, Any], now: datetime, name: str, value: Any, text: str | None
) -> None:
    answers[name] = value
    assert texts(finalize(small, answers, now)) == ([text] if text else [])


def test_pertinent_negatives_are_allowed_only_where_listed(
    small: Template, answers: dict[str, Any], now: datetime
) -> None:
    answers["persons"][0]["age_years"] = {"pn": "refused"}
    answers["persons"][0]["referrals"] = {"pn": "refused"}
    assert texts(finalize(small, answers, now)) == [
        "Person 1: Referred to: 'Refused' is not allowed here: enter a "
        "value or choose 'Not applicable' or 'Not recorded'."
    ]


def test_a_blank_required_answer_becomes_not_recorded(
    small: Template, answers: dict[str, Any], now: datetime
) -> None:
    del answers["incident_zip"]
    assert finalize(small, answers, now) == []
    assert normalize(small, answers, finalize=True)["incident_zip"] == {"nv": "not_recorded"}
    assert "incident_zip" not in normalize(small, answers, finalize=False)


def test_an_attestation_must_be_yes(small: Template, answers: dict[str, Any], now: datetime) -> None:
    answers["attested"] = False
    assert texts(finalize(small, answers, now)) == [
        "I confirm this record is accurate: confirm this (it must be yes) to finalize."
    ]


def test_a_minimum_number_of_choices(data: dict[str, Any], answers: dict[str, Any], now: datetime) -> None:
    next(f for f in data["fields"] if f["id"] == "needs")["min_items"] = 2
    template = load_template_data(data)
    assert texts(finalize(template, answers, now)) == ["Person 1: Needs: choose at least 2."]


def test_times_out_of_order_name_both_times(small: Template, answers: dict[str, Any], now: datetime) -> None:
    answers["en_route_at"] = "2026-03-14T13:20:00-06:00"
    assert finalize(small, answers, now) == [
        Message(
            "arrived_on_scene_at",
            "FATAL",
            "Times are out of order: On scene (13:17) is before En route (13:20). Check the times.",
            "R01",
        )
    ]


def test_a_time_in_the_future_is_refused_beyond_the_tolerance(
    small: Template, answers: dict[str, Any], now: datetime
) -> None:
    answers["cleared_at"] = "2026-03-14T14:14:00-06:00"  # 4.5 minutes after now: tolerated
    assert finalize(small, answers, now) == []
    answers["cleared_at"] = "2026-03-14T22:01:00+01:00"  # 15:01 at -06:00
    assert finalize(small, answers, now) == [
        Message(
            "cleared_at",
            "FATAL",
            "A time is in the future: Available again (2026-03-14 22:01) is later than now. Check the time.",
            "R02",
        )
    ]


def test_require_rules_name_the_missing_field(
    small: Template, answers: dict[str, Any], now: datetime
) -> None:
    answers["police_requested_by_team"] = True
    del answers["arrived_on_scene_at"]
    messages = finalize(small, answers, now)
    assert [(m.field, m.severity, m.rule, m.message) for m in messages] == [
        ("arrived_on_scene_at", "ERROR", "R06", "On scene: Enter the on-scene time."),
        ("police_request_reason", "ERROR", "R07", "Why did we call police?: Say why police were called."),
    ]
    assert blocking(messages)


def test_a_person_row_warning_names_the_person(
    small: Template, answers: dict[str, Any], now: datetime
) -> None:
    answers["persons"].append(copy.deepcopy(answers["persons"][0]))
    answers["persons"][1].update(
        needs=["suspected_overdose"],
        primary_need="suspected_overdose",
        naloxone_administered=True,
        naloxone_doses=2,
    )
    answers["persons"][0].update(race_ethnicity=None)
    messages = finalize(small, answers, now)
    assert [(m.field, m.severity, m.rule, m.row, m.message) for m in messages] == [
        (
            "persons[0].race_ethnicity",
            "WARNING",
            "R21",
            0,
            'Person 1: Race / ethnicity: Ask race/ethnicity, or record "refused".',
        ),
    ]
    assert not blocking(messages)


def test_a_row_rule_reads_its_own_row(small: Template, answers: dict[str, Any], now: datetime) -> None:
    answers["persons"][0].update(
        needs=["suspected_overdose", "mental_health_crisis"], naloxone_administered=True, naloxone_doses=1
    )
    assert finalize(small, answers, now) == []
    answers["persons"][0]["naloxone_administered"] = {"pn": "refused"}
    assert finalize(small, answers, now) == []


def test_the_main_need_must_be_among_the_needs(
    small: Template, answers: dict[str, Any], now: datetime
) -> None:
    answers["persons"][0]["primary_need"] = "suspected_overdose"
    assert finalize(small, answers, now) == [
        Message(
            "persons[0].primary_need",
            "ERROR",
            "Person 1: Main need: Main need must be one of the needs (add it to Needs, or change it).",
            "R16",
            0,
        )
    ]


def test_people_served_must_match_contact(small: Template, answers: dict[str, Any], now: datetime) -> None:
    no_rows = {**answers, "persons": []}
    assert texts(finalize(small, no_rows, now)) == [
        "People served: People served do not match contact. Add at least 1."
    ]
    no_contact = {**answers, "unit_disposition": "no_contact"}
    messages = finalize(small, no_contact, now)
    assert [(m.field, m.severity, m.rule) for m in messages] == [("persons", "ERROR", "R05")]
    assert "remove the 1 row(s)" in messages[0].message
    too_many = {**answers, "persons": answers["persons"] * 4}
    assert "Keep at most 3." in texts(finalize(small, too_many, now))[0]


def test_none_cannot_be_combined_with_other_choices(
    small: Template, answers: dict[str, Any], now: datetime
) -> None:
    answers["persons"][0]["referrals"] = ["food", "no_referral"]
    answers["response_delay"] = ["none", "traffic"]
    messages = finalize(small, answers, now, extended=frozenset({"response_delay"}))
    assert [(m.field, m.rule, m.message) for m in messages] == [
        (
            "persons[0].referrals",
            "R17",
            "Person 1: Referred to: \"None\" cannot be combined: remove 'No referral' or the other choices.",
        ),
        (
            "response_delay",
            "R17",
            "Anything delay us?: \"None\" cannot be combined: remove 'None' or the other choices.",
        ),
    ]


def test_long_gaps_warn(small: Template, answers: dict[str, Any], now: datetime) -> None:
    answers["persons"][0]["follow_up_due"] = "2026-04-14"  # 31 days after the encounter date
    answers["cleared_at"] = "2026-03-15T01:06:00-06:00"  # 12 h 0 min 20 s after dispatch
    later = datetime.fromisoformat("2026-03-15T02:00:00-06:00")
    messages = finalize(small, answers, later)
    assert [(m.field, m.severity, m.rule, m.message) for m in messages] == [
        (
            "persons[0].follow_up_due",
            "WARNING",
            "R19",
            "Person 1: Follow up by: Follow-up more than 30 days away "
            "(31 days after Dispatched to us). Check the dates.",
        ),
        (
            "cleared_at",
            "WARNING",
            "R24",
            "Available again: Over 12 hours: check dates (12 hours after Dispatched to us). Check the dates.",
        ),
    ]
    answers["persons"][0]["follow_up_due"] = "2026-04-13"  # exactly 30 days
    assert [m.rule for m in finalize(small, answers, later)] == ["R24"]


def test_a_possible_duplicate_is_asked_of_whoever_holds_the_records(
    small: Template, answers: dict[str, Any], now: datetime
) -> None:
    seen: list[dict[str, Any]] = []

    def lookup(candidate: dict[str, Any]) -> bool:
        seen.append(candidate)
        return True

    messages = finalize(small, answers, now, duplicate_lookup=lookup)
    assert [(m.field, m.severity, m.rule) for m in messages] == [("psap_incident_id", "WARNING", "R25")]
    assert messages[0].message == (
        "Possible duplicate record: another record has the same Incident number. "
        "Check that this is not a duplicate."
    )
    assert seen[0]["persons_contacted_count"] == 1  # the lookup sees normalized answers
    assert finalize(small, answers, now, duplicate_lookup=lambda a: False) == []


def test_blocking_is_any_fatal_or_error() -> None:
    assert blocking([Message("x", "ERROR", "m", "R1")])
    assert blocking([Message("x", "WARNING", "m", "R1"), Message(None, "FATAL", "m", "R2")])
    assert not blocking([Message("x", "WARNING", "m", "R1")])
    assert not blocking([])


def test_normalize_returns_a_new_dict_and_leaves_the_input_alone(
    small: Template, answers: dict[str, Any]
) -> None:
    before = copy.deepcopy(answers)
    result = normalize(small, answers, finalize=True)
    result["persons"][0]["age_years"] = 1
    assert answers == before


def test_normalize_sets_automatic_values_and_numbers_rows(small: Template, answers: dict[str, Any]) -> None:
    answers.update(call_source="walk_up_flag_down", dispatch_reason="well_person_check")
    answers["persons"].append({"needs": ["food"]})
    result = normalize(small, answers, finalize=False)
    assert result["dispatch_reason"] == "not_dispatched"
    assert result["en_route_at"] == {"nv": "not_applicable"}
    assert "psap_incident_id" not in result  # only for dispatched calls
    assert [r["person_seq"] for r in result["persons"]] == [1, 2]
    assert result["persons_contacted_count"] == 2


def test_normalize_drops_what_does_not_apply(small: Template, answers: dict[str, Any]) -> None:
    answers.update(contact_mode="phone_only", unit_disposition="no_contact", street_address="Main St")
    result = normalize(small, answers, finalize=False)
    assert "arrived_on_scene_at" not in result and "en_route_at" not in result
    assert "street_address" not in result  # extended and not switched on
    assert "persons" not in result
    assert result["persons_contacted_count"] == 0
    assert normalize(small, answers, extended=frozenset({"street_address"}), finalize=False)["street_address"]


def test_normalize_follows_relevance_that_cascades(small: Template, answers: dict[str, Any]) -> None:
    answers["persons"][0].update(naloxone_administered=True, naloxone_doses=2)  # needs has no overdose
    row = normalize(small, answers, finalize=True)["persons"][0]
    assert "naloxone_administered" not in row and "naloxone_doses" not in row


def test_normalize_is_idempotent(small: Template, answers: dict[str, Any]) -> None:
    once = normalize(small, answers, finalize=True)
    assert normalize(small, once, finalize=True) == once


@pytest.fixture(scope="module")
def shipped() -> Template:
    return load_shipped_template()


def test_the_shipped_template_finalizes_the_worked_example(shipped: Template) -> None:
    answers = worked_answers()
    amended = datetime.fromisoformat("2026-03-16T10:35:00-06:00")
    messages = validate(shipped, answers, finalize=True, now=amended, extended=WORKED_EXTENDED)
    assert messages == []
    assert normalize(shipped, answers, extended=WORKED_EXTENDED, finalize=True) == answers


def test_a_blank_draft_on_the_shipped_template_saves(shipped: Template) -> None:
    assert (
        validate(shipped, {}, finalize=False, now=datetime.fromisoformat("2026-03-14T13:00:00-06:00")) == []
    )


def test_the_worked_example_as_first_finalized(shipped: Template) -> None:
    answers = worked_answers()
    del answers["persons"][0]["follow_up_completed_at"]
    answers.update(record_version=1, record_status="final")
    finalized = datetime.fromisoformat("2026-03-14T14:09:30-06:00")
    assert validate(shipped, answers, finalize=True, now=finalized, extended=WORKED_EXTENDED) == []


def test_the_shipped_template_catches_a_crews_mistakes(shipped: Template) -> None:
    answers = worked_answers()
    answers["en_route_at"] = "2026-03-14T13:20:00-06:00"
    answers["persons"][0]["age_years"] = 130
    finalized = datetime.fromisoformat("2026-03-16T10:35:00-06:00")
    messages = validate(shipped, answers, finalize=True, now=finalized, extended=WORKED_EXTENDED)
    assert [(m.field, m.rule) for m in messages] == [
        ("persons[0].age_years", "R03"),
        ("arrived_on_scene_at", "R01"),
    ]
    assert messages[1].message == (
        "Times are out of order: On scene (13:17) is before En route (13:20). Check the times."
    )
