"""Validation's compiled per-field checks never let through a value the full check refuses."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import pytest

from forms import Template, load_shipped_template, validate
from forms.validation import _usage_problem, fine_value
from forms.values import value_problem
from tests.forms.worked_example import ANSWERS, EXTENDED

SHIPPED = load_shipped_template()
LATER = datetime.fromisoformat("2026-03-17T09:00:00-06:00")
SAMPLES: list[Any] = [
    None, "", [], "zzz", "none", "911", "a" * 500, 0, -1, 7, 12345, 3.5, float("nan"), True, False,
    "2026-03-14", "2026-13-01", "2026-03-14T13:02:11-06:00", "2026-03-14T13:02:11", "39.1,-104.2",
    ["zz"], ["a", "a"], [1, 2], ["no_referral"], {"nv": "not_recorded"}, {"nv": "not_applicable"},
    {"nv": "bogus"}, {"nv": 3}, {"nv": ["x"]}, {"pn": "refused"}, {"pn": "approximate"}, {"x": 1},
    {"value": 5, "pn": "approximate"}, {"value": "", "pn": "refused"},
    {"nv": "not_recorded", "pn": "refused"},
]  # fmt: skip


def samples_for(template: Template) -> list[Any]:
    """Return the shared samples plus every code of the template's lists, alone and as a list."""
    codes = [c.code for cl in template.code_lists.values() for c in cl.codes]
    return SAMPLES + codes + [[c] for c in codes] + [{"nv": c} for c in template.not_values]


@pytest.mark.parametrize("finalize", [True, False])
def test_a_value_the_full_check_refuses_is_never_passed_by_the_quick_check(
    small: Template, finalize: bool
) -> None:
    for template in (small, SHIPPED):
        for field in template.fields.values():
            fine = fine_value(template, field, finalize)
            for value in samples_for(template):
                if not fine(value):
                    continue
                problem = value_problem(field, value, template)
                if problem is None and finalize:
                    problem = _usage_problem(template, field, value, "en")
                assert problem is None, f"{template.id} {field.id} {value!r}: {problem}"


def test_an_extended_field_is_checked_only_where_it_is_switched_on() -> None:
    answers = copy.deepcopy(ANSWERS)
    answers["street_address"] = "x" * 300
    on = validate(SHIPPED, answers, finalize=True, now=LATER, extended=EXTENDED)
    off = validate(SHIPPED, answers, finalize=True, now=LATER, extended=frozenset())
    again = validate(SHIPPED, answers, finalize=True, now=LATER, extended=EXTENDED)
    assert [m.field for m in on] == ["street_address"] and "200 characters" in on[0].message
    assert "street_address" not in [m.field for m in off]
    assert again == on


def test_wrong_answers_are_reported_in_template_order_encounter_first_then_rows() -> None:
    answers = copy.deepcopy(ANSWERS)
    answers["call_source"] = "zzz"
    answers["persons"][0]["age_years"] = -3
    answers["cleared_at"] = "yesterday"
    found = validate(SHIPPED, answers, finalize=False, now=LATER, extended=EXTENDED)
    fields = [m.field for m in found]
    order = list(SHIPPED.fields)
    assert fields == sorted(["call_source", "cleared_at"], key=order.index) + ["persons[0].age_years"]
    assert all(m.rule == "R03" for m in found)
