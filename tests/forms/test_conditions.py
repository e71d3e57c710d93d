"""Conditions decide what the crew sees, which rules fire and what each metric counts."""

from __future__ import annotations

from typing import Any

import pytest

from forms.conditions import ConditionError, compile_condition, evaluate
from forms.model import Template


def leaf(field: str, op: str, value: Any = None) -> dict[str, Any]:
    """Return a leaf condition (value omitted for unary ops)."""
    return {"field": field, "op": op} if value is None else {"field": field, "op": op, "value": value}


PLAIN = [
    ("eq", "911", "911", True),
    ("eq", "911", "988", False),
    ("ne", "911", "988", True),
    ("ne", "911", "911", False),
    ("in", "911", ["911", "988"], True),
    ("in", "311", ["911", "988"], False),
    ("not_in", "311", ["911", "988"], True),
    ("not_in", "911", ["911", "988"], False),
    ("lt", 5, 10, True),
    ("le", 10, 10, True),
    ("gt", 10, 10, False),
    ("ge", 10.5, 10, True),
    ("lt", "2026-03-14", "2026-03-15", True),
    ("gt", "2026-03-14", "2026-03-15", False),
    ("eq", 1, True, False),
    ("eq", True, True, True),
]


@pytest.mark.parametrize(("op", "stored", "value", "expected"), PLAIN)
def test_each_operator_on_plain_values(op: str, stored: Any, value: Any, expected: bool) -> None:
    assert evaluate(leaf("x", op, value), {"x": stored}) is expected


def test_datetimes_compare_as_instants_across_offsets() -> None:
    later_in_utc = {"t": "2026-03-14T13:30:00-06:00"}  # 19:30 UTC
    assert evaluate(leaf("t", "gt", "2026-03-14T14:00:00-05:00"), later_in_utc)  # 19:00 UTC
    assert not evaluate(leaf("t", "lt", "2026-03-14T19:00:00+00:00"), later_in_utc)
    assert evaluate(leaf("t", "le", "2026-03-14T19:30:00Z"), later_in_utc)


def test_a_datetime_compares_with_a_date_by_its_local_date() -> None:
    assert evaluate(leaf("t", "ge", "2026-03-14"), {"t": "2026-03-14T23:59:00-06:00"})
    assert not evaluate(leaf("t", "gt", "2026-03-14"), {"t": "2026-03-14T23:59:00-06:00"})


def test_text_that_is_no_time_never_orders() -> None:
    assert not evaluate(leaf("t", "lt", "2026-03-14"), {"t": "yesterday"})
    assert not evaluate(leaf("t", "gt", 3), {"t": "2026-03-14"})


@pytest.mark.parametrize("stored", [None, "", [], {"nv": "not_recorded"}, {"pn": "refused"}])
def test_without_a_real_value_only_negative_operators_hold(stored: Any) -> None:
    values = {"x": stored}
    for op, value in [("eq", "a"), ("in", ["a"]), ("lt", 3), ("le", 3), ("gt", 3), ("ge", 3)]:
        assert not evaluate(leaf("x", op, value), values), op
    assert not evaluate(leaf("x", "is_true"), values)
    assert evaluate(leaf("x", "ne", "a"), values)
    assert evaluate(leaf("x", "not_in", ["a"]), values)
    assert evaluate(leaf("x", "is_not_set"), values)
    assert not evaluate(leaf("x", "is_set"), values)


def test_a_missing_field_has_no_value() -> None:
    assert evaluate(leaf("absent", "ne", "a"), {})
    assert not evaluate(leaf("absent", "eq", "a"), {})
    assert evaluate(leaf("absent", "is_not_set"), {})


def test_a_qualified_value_is_set_and_compares_by_its_value() -> None:
    age = {"age_years": {"value": 37, "pn": "approximate"}}
    assert evaluate(leaf("age_years", "is_set"), age)
    assert evaluate(leaf("age_years", "lt", 40), age)
    assert evaluate(leaf("age_years", "eq", "approximate"), age)


def test_comparing_with_a_not_or_pn_code_reads_the_stored_code(small: Template) -> None:
    refused, asian = {"race_ethnicity": {"pn": "refused"}}, {"race_ethnicity": ["asian"]}
    in_refused = leaf("race_ethnicity", "in", ["refused", "unable_to_complete"])
    assert evaluate(in_refused, {}, small, refused)
    assert evaluate(in_refused, refused)  # the same without a template
    assert not evaluate(in_refused, {}, small, asian)
    assert evaluate(leaf("race_ethnicity", "ne", "refused"), {}, small, asian)
    assert not evaluate(leaf("race_ethnicity", "ne", "refused"), {}, small, refused)
    assert evaluate(
        leaf("incident_zip", "eq", "not_recorded"), {"incident_zip": {"nv": "not_recorded"}}, small
    )


def test_with_a_template_only_its_not_and_pn_codes_read_the_stored_code(small: Template) -> None:
    odd = {"call_source": {"pn": "other"}}
    assert not evaluate(leaf("call_source", "eq", "other"), odd, small)
    assert evaluate(leaf("call_source", "eq", "other"), odd)


def test_booleans_and_a_pn_on_a_boolean_counts_as_false() -> None:
    assert evaluate(leaf("b", "is_true"), {"b": True})
    assert evaluate(leaf("b", "is_false"), {"b": False})
    assert not evaluate(leaf("b", "is_false"), {"b": True})
    assert evaluate(leaf("b", "is_false"), {"b": {"pn": "refused"}})
    assert not evaluate(leaf("b", "is_true"), {"b": {"pn": "refused"}})
    assert not evaluate(leaf("b", "is_false"), {"b": {"nv": "not_recorded"}})
    assert not evaluate(leaf("b", "is_false"), {})


MULTI = [
    ("eq", "food", True),
    ("eq", "legal_aid", False),
    ("ne", "food", False),
    ("ne", "legal_aid", True),
    ("in", ["legal_aid", "food"], True),
    ("in", ["legal_aid"], False),
    ("not_in", ["no_referral"], True),
    ("not_in", ["food", "no_referral"], False),
]


@pytest.mark.parametrize(("op", "value", "expected"), MULTI)
def test_a_list_value_means_contains(op: str, value: Any, expected: bool) -> None:
    assert evaluate(leaf("referrals", op, value), {"referrals": ["food", "housing_shelter"]}) is expected


def test_payload_records_use_the_same_list_semantics_without_template_fields() -> None:
    record = {"anything": ["a", "b"]}
    assert evaluate(leaf("anything", "eq", "b"), record)
    assert evaluate(leaf("anything", "not_in", ["c"]), record)


def test_groups_of_conditions() -> None:
    values = {"a": 1, "b": 2}
    assert evaluate({"all": [leaf("a", "eq", 1), leaf("b", "eq", 2)]}, values)
    assert not evaluate({"all": [leaf("a", "eq", 1), leaf("b", "eq", 3)]}, values)
    assert evaluate({"any": [leaf("a", "eq", 9), leaf("b", "eq", 2)]}, values)
    assert evaluate({"not": leaf("a", "eq", 9)}, values)
    assert evaluate({"all": []}, values)
    assert not evaluate({"any": []}, values)


def test_named_filters_and_parameters_come_from_the_template(small: Template) -> None:
    walk_up = {"call_source": "walk_up_flag_down"}
    assert evaluate({"use": "self_initiated"}, walk_up, small)
    assert not evaluate({"use": "dispatched"}, walk_up, small)
    fast = leaf("response_s", "le", {"param": "response_target_s"})
    assert evaluate(fast, {"response_s": 1200}, small)
    assert not evaluate(fast, {"response_s": 1201}, small)


def test_explicit_filters_and_params_serve_payload_records() -> None:
    filters = {"quick": leaf("response_s", "lt", {"param": "limit"})}
    assert evaluate({"use": "quick"}, {"response_s": 10}, filters=filters, params={"limit": 60})
    assert not evaluate({"use": "quick"}, {"response_s": 90}, filters=filters, params={"limit": 60})


def test_a_person_row_reads_its_own_fields_first_then_the_encounter(small: Template) -> None:
    encounter = {"call_source": "911", "needs": ["encounter-level"]}
    row = {"needs": ["suspected_overdose"]}
    assert evaluate(leaf("call_source", "eq", "911"), encounter, small, row)
    assert evaluate(leaf("needs", "eq", "suspected_overdose"), encounter, small, row)


def test_an_encounter_condition_on_a_row_field_holds_when_some_row_matches(small: Template) -> None:
    values = {"persons": [{"needs": ["mental_health_crisis"]}, {"needs": ["suspected_overdose"]}]}
    assert evaluate(leaf("needs", "eq", "suspected_overdose"), values, small)
    assert not evaluate(leaf("needs", "eq", "homelessness_basic_needs"), values, small)
    assert not evaluate(leaf("needs", "is_set"), {"persons": []}, small)


def test_a_compiled_condition_runs_over_many_records() -> None:
    rate = compile_condition(
        {"all": [leaf("contact_mode", "in", ["in_person", "both"]), leaf("age", "ge", 18)]},
        filters={},
        params={},
    )
    records = [{"contact_mode": "in_person", "age": n} for n in range(30)]
    assert sum(rate(r, None) for r in records) == 12


@pytest.mark.parametrize(
    ("cond", "problem"),
    [
        (leaf("x", "equals", 1), "unknown op 'equals'"),
        ({"use": "nowhere"}, "unknown named filter 'nowhere'"),
        (leaf("x", "lt", {"param": "absent"}), "unknown parameter 'absent'"),
        (leaf("x", "in", "a"), "op 'in' needs a list value"),
        (leaf("x", "lt", "soon"), "op 'lt' needs a number, date or datetime value"),
        ({"fields": "x"}, "a condition needs field, all, any, not or use"),
    ],
)
def test_a_broken_condition_is_refused_with_the_reason(cond: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConditionError, match=problem):
        compile_condition(cond)


def test_a_filter_that_uses_itself_is_refused() -> None:
    filters: dict[str, Any] = {"a": {"use": "b"}, "b": {"not": {"use": "a"}}}
    with pytest.raises(ConditionError, match="named filter 'a' uses itself"):
        compile_condition({"use": "a"}, filters=filters)


def test_unreadable_values_never_crash_a_condition() -> None:
    odd = {"x": {"weird": [1, {"a": 2}]}, "persons": "not rows"}
    for op, value in [("eq", "a"), ("in", ["a"]), ("lt", 3), ("is_true", None), ("is_set", None)]:
        assert not evaluate(leaf("x", op, value), odd)
