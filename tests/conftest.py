"""Shared fixtures: an app on a temporary instance with a real SQLite file, and test personas.

Personas: `responder` (unit CR-1, on shift), `responder2` (unit CR-2, on shift),
`supervisor`, `admin`, and anonymous (a plain client). CSRF stays ON: `AuthActions`
logs in through the real form and `ApiClient` fetches /api/v1/csrf and sends X-CSRFToken.
"""

from __future__ import annotations

import os
import re
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils  # noqa: E402
from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402

from app import create_app, shifts, units, users  # noqa: E402
from app import db as app_db  # noqa: E402

PASSWORD = "correct-horse-battery"


@dataclass(frozen=True)
class Persona:
    """A test user: who they are and where they work."""

    username: str
    role: str
    team_role: str | None = None
    unit: str | None = None
    password: str = PASSWORD


PERSONAS = {
    "responder": Persona("rita", "responder", "behavioral_health_clinician", "CR-1"),
    "responder2": Persona("ray", "responder", "peer_support", "CR-2"),
    "supervisor": Persona("sam", "supervisor", "supervisor"),
    "admin": Persona("ada", "admin", "office_staff"),
}


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> None:
    users.use_fast_hashing()


def free_port() -> int:
    """Return a loopback port that is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_app(instance: Path, **sections: Any) -> Flask:
    """Return a testing app on its own instance folder (real SQLite file, generated keys)."""
    overrides: dict[str, Any] = {
        "server": {"instance_path": str(instance)},
        "security": {"secure_cookies": False},
    }
    for name, values in sections.items():
        overrides[name] = {**overrides.get(name, {}), **values}
    return create_app({"TESTING": True, **overrides})


def add_personas(app: Flask) -> None:
    """Create the personas, their units and the responders' open shifts."""
    db = app_db.connect(app.config["DATABASE"])
    for call_sign in ("CR-1", "CR-2"):
        units.create(db, call_sign, program_model="community_responder", home_county="08031")
    for persona in PERSONAS.values():
        user = users.create(
            db,
            persona.username,
            persona.password,
            persona.role,
            display_name=persona.username.title(),
            team_role=persona.team_role,
        )
        if persona.unit:
            unit = units.by_call_sign(db, persona.unit)
            assert unit is not None
            shifts.start(
                db,
                unit.id,
                user.id,
                [{"user_id": user.id, "name": user.name, "team_role": persona.team_role}],
            )
    db.conn.close()


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """Return the app on a fresh instance with every persona in place."""
    for name in [n for n in os.environ if n.startswith("CREWLOG_")]:
        monkeypatch.delenv(name)
    application = make_app(tmp_path / "instance")
    add_personas(application)
    return application


@pytest.fixture
def db(app: Flask) -> Iterator[sqlite_utils.Database]:
    """Return a connection to the app's database file."""
    conn = app_db.connect(app.config["DATABASE"])
    yield conn
    conn.conn.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Return an anonymous client."""
    return app.test_client()


def csrf_from(html: str) -> str:
    """Return the CSRF token embedded in a page."""
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert found, "no csrf_token on the page"
    return found.group(1)


class AuthActions:
    """Log in and out through the real pages (CSRF on)."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, persona: Persona | str, password: str | None = None) -> Any:
        """Post the login form; return the response."""
        who = PERSONAS[persona] if isinstance(persona, str) else persona
        token = csrf_from(self.client.get("/login").get_data(as_text=True))
        return self.client.post(
            "/login",
            data={"username": who.username, "password": password or who.password, "csrf_token": token},
        )

    def logout(self) -> Any:
        """Post the logout form; return the response."""
        return self.client.post("/logout", data={"csrf_token": self.api_token()})

    def api_token(self) -> str:
        """Return a CSRF token from the API."""
        return str(self.client.get("/api/v1/csrf").get_json()["csrf_token"])


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    """Return login/logout actions on the anonymous client."""
    return AuthActions(client)


class ApiClient:
    """A logged-in persona talking JSON to /api/v1 with a CSRF token, as the tablet does."""

    def __init__(self, client: FlaskClient, persona: Persona) -> None:
        self.client, self.persona = client, persona
        self.token = ""

    def refresh_token(self) -> str:
        """Fetch a fresh CSRF token."""
        self.token = str(self.client.get("/api/v1/csrf").get_json()["csrf_token"])
        return self.token

    def post(self, path: str, body: Any, **kwargs: Any) -> Any:
        """POST JSON with the CSRF header."""
        headers = {"X-CSRFToken": self.token or self.refresh_token(), **kwargs.pop("headers", {})}
        return self.client.post(path, json=body, headers=headers, **kwargs)

    def get(self, path: str) -> Any:
        """GET a path."""
        return self.client.get(path)

    def save(
        self,
        answers: dict[str, Any],
        *,
        status: str = "draft",
        encounter_id: str | None = None,
        base_revision: int | None = None,
        acknowledged: list[str] | None = None,
    ) -> Any:
        """POST an encounter save; return the response."""
        return self.post(
            "/api/v1/encounters",
            encounter_body(
                answers,
                status=status,
                encounter_id=encounter_id,
                base_revision=base_revision,
                acknowledged=acknowledged,
            ),
        )


def valid_answers(hours_ago: float = 2, **overrides: Any) -> dict[str, Any]:
    """Return answers that finalize cleanly: a 911 welfare check started hours_ago, one person."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours_ago)

    def at(minutes: int) -> str:
        return (start + timedelta(minutes=minutes)).astimezone(timezone(timedelta(hours=-6))).isoformat()

    person = {
        "person_local_id": "CL-004417",
        "age_years": {"value": 37, "pn": "approximate"},
        "sex": "male",
        "race_ethnicity": {"pn": "refused"},
        "housing_status": "unsheltered",
        "needs": ["mental_health_crisis", "homelessness_basic_needs"],
        "primary_need": "mental_health_crisis",
        "services": ["assessment_screening", "information_referral"],
        "resolution": "resolved_with_referral",
        "transport_disposition": "no_transport",
        "arrest_made": False,
        "involuntary_hold": False,
        "injury_person_served": "none",
        "referrals": ["housing_shelter"],
        "follow_up_planned": False,
    }
    answers: dict[str, Any] = {
        "team_roles": ["behavioral_health_clinician", "emt"],
        "call_source": "911",
        "psap_incident_id": f"INC-{uuid.uuid4().hex[:10]}",
        "dispatch_reason": "well_person_check",
        "contact_mode": "in_person",
        "call_received_at": at(0),
        "unit_notified_at": at(3),
        "en_route_at": at(4),
        "arrived_on_scene_at": at(15),
        "left_scene_at": at(55),
        "cleared_at": at(58),
        "incident_county": "08031",
        "incident_zip": "80205",
        "location_type": "sidewalk",
        "unit_disposition": "contact_made",
        "police_on_scene_at_arrival": False,
        "police_co_dispatched": False,
        "police_requested_by_team": False,
        "injury_responder": "none",
        "narrative": "Found J. Doe near the bus shelter on Champa St.",
        "attested": True,
        "persons": [person],
    }
    answers.update(overrides)
    return answers


def encounter_body(
    answers: dict[str, Any],
    *,
    status: str = "draft",
    encounter_id: str | None = None,
    base_revision: int | None = None,
    acknowledged: list[str] | None = None,
) -> dict[str, Any]:
    """Return a save request body for the shipped template."""
    return {
        "id": encounter_id or str(uuid.uuid4()),
        "status": status,
        "template_id": "state-standard",
        "template_version": "2026.1",
        "base_revision": base_revision,
        "answers": answers,
        "acknowledged_warnings": acknowledged or [],
    }


@pytest.fixture
def login_as(app: Flask) -> Any:
    """Return a function giving a logged-in ApiClient for a persona name."""

    def make(name: str) -> ApiClient:
        client = app.test_client()
        response = AuthActions(client).login(name)
        assert response.status_code == 302, response.get_data(as_text=True)
        return ApiClient(client, PERSONAS[name])

    return make
