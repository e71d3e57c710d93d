"""A crew working in Spanish reads the validation messages in Spanish: API 422 body and the form page."""

from __future__ import annotations

import html
import uuid
from typing import Any

from flask import Flask

from tests.app.test_responder import Crew, PageForm, _typed
from tests.conftest import valid_answers

MISSING_RESOLUTION_ES = "Persona 1: ¿Cómo terminó para esta persona?: responda esto para finalizar."


def without_resolution() -> dict[str, Any]:
    answers = valid_answers()
    del answers["persons"][0]["resolution"]
    return answers


def refused_messages(api: Any, language: str) -> list[str]:
    api.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    response = api.save(without_resolution(), status="final", encounter_id=str(uuid.uuid4()))
    assert response.status_code == 422
    return [m["message"] for m in response.get_json()["messages"]]


def test_api_refusal_speaks_the_language_the_tablet_asks_for(login_as: Any) -> None:
    rita = login_as("responder")
    assert MISSING_RESOLUTION_ES in refused_messages(rita, "es-MX,es;q=0.9,en;q=0.5")


def test_api_refusal_stays_in_english_for_english_and_unknown_languages(login_as: Any) -> None:
    rita = login_as("responder")
    expected = "Person 1: How did it end for this person?: answer this to finalize."
    assert expected in refused_messages(rita, "en-US")
    assert expected in refused_messages(rita, "fr-FR")


def test_the_form_page_lists_the_problems_in_spanish(app: Flask) -> None:
    crew = Crew(app)
    crew.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    answers = valid_answers()
    del answers["attested"]
    form: PageForm = crew.form("/encounters/new").fill(_typed(app, answers))
    refused = crew.submit("/encounters/new", form, "finalize")
    assert refused.status_code == 422
    page = html.unescape(refused.get_data(as_text=True))
    assert "Confirmo que este registro es correcto: confirme esto (debe ser sí) para finalizar." in page
