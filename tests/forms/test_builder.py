"""The form builder: one fresh form class per template, choices from code lists, round trips."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask_babel import Babel
from werkzeug.datastructures import MultiDict

from forms.builder import (
    NV_SUFFIX,
    answers_from_form,
    build_encounter_form,
    form_data_from_answers,
    responder_fields,
)
from forms.loader import load_template_data
from forms.model import Template

NOT_VALUES = [
    {"code": "not_applicable", "label": "Not applicable", "kind": "not"},
    {"code": "not_recorded", "label": "Not recorded", "kind": "not"},
    {"code": "not_reporting", "label": "Not reporting", "kind": "not"},
    {"code": "refused", "label": "Refused", "kind": "pn"},
    {"code": "approximate", "label": "Approximate", "kind": "pn"},
]


def _field(fid: str, section: str, ftype: str, usage: str = "R", **extra: Any) -> dict[str, Any]:
    spec = {
        "id": fid,
        "section": section,
        "label": fid.replace("_", " ").title(),
        "type": ftype,
        "usage": usage,
        "tier": "core",
        "input": "tap",
        "privacy": "metric",
        "to_state": "send",
    }
    return spec | extra


MINI = {
    "template": {"id": "mini", "version": "1", "title": "Mini", "effective_date": "2026-01-01"},
    "not_values": NOT_VALUES,
    "sections": [{"id": "call", "title": "Call"}, {"id": "people", "title": "People", "group": "persons"}],
    "groups": [
        {
            "id": "persons",
            "label": "People served",
            "label_i18n": {"es": "Personas"},
            "relevant": {"field": "contact", "op": "is_true"},
        }
    ],
    "fields": [
        _field("record_ref", "call", "text", "M", input="auto"),
        _field("call_source", "call", "enum", "M", code_list="call_source", label_i18n={"es": "Origen"}),
        _field("contact", "call", "boolean", "M"),
        _field("received_at", "call", "datetime", input="now", now_button=True),
        _field("county", "call", "enum", code_list="county"),
        _field("dispatch_note", "call", "text", tier="extended", input="text", max_length=40),
        _field("narrative", "call", "text", "Rec", input="text", max_length=8000),
        _field(
            "age_years", "people", "integer", min=0, max=120, pertinent_negatives=["approximate", "refused"]
        ),
        _field("race", "people", "multi_enum", "Rec", code_list="race", pertinent_negatives=["refused"]),
        _field("repeat_client", "people", "boolean", "M", input="derived"),
    ],
    "code_lists": {
        "call_source": {
            "codes": [
                {"code": "911", "label": "911"},
                {"code": "walk_up", "label": "Flagged down", "label_i18n": {"es": "En la calle"}},
            ]
        },
        "county": {"external": True, "pattern": "[0-9]{5}", "codes": [{"code": "08031", "label": "Denver"}]},
        "race": {"codes": [{"code": "asian", "label": "Asian"}, {"code": "white", "label": "White"}]},
    },
}


@pytest.fixture
def template() -> Template:
    return load_template_data(copy.deepcopy(MINI), "mini.toml")


@pytest.fixture(autouse=True)
def request_context() -> Iterator[None]:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test", WTF_CSRF_ENABLED=False)
    Babel(app)
    with app.test_request_context():
        yield


def _form(template: Template, data: MultiDict[str, str], extended: frozenset[str] = frozenset()) -> Any:
    return build_encounter_form(template, extended=extended)(formdata=data)


def _pairs(field: Any) -> list[tuple[str, str]]:
    return [(c.value, str(c.label)) for c in field.choices]


def _codes(field: Any) -> list[str]:
    return [c.value for c in field.choices]


def test_each_call_builds_a_fresh_class_so_programs_do_not_see_each_others_fields(template: Template) -> None:
    plain = build_encounter_form(template, extended=frozenset())
    with_note = build_encounter_form(template, extended=frozenset({"dispatch_note"}))
    again = build_encounter_form(template, extended=frozenset())
    assert plain is not with_note and plain is not again
    assert "dispatch_note" in with_note(formdata=MultiDict())
    assert "dispatch_note" not in plain(formdata=MultiDict())
    assert "dispatch_note" not in again(formdata=MultiDict())


def test_system_filled_and_derived_fields_are_not_on_the_form(template: Template) -> None:
    form = _form(template, MultiDict())
    assert "record_ref" not in form
    assert "repeat_client" not in form.persons.unbound_field.args[0]()
    assert [f.id for f in responder_fields(template, frozenset())][:2] == ["call_source", "contact"]


def test_choices_come_from_the_code_list_in_the_page_language(template: Template) -> None:
    english = _form(template, MultiDict())
    spanish = build_encounter_form(template, extended=frozenset(), lang="es")(formdata=MultiDict())
    assert _pairs(english.call_source) == [("911", "911"), ("walk_up", "Flagged down")]
    assert _pairs(spanish.call_source) == [("911", "911"), ("walk_up", "En la calle")]
    assert spanish.call_source.label.text == "Origen"
    assert spanish.persons.label.text == "Personas"


def test_state_lists_are_typed_with_the_shipped_codes_offered(template: Template) -> None:
    form = _form(template, MultiDict({"county": "08005"}))
    assert form.county.type == "StringField"
    assert 'list="county-codes"' in form.county()
    assert answers_from_form(template, form)["county"] == "08005"


def test_not_values_and_negatives_are_offered_only_where_the_field_allows_them(template: Template) -> None:
    form = _form(template, MultiDict({"persons-0-row_marker": "1"}))
    row = form.persons[0].form
    assert "call_source" + NV_SUFFIX not in form  # M: never a NOT value
    assert _codes(form["received_at" + NV_SUFFIX]) == ["", "not_applicable", "not_recorded"]
    assert _codes(row["age_years" + NV_SUFFIX]) == [
        "",
        "not_applicable",
        "not_recorded",
        "approximate",
        "refused",
    ]
    assert _codes(row["race" + NV_SUFFIX]) == ["", "not_applicable", "not_recorded", "refused"]
    assert all("not_reporting" not in _codes(form[n]) for n in form._fields if n.endswith(NV_SUFFIX))


def test_booleans_start_unanswered_and_store_true_or_false(template: Template) -> None:
    unanswered = _form(template, MultiDict())
    assert [(opt.data, opt.checked) for opt in unanswered.contact] == [
        ("true", False),
        ("false", False),
        ("", True),
    ]
    assert "contact" not in answers_from_form(template, unanswered)
    assert answers_from_form(template, _form(template, MultiDict({"contact": "false"})))["contact"] is False
    assert answers_from_form(template, _form(template, MultiDict({"contact": ""}))).get("contact") is None


def test_stored_encodings_round_trip_through_the_form(template: Template) -> None:
    answers = {
        "call_source": "walk_up",
        "contact": True,
        "received_at": "2026-03-14T13:02:11-06:00",
        "narrative": {"nv": "not_applicable"},
        "persons": [
            {"age_years": {"value": 37, "pn": "approximate"}, "race": {"pn": "refused"}},
            {"age_years": 8, "race": ["asian", "white"]},
        ],
    }
    data = form_data_from_answers(template, answers, zone=ZoneInfo("America/Denver"))
    data.update({"time_zone": "America/Denver", "encounter_uuid": "3f0c7c1e-7d5a-4f39-9a8e-2b1c5e4d9f10"})
    form = _form(template, data)
    assert form.validate(), form.errors
    assert answers_from_form(template, form) == answers


def test_datetimes_are_read_in_the_forms_time_zone_with_daylight_saving(template: Template) -> None:
    summer = _form(template, MultiDict({"received_at": "2026-07-01T09:30", "time_zone": "America/Denver"}))
    winter = _form(template, MultiDict({"received_at": "2026-01-05T09:30:15", "time_zone": "America/Denver"}))
    assert answers_from_form(template, summer)["received_at"] == "2026-07-01T09:30:00-06:00"
    assert answers_from_form(template, winter)["received_at"] == "2026-01-05T09:30:15-07:00"


def test_stored_times_are_shown_as_wall_clock_in_the_programs_zone(template: Template) -> None:
    data = form_data_from_answers(
        template, {"received_at": "2026-03-14T19:02:11Z"}, zone=ZoneInfo("America/Denver")
    )
    assert data["received_at"] == "2026-03-14T13:02:11"


def test_text_that_is_not_a_number_is_refused_with_a_message(template: Template) -> None:
    form = _form(template, MultiDict({"persons-0-row_marker": "1", "persons-0-age_years": "thirty"}))
    assert not form.validate()
    assert form.persons[0].form.age_years.errors == ["Not a valid integer value."]


def test_person_rows_keep_their_order_even_with_gaps_left_by_removed_rows(template: Template) -> None:
    data = MultiDict(
        [
            ("persons-0-row_marker", "1"),
            ("persons-0-age_years", "30"),
            ("persons-3-row_marker", "1"),
            ("persons-5-row_marker", "1"),
            ("persons-5-age_years", "9"),
        ]
    )
    assert answers_from_form(template, _form(template, data))["persons"] == [
        {"age_years": 30},
        {},
        {"age_years": 9},
    ]


def test_a_template_using_a_reserved_form_name_is_refused_with_the_name(template: Template) -> None:
    broken = copy.deepcopy(MINI)
    broken["fields"].append(_field("time_zone", "call", "text"))
    with pytest.raises(ValueError, match="time_zone"):
        build_encounter_form(load_template_data(broken), extended=frozenset())


def test_warning_rules_are_the_only_acknowledgeable_choices(template: Template) -> None:
    rules = copy.deepcopy(MINI) | {
        "rules": [
            {
                "id": "R01",
                "severity": "WARNING",
                "kind": "require",
                "message": "Check it",
                "then": {"field": "contact", "op": "is_set"},
            },
            {
                "id": "R02",
                "severity": "ERROR",
                "kind": "require",
                "message": "Fix it",
                "then": {"field": "call_source", "op": "is_set"},
            },
        ]
    }
    form = _form(load_template_data(rules), MultiDict([("acknowledged", "R01"), ("acknowledged", "R02")]))
    assert _codes(form.acknowledged) == ["R01"]
    assert not form.validate()
    assert form.errors["acknowledged"]
