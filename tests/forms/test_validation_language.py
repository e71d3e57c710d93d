"""Validation messages in the responder's language: the template's translations plus forms.phrases."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import pytest

from forms import Template, load_shipped_template, validate
from forms.phrases import SLOT, SPANISH, translated
from forms.values import value_problem
from tests.forms.worked_example import ANSWERS

SHIPPED = load_shipped_template()
LATER = datetime.fromisoformat("2026-03-17T09:00:00-06:00")


def worked() -> dict[str, Any]:
    return copy.deepcopy(ANSWERS)


def messages(answers: dict[str, Any], lang: str, *, finalize: bool = True) -> dict[str, str]:
    found = validate(SHIPPED, answers, finalize=finalize, now=LATER, lang=lang)
    return {f"{m.rule} {m.field}": m.message for m in found}


def test_a_missing_answer_is_asked_for_in_spanish_with_the_row_and_label_in_spanish() -> None:
    answers = worked()
    del answers["persons"][0]["resolution"]
    said = messages(answers, "es")
    assert said["R03 persons[0].resolution"] == (
        "Persona 1: ¿Cómo terminó para esta persona?: responda esto para finalizar."
    )


def test_a_value_out_of_range_is_explained_in_spanish() -> None:
    answers = worked()
    answers["persons"][0]["age_years"] = 130
    assert messages(answers, "es", finalize=False) == {
        "R03 persons[0].age_years": "Persona 1: Edad: escriba un número entero de 0 a 120."
    }


def test_rule_messages_use_the_templates_spanish_wording() -> None:
    answers = worked()
    answers["police_requested_by_team"] = True
    answers["en_route_at"], answers["arrived_on_scene_at"] = (
        answers["arrived_on_scene_at"],
        answers["en_route_at"],
    )
    said = messages(answers, "es")
    assert said["R07 police_request_reason"] == (
        "¿Por qué llamamos a la policía?: Indique por qué se llamó a la policía."
    )
    assert said["R01 arrived_on_scene_at"] == (
        "Las horas no están en orden: En el lugar (13:06) es antes de En camino (13:17). Revise las horas."
    )


def test_not_values_are_named_in_spanish() -> None:
    answers = worked()
    answers["persons"][0]["resolution"] = {"nv": "not_recorded"}
    said = messages(answers, "es")
    assert said["R03 persons[0].resolution"] == (
        "Persona 1: ¿Cómo terminó para esta persona?: hace falta una respuesta real; aquí no se permite"
        " 'No registrado'."
    )


def test_english_is_the_default_and_the_fallback_for_other_languages() -> None:
    answers = worked()
    del answers["persons"][0]["resolution"]
    answers["incident_zip"] = "8020"
    english = messages(answers, "en")
    assert (
        english["R03 persons[0].resolution"]
        == "Person 1: How did it end for this person?: answer this to finalize."
    )
    assert messages(answers, "fr") == english
    plain = validate(SHIPPED, answers, finalize=True, now=LATER)
    assert {f"{m.rule} {m.field}": m.message for m in plain} == english


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("incident_zip", 80205),
        ("incident_zip", "8020"),
        ("narrative", "x" * 9000),
        ("police_requested_by_team", "yes"),
        ("call_received_at", "13:02"),
        ("follow_up_due", "16/03/2026"),
        ("call_source", "carrier_pigeon"),
        ("team_roles", "emt"),
        ("team_roles", ["emt", "ninja"]),
        ("team_roles", ["emt", "emt"]),
        ("dispatch_priority", 12),
        ("gps_location", "north"),
        ("psap_incident_id", {"nv": "sideways"}),
        ("psap_incident_id", {"pn": "sideways"}),
        ("psap_incident_id", {"what": 1}),
    ],
)
def test_every_kind_of_wrong_value_has_a_spanish_explanation(field: str, value: Any) -> None:
    problem = value_problem(SHIPPED.fields[field], value, SHIPPED)
    assert problem is not None
    spanish = translated(problem, "es")
    assert spanish != problem, f"no Spanish for: {problem}"


def test_each_spanish_phrase_keeps_the_slots_of_its_english_phrase() -> None:
    for english, spanish in SPANISH.items():
        assert sorted(SLOT.findall(english)) == sorted(SLOT.findall(spanish)), english


def test_a_template_without_translations_keeps_its_own_words_in_english(
    small: Template, answers: dict[str, Any], now: datetime
) -> None:
    answers["persons"][0]["age_years"] = 200
    found = validate(small, answers, finalize=False, now=now, lang="es")
    assert [m.message for m in found] == ["Person 1: Age: escriba un número entero de 0 a 120."]
