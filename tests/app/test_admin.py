"""Admin pages: list, add and disable users; list and add units (CSRF on, real forms)."""

from __future__ import annotations

from typing import Any

import sqlite_utils
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import AuthActions, csrf_from


def admin_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert AuthActions(client).login("admin").status_code == 302
    return client


def post_form(client: FlaskClient, page: str, action: str, data: dict[str, Any]) -> Any:
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(action, data={**data, "csrf_token": token})


def test_admin_sees_every_user_with_role_and_status(app: Flask) -> None:
    page = admin_client(app).get("/admin/users").get_data(as_text=True)
    for username in ("rita", "ray", "sam", "ada"):
        assert f"<td>{username}</td>" in page


def test_admin_adds_a_user_who_can_then_log_in(app: Flask, db: sqlite_utils.Database) -> None:
    client = admin_client(app)
    response = post_form(client, "/admin/users", "/admin/users", {
        "username": "nina", "display_name": "Nina N", "role": "responder", "team_role": "peer_support",
        "password": "nina-long-password"})  # fmt: skip
    assert response.status_code == 302
    assert "User nina added." in client.get("/admin/users").get_data(as_text=True)
    newcomer = app.test_client()
    token = csrf_from(newcomer.get("/login").get_data(as_text=True))
    login = newcomer.post(
        "/login", data={"username": "nina", "password": "nina-long-password", "csrf_token": token}
    )
    assert login.status_code == 302
    assert (
        db.execute("SELECT action FROM audit_log WHERE target = 'nina' ORDER BY id").fetchone()[0]
        == "user.add"
    )


def test_adding_a_duplicate_user_shows_why(app: Flask) -> None:
    client = admin_client(app)
    response = post_form(client, "/admin/users", "/admin/users", {
        "username": "rita", "role": "responder", "password": "another-long-password"})  # fmt: skip
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)


def test_admin_disables_a_user_who_then_cannot_log_in(app: Flask) -> None:
    client = admin_client(app)
    assert post_form(client, "/admin/users", "/admin/users/rita/active", {"active": "0"}).status_code == 302
    assert AuthActions(app.test_client()).login("responder").status_code == 401


def test_disabling_a_user_ends_their_open_session(app: Flask) -> None:
    responder = app.test_client()
    AuthActions(responder).login("responder")
    post_form(admin_client(app), "/admin/users", "/admin/users/rita/active", {"active": "0"})
    assert responder.get("/api/v1/encounters?mine=1").status_code == 401


def test_admin_adds_a_unit_with_a_program_model_from_the_template(app: Flask) -> None:
    client = admin_client(app)
    page = client.get("/admin/units").get_data(as_text=True)
    assert 'value="mobile_crisis_team"' in page  # choices come from the template's code list
    response = post_form(client, "/admin/units", "/admin/units", {
        "call_sign": "MCT-4", "program_model": "mobile_crisis_team", "home_county": "08001"})  # fmt: skip
    assert response.status_code == 302
    assert "<td>MCT-4</td>" in client.get("/admin/units").get_data(as_text=True)


def test_supervisor_gets_a_403_page_on_admin_pages(app: Flask) -> None:
    client = app.test_client()
    AuthActions(client).login("supervisor")
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "Your role does not allow this page" in response.get_data(as_text=True)
