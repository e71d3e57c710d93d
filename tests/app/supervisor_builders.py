"""Builders shared by the supervisor, dashboard and export tests (this module holds no tests).

`finalize(api, answers)` finalizes through the real API as the tablet does, acknowledging
whatever warnings the template raises; `call_answers(...)` builds a 911 call (or a phone
call) at a given local time with a given response time, client and outcome.
"""

from __future__ import annotations

import os
import re
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from flask import Flask
from flask.testing import FlaskClient

from app import db as app_db
from tests.conftest import PERSONAS, ApiClient, AuthActions, add_personas, make_app, valid_answers

MOUNTAIN = timezone(timedelta(hours=-7))  # November in America/Denver (the agency's zone)


def finalize(
    api: ApiClient, answers: dict[str, Any], encounter_id: str | None = None, base_revision: int | None = None
) -> str:
    """Finalize answers through the API, acknowledging its warnings; return the encounter id."""
    encounter_id = encounter_id or str(uuid.uuid4())
    response = api.save(answers, status="final", encounter_id=encounter_id, base_revision=base_revision)
    if response.status_code == 422:
        messages = response.get_json()["messages"]
        assert all(m["severity"] == "WARNING" for m in messages), messages
        response = api.save(
            answers,
            status="final",
            encounter_id=encounter_id,
            base_revision=base_revision,
            acknowledged=sorted({m["rule"] for m in messages}),
        )
    assert response.status_code in (200, 201), response.get_json()
    return encounter_id


def call_answers(
    day: int,
    *,
    response_min: int = 15,
    client: str = "CL-000001",
    police: bool = False,
    resolution: str = "resolved_with_referral",
    phone_only: bool = False,
    **overrides: Any,
) -> dict[str, Any]:
    """Return a 911 call on 2026-11-<day> at 10:00 local, on scene `response_min` after the call."""
    start = datetime(2026, 11, day, 10, 0, tzinfo=MOUNTAIN)

    def at(minutes: int) -> str:
        return (start + timedelta(minutes=minutes)).isoformat()

    answers = valid_answers(
        call_received_at=at(0),
        unit_notified_at=at(1),
        en_route_at=at(2),
        arrived_on_scene_at=at(response_min),
        left_scene_at=at(response_min + 30),
        cleared_at=at(response_min + 35),
        police_requested_by_team=police,
    )
    if police:
        answers["police_request_reason"] = ["weapon"]
    answers["persons"][0].update(person_local_id=client, resolution=resolution)
    if phone_only:
        answers.update(contact_mode="phone_only", call_source="988", cleared_at=at(20))
        for name in (
            "en_route_at",
            "arrived_on_scene_at",
            "left_scene_at",
            "police_on_scene_at_arrival",
            "injury_responder",
        ):
            answers.pop(name, None)
    answers.update(overrides)
    return answers


def page_token(client: FlaskClient, path: str) -> str:
    """Return the CSRF token of a page's forms."""
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, f"no form with a CSRF token on {path}"
    return found.group(1)


def post_form(api: ApiClient, path: str, data: dict[str, Any]) -> Any:
    """Post a supervisor form with a fresh CSRF token, as the browser does."""
    return api.client.post(path, data={"csrf_token": api.refresh_token(), **data})


def program_app(instance: Path, monkeypatch: pytest.MonkeyPatch, **sections: Any) -> Flask:
    """Return a testing app with these settings sections, every persona in place, no CREWLOG_* leaking in."""
    for name in [n for n in os.environ if n.startswith("CREWLOG_")]:
        monkeypatch.delenv(name)
    application = make_app(instance, **sections)
    add_personas(application)
    return application


def log_in(application: Flask, persona: str) -> ApiClient:
    """Return an API client logged in as a persona of this app."""
    client = application.test_client()
    assert AuthActions(client).login(persona).status_code == 302
    return ApiClient(client, PERSONAS[persona])


def connect(application: Flask) -> sqlite_utils.Database:
    """Return a connection to the app's database file."""
    return app_db.connect(application.config["DATABASE"])
