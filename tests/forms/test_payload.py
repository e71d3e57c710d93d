"""What leaves the program: the de-identified payload shaped from a stored encounter."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from forms.conditions import evaluate
from forms.generalize import HmacKey, keyed_hash
from forms.loader import load_shipped_template, load_template_data
from forms.model import Field, Template
from forms.payload import PayloadError, shape_payload
from tests.forms.worked_example import EXTENDED, HMAC_KEY, HMAC_KEY_ID, answers, payload

OTHER_KEY = bytes(range(32, 64))


@pytest.fixture(scope="module")
def shipped() -> Template:
    return load_shipped_template()


def shape(template: Template, stored: dict[str, Any], **options: Any) -> dict[str, Any]:
    """Shape with the worked example's key unless told otherwise."""
    options.setdefault("hmac_key", HMAC_KEY)
    options.setdefault("hmac_key_id", HMAC_KEY_ID)
    return shape_payload(template, stored, **options)


def person(stored: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Return the worked example with its first person row changed."""
    stored["persons"][0].update(changes)
    return stored


# --- the standard's published vectors ------------------------------------------------------


def test_hmac_test_vector_of_the_standard_matches() -> None:
    key = HmacKey(bytes(range(32)), "k2026")
    assert keyed_hash(key, "person", "CL-004417") == (
        "k2026:72c34ae3afd4097a4d299f36ab3fc2c4dca8e406dc56d2d55d2517669899d8ad"
    )


def test_worked_example_payload_is_exactly_the_published_json(shipped: Template) -> None:
    sent = shape(shipped, answers(), extended=EXTENDED)
    assert sent == payload()
    assert json.loads(json.dumps(sent)) == sent


def test_worked_example_keeps_names_address_and_narrative_at_the_agency(shipped: Template) -> None:
    text = json.dumps(shape(shipped, answers(), extended=EXTENDED))
    for secret in ("J. Doe", "Champa", "bus shelter", "CL-004417", "80205", "CR-3", "00871", "jrivera"):
        assert secret not in text


# --- keyed hashes ----------------------------------------------------------------------------


def test_client_id_hash_ignores_case_and_spaces() -> None:
    key = HmacKey(HMAC_KEY, HMAC_KEY_ID)
    expected = keyed_hash(key, "person", "CL-004417")
    assert keyed_hash(key, "person", "  cl-004417 ") == expected
    assert keyed_hash(key, "person", "CL- 004 417") == expected


def test_hash_is_stable_per_key_and_differs_across_keys_and_purposes(shipped: Template) -> None:
    first = shape(shipped, answers())["persons"][0]["person_link_key"]
    again = shape(shipped, answers())["persons"][0]["person_link_key"]
    rotated = shape(shipped, answers(), hmac_key=OTHER_KEY, hmac_key_id="k2027")["persons"][0]
    assert first == again
    assert rotated["person_link_key"].startswith("k2027:")
    assert rotated["person_link_key"].split(":")[1] != first.split(":")[1]
    key = HmacKey(HMAC_KEY, HMAC_KEY_ID)
    assert keyed_hash(key, "person", "CR-3") != keyed_hash(key, "unit", "CR-3")


def test_a_key_shorter_than_32_bytes_is_refused(shipped: Template) -> None:
    with pytest.raises(PayloadError, match="at least 32 random bytes"):
        shape(shipped, answers(), hmac_key=b"short")


def test_a_key_id_with_a_colon_is_refused(shipped: Template) -> None:
    with pytest.raises(PayloadError, match="key id 'k:2026'"):
        shape(shipped, answers(), hmac_key_id="k:2026")


def test_a_refused_client_id_is_sent_as_the_refusal(shipped: Template) -> None:
    sent = shape(shipped, person(answers(), person_local_id={"pn": "refused"}))
    assert sent["persons"][0]["person_link_key"] == {"pn": "refused"}


# --- age bands, ZIP3, ICD-10 categories -------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (0, "0_11"),
        (11, "0_11"),
        (12, "12_17"),
        (37, "35_44"),
        (89, "75_89"),
        (90, "90_plus"),
        (120, "90_plus"),
        ({"value": 37, "pn": "approximate"}, {"value": "35_44", "pn": "approximate"}),
        ({"value": 93, "pn": "approximate"}, {"value": "90_plus", "pn": "approximate"}),
        ({"pn": "refused"}, {"pn": "refused"}),
        ({"nv": "not_recorded"}, {"nv": "not_recorded"}),
    ],
)
def test_age_is_sent_only_as_a_band(shipped: Template, age: Any, band: Any) -> None:
    row = shape(shipped, person(answers(), age_years=age))["persons"][0]
    assert row["age_band"] == band
    assert "age_years" not in row


@pytest.mark.parametrize(
    ("zip5", "zip3"),
    [("80205", "802"), ("03601", "000"), ("89301", "000"), ("10001", "100"), ({"nv": "not_recorded"}, None)],
)
def test_zip_is_sent_as_three_digits_or_000_for_small_areas(shipped: Template, zip5: Any, zip3: Any) -> None:
    stored = answers()
    stored["incident_zip"] = zip5
    sent = shape(shipped, stored)
    assert sent["incident_zip3"] == (zip3 if zip3 is not None else {"nv": "not_recorded"})
    assert "incident_zip" not in sent


def test_clinical_impressions_are_sent_as_icd10_categories(shipped: Template) -> None:
    stored = person(answers(), clinical_impression_icd10=["F32.9", "F10.129", "F32.1"])
    row = shape(shipped, stored, extended=frozenset({"clinical_impression_icd10"}))["persons"][0]
    assert row["icd10_category"] == ["F32", "F10"]
    assert "clinical_impression_icd10" not in row


def test_an_age_that_is_not_a_number_is_named_in_the_error(shipped: Template) -> None:
    with pytest.raises(PayloadError, match="field 'age_years': an age must be a number of years, got 'old'"):
        shape(shipped, person(answers(), age_years="old"))


def test_a_zip_that_is_not_five_digits_is_named_in_the_error(shipped: Template) -> None:
    stored = answers()
    stored["incident_zip"] = "8020"
    with pytest.raises(PayloadError, match="field 'incident_zip': a ZIP code must be 5 digits, got '8020'"):
        shape(shipped, stored)


# --- derived values --------------------------------------------------------------------------


def test_time_on_scene_falls_back_to_cleared_when_left_scene_is_not_recorded(shipped: Template) -> None:
    stored = answers()
    stored["left_scene_at"] = {"nv": "not_recorded"}
    sent = shape(shipped, stored)
    assert sent["on_scene_s"] == 2595  # 13:17:45 -> 14:01:00 = 43 min 15 s
    assert "left_scene_at" not in sent


def test_a_negative_interval_is_left_out(shipped: Template) -> None:
    stored = answers()
    stored["en_route_at"] = "2026-03-14T13:20:00-06:00"  # after arrival at 13:17:45
    sent = shape(shipped, stored)
    assert "travel_s" not in sent
    assert sent["chute_s"] == 860  # 13:05:40 -> 13:20:00


def test_response_time_is_not_sent_for_a_self_initiated_contact(shipped: Template) -> None:
    stored = answers()
    stored["call_source"] = "walk_up_flag_down"
    stored["dispatch_reason"] = "not_dispatched"
    del stored["psap_incident_id"]
    sent = shape(shipped, stored)
    assert "response_s" not in sent
    assert "psap_incident_hash" not in sent
    assert sent["on_scene_s"] == 2425


def test_encounter_date_and_hour_are_read_in_the_times_own_offset(shipped: Template) -> None:
    stored = answers()
    times = ["call_received_at", "unit_notified_at", "en_route_at", "arrived_on_scene_at", "left_scene_at"]
    for name, minute in zip(times, range(0, 50, 10), strict=True):
        stored[name] = f"2026-03-14T23:{minute:02d}:00-06:00"  # already 15 March in UTC
    stored["cleared_at"] = "2026-03-15T00:30:00-06:00"
    sent = shape(shipped, stored)
    assert (sent["encounter_date"], sent["encounter_hour"]) == ("2026-03-14", 23)


def test_month_precision_sends_the_month_instead_of_date_and_hour(shipped: Template) -> None:
    sent = shape(shipped, answers(), date_precision="month")
    assert sent["encounter_month"] == "2026-03"
    assert "encounter_date" not in sent and "encounter_hour" not in sent
    assert sent["persons"][0]["follow_up_due_days"] == 2


def test_day_precision_does_not_send_the_month(shipped: Template) -> None:
    assert "encounter_month" not in shape(shipped, answers())


def test_an_unknown_date_precision_is_refused(shipped: Template) -> None:
    with pytest.raises(PayloadError, match="date_precision must be 'day' or 'month', got 'week'"):
        shape(shipped, answers(), date_precision="week")


def tiny_template(*derived: dict[str, Any]) -> Template:
    """Return a template with four times and the given derived values."""
    times = [
        {
            "id": name,
            "section": "times",
            "label": name,
            "type": "datetime",
            "usage": "O",
            "tier": "core",
            "input": "now",
            "privacy": "metric",
            "to_state": "derive",
        }
        for name in ("start_at", "end_at", "backup_at", "later_at")
    ]
    return load_template_data(
        {
            "template": {"id": "tiny", "version": "1", "title": "Tiny", "effective_date": "2026-01-01"},
            "not_values": [{"code": "not_recorded", "label": "Not recorded", "kind": "not"}],
            "sections": [{"id": "times", "title": "Times"}],
            "fields": times,
            "code_lists": {},
            "derived": list(derived),
        }
    )


def interval(kind: str, seconds: int) -> Any:
    """Shape start_at -> end_at `seconds` apart with one derived value of `kind`."""
    template = tiny_template(
        {"id": "gap", "level": "encounter", "kind": kind, "start": ["start_at"], "end": ["end_at"]}
    )
    start = datetime.fromisoformat("2026-03-14T10:00:00-06:00")
    stored = {"start_at": start.isoformat(), "end_at": (start + timedelta(seconds=seconds)).isoformat()}
    return shape(template, stored).get("gap")


@pytest.mark.parametrize(
    ("kind", "seconds", "expected"),
    [
        ("seconds", 934, 934),
        ("minutes", 119, 1),  # floored
        ("minutes", 120, 2),
        ("hours", 160140, 44.5),  # 44 h 29 min -> one decimal
        ("hours", 180, 0.1),  # 0.05 h rounds half up
        ("hours", 179, 0.0),
        ("days", 86399, 0),  # floored
        ("days", 2 * 86400 + 5, 2),
        ("seconds", 0, 0),
        ("seconds", -1, None),  # negative: left out
    ],
)
def test_derived_intervals_use_their_units_and_rounding(kind: str, seconds: int, expected: Any) -> None:
    assert interval(kind, seconds) == expected


def test_a_derived_start_falls_back_in_order_and_an_unreal_end_leaves_it_out() -> None:
    template = tiny_template(
        {
            "id": "gap",
            "level": "encounter",
            "kind": "seconds",
            "start": ["start_at", "backup_at"],
            "end": ["end_at"],
        }
    )
    fallback = {
        "start_at": {"nv": "not_recorded"},
        "backup_at": "2026-03-14T10:00:00-06:00",
        "end_at": "2026-03-14T10:01:00-06:00",
    }
    assert shape(template, fallback)["gap"] == 60
    assert "gap" not in shape(template, {**fallback, "end_at": {"nv": "not_recorded"}})


def test_a_derived_value_whose_when_fails_is_left_out() -> None:
    template = tiny_template(
        {
            "id": "gap",
            "level": "encounter",
            "kind": "seconds",
            "start": ["start_at"],
            "end": ["end_at"],
            "when": {"field": "later_at", "op": "is_set"},
        }
    )
    stored = {"start_at": "2026-03-14T10:00:00-06:00", "end_at": "2026-03-14T10:01:00-06:00"}
    assert "gap" not in shape(template, stored)
    assert shape(template, {**stored, "later_at": "2026-03-14T11:00:00-06:00"})["gap"] == 60


# --- what is left out ------------------------------------------------------------------------


def test_a_disabled_extended_field_is_not_sent_even_when_stored(shipped: Template) -> None:
    stored = answers()
    stored["response_mode"] = "emergent"
    assert "response_mode" not in shape(shipped, stored)
    assert shape(shipped, stored, extended=frozenset({"response_mode"}))["response_mode"] == "emergent"


def test_a_field_that_is_not_relevant_is_not_sent_even_when_stored(shipped: Template) -> None:
    stored = answers()
    stored["police_request_reason"] = ["weapon"]  # police were not called
    assert "police_request_reason" not in shape(shipped, stored)


def test_answer_keys_the_template_does_not_define_are_never_sent(shipped: Template) -> None:
    stored = person(answers(), shoe_size=44)
    stored["client_nickname"] = "Jay"
    sent = shape(shipped, stored)
    assert "client_nickname" not in sent and "shoe_size" not in sent["persons"][0]


def test_no_person_rows_are_sent_without_contact(shipped: Template) -> None:
    stored = answers()
    stored["unit_disposition"] = "no_person_found"
    assert shape(shipped, stored)["persons"] == []


def test_shaping_never_changes_the_stored_answers(shipped: Template) -> None:
    stored = answers()
    sent = shape(shipped, stored)
    sent["team_roles"].append("nurse")
    sent["persons"][0]["needs"].clear()
    assert stored == answers()


# --- every field of the shipped template -----------------------------------------------------

RELEVANT_CHOICES = {  # answers that make as many conditional fields relevant as possible
    "needs": ["suspected_overdose", "mental_health_crisis"],
    "primary_need": "suspected_overdose",
    "contact_mode": "both",
    "naloxone_response": "improved",
    "follow_up_outcome": "connected",
}


def sample_value(template: Template, field: Field, minute: int) -> Any:
    """Return a plausible value of the field's type (times one minute apart, in field order)."""
    if field.id in RELEVANT_CHOICES:
        return RELEVANT_CHOICES[field.id]
    if field.type == "datetime":
        return (datetime.fromisoformat("2026-03-14T12:00:00-06:00") + timedelta(minutes=minute)).isoformat()
    if field.type in ("enum", "multi_enum"):
        first = template.code_lists[field.code_list or ""].codes[0].code
        return first if field.type == "enum" else [first]
    if field.type in ("integer", "number"):
        return int(field.min or 0) + 1
    if field.type == "text":
        if field.generalize is not None and field.generalize.method == "zip3":
            return "80205"
        return "5" * 11 if field.pattern else f"secret text of {field.id}"
    return {"boolean": True, "date": "2026-03-16", "geo": "39.7508,-104.9966"}[field.type]


def everything(template: Template) -> dict[str, Any]:
    """Return answers with every field of the template filled, one person row."""
    row: dict[str, Any] = {}
    stored: dict[str, Any] = {"persons": [row]}
    for minute, field in enumerate(template.fields.values()):
        (row if field.group else stored)[field.id] = sample_value(template, field, minute)
    stored["encounter_id"] = "3f0c7c1e-7d5a-4f39-9a8e-2b1c5e4d9f10"
    stored["follow_up_due"] = "2026-03-16"
    row["follow_up_due"] = "2026-03-16"
    return stored


def all_keys(sent: dict[str, Any]) -> set[str]:
    return set(sent) | {k for row in sent["persons"] for k in row}


def test_no_never_or_pii_field_leaves_when_every_field_is_filled(shipped: Template) -> None:
    stored = everything(shipped)
    sent = shape(shipped, stored, extended=frozenset(shipped.fields))
    keys = all_keys(sent)
    withheld = {f.id for f in shipped.fields.values() if f.to_state == "never" or f.privacy == "pii"}
    assert not keys & withheld
    text = json.dumps(sent)
    for f in shipped.fields.values():
        if f.to_state == "never" or f.privacy == "pii":
            value = stored["persons"][0].get(f.id, stored.get(f.id))
            assert not (isinstance(value, str) and value in text), f.id


def test_generalized_and_derived_fields_appear_only_as_their_outputs(shipped: Template) -> None:
    sent = shape(shipped, everything(shipped), extended=frozenset(shipped.fields))
    keys = all_keys(sent)
    for f in shipped.fields.values():
        if f.to_state == "generalize":
            assert f.generalize is not None
            assert f.id not in keys and f.generalize.output in keys, f.id
        if f.to_state == "derive":
            assert f.id not in keys
    assert {d.id for d in shipped.derived} - {"encounter_month"} <= keys


def test_every_relevant_sent_field_reaches_the_state(shipped: Template) -> None:
    stored = everything(shipped)
    sent = shape(shipped, stored, extended=frozenset(shipped.fields))
    row = stored["persons"][0]
    for f in shipped.fields.values():
        if f.to_state != "send":
            continue
        relevant = f.relevant is None or evaluate(f.relevant, stored, shipped, row if f.group else None)
        where = sent["persons"][0] if f.group else sent
        assert (f.id in where) == relevant, f.id
