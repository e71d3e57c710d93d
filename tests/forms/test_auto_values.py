"""Auto when one need: a blank mandatory choice that a subset rule leaves one code is filled at finalize."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from forms import Template, load_shipped_template, validate
from forms.auto_values import only_choices
from forms.loader import load_template_data
from forms.normalize import normalize


def one_need(answers: dict[str, Any], need: str = "mental_health_crisis") -> dict[str, Any]:
    person = answers["persons"][0]
    person["needs"] = [need]
    person.pop("primary_need", None)
    return answers


def fields_with_problems(template: Template, answers: dict[str, Any], now: datetime) -> set[str | None]:
    return {m.field for m in validate(template, answers, finalize=True, now=now)}


def test_one_need_becomes_the_main_need_at_finalize(
    small: Template, answers: dict[str, Any], now: datetime
) -> None:
    one_need(answers, "homelessness_basic_needs")
    person = normalize(small, answers, finalize=True)["persons"][0]
    assert person["primary_need"] == "homelessness_basic_needs"
    assert "persons[0].primary_need" not in fields_with_problems(small, answers, now)


def test_a_draft_keeps_the_main_need_as_the_crew_left_it(small: Template, answers: dict[str, Any]) -> None:
    one_need(answers)
    assert "primary_need" not in normalize(small, answers, finalize=False)["persons"][0]


def test_several_needs_leave_the_choice_to_the_crew(
    small: Template, answers: dict[str, Any], now: datetime
) -> None:
    one_need(answers)["persons"][0]["needs"] = ["mental_health_crisis", "suspected_overdose"]
    messages = validate(small, answers, finalize=True, now=now)
    assert [m.message for m in messages if m.field == "persons[0].primary_need"] == [
        "Person 1: Main need: answer this to finalize."
    ]


def test_a_chosen_main_need_is_never_replaced(
    small: Template, answers: dict[str, Any], now: datetime
) -> None:
    one_need(answers)["persons"][0]["primary_need"] = "suspected_overdose"
    assert normalize(small, answers, finalize=True)["persons"][0]["primary_need"] == "suspected_overdose"
    rules = {
        m.rule
        for m in validate(small, answers, finalize=True, now=now)
        if m.field == "persons[0].primary_need"
    }
    assert rules == {"R16"}  # still told it is not one of the needs


def test_the_subset_rule_not_a_field_name_drives_it(data: dict[str, Any], answers: dict[str, Any]) -> None:
    for field in data["fields"]:
        if field["id"] == "primary_need":
            field["id"] = "chief_concern"
    for rule in data["rules"]:
        if rule.get("field") == "primary_need":
            rule["field"] = "chief_concern"
    renamed = load_template_data(data, "renamed.toml")
    assert (
        normalize(renamed, one_need(answers), finalize=True)["persons"][0]["chief_concern"]
        == "mental_health_crisis"
    )
    data["rules"] = [r for r in data["rules"] if r["kind"] != "subset"]
    without_rule = load_template_data(data, "no-subset.toml")
    assert "chief_concern" not in normalize(without_rule, one_need(answers), finalize=True)["persons"][0]


def test_a_required_field_that_may_stay_unrecorded_is_not_guessed(
    data: dict[str, Any], answers: dict[str, Any]
) -> None:
    for field in data["fields"]:
        if field["id"] == "primary_need":
            field.update(usage="R", not_values=["not_applicable", "not_recorded"])
    template = load_template_data(data, "r-usage.toml")
    assert normalize(template, one_need(answers), finalize=True)["persons"][0]["primary_need"] == {
        "nv": "not_recorded"
    }


def test_the_shipped_template_fills_primary_need_from_needs() -> None:
    shipped = load_shipped_template()
    assert [(c.target, c.source, c.group) for c in only_choices(shipped)] == [
        ("primary_need", "needs", "persons")
    ]
