"""Login, lockout, session timeouts, logout and cookie flags, through the real pages."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils
from flask import Flask
from flask.testing import FlaskClient

from app import audit
from tests.conftest import PERSONAS, AuthActions, csrf_from, make_app


def actions(db: sqlite_utils.Database) -> list[str]:
    return [row["action"] for row in reversed(audit.recent(db, 200))]


def test_responder_logs_in_and_lands_on_the_responder_home(auth: AuthActions, client: FlaskClient) -> None:
    response = auth.login("responder")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_supervisor_and_admin_land_on_their_own_pages(app: Flask) -> None:
    for name, home in (("supervisor", "/supervisor/"), ("admin", "/admin/")):
        response = AuthActions(app.test_client()).login(name)
        assert response.headers["Location"] == home


def test_login_returns_to_the_page_asked_for_but_never_off_site(app: Flask) -> None:
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    form = {"username": "rita", "password": PERSONAS["responder"].password, "csrf_token": token}
    assert client.post("/login?next=/api/v1/template", data=form).headers["Location"] == "/api/v1/template"
    other = app.test_client()
    form["csrf_token"] = csrf_from(other.get("/login").get_data(as_text=True))
    assert other.post("/login?next=//evil.example/x", data=form).headers["Location"] == "/"


def test_wrong_password_and_unknown_user_get_the_same_message(auth: AuthActions) -> None:
    wrong = auth.login("responder", password="not-the-password")
    unknown = auth.login(PERSONAS["responder"].__class__("nobody", "responder"))
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Wrong username or password" in response.get_data(as_text=True)


def test_five_failures_lock_the_account_and_say_when_to_retry(
    auth: AuthActions, db: sqlite_utils.Database
) -> None:
    for _ in range(5):
        auth.login("responder", password="not-the-password")
    locked = auth.login("responder")  # the right password no longer helps
    assert locked.status_code == 429
    assert "Too many failed attempts. You can try again after" in locked.get_data(as_text=True)
    assert {"login.failure", "login.lockout", "login.refused_locked"} <= set(actions(db))


def test_unknown_usernames_lock_out_exactly_like_real_ones(auth: AuthActions) -> None:
    ghost = PERSONAS["responder"].__class__("ghost", "responder")
    responses = [auth.login(ghost) for _ in range(6)]
    assert [r.status_code for r in responses] == [401, 401, 401, 401, 429, 429]
    assert "Too many failed attempts" in responses[-1].get_data(as_text=True)


def test_lockout_ends_after_lockout_minutes(auth: AuthActions, db: sqlite_utils.Database) -> None:
    for _ in range(5):
        auth.login("responder", password="not-the-password")
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    db.execute("UPDATE users SET locked_until = ? WHERE username = 'rita'", [past])
    assert auth.login("responder").status_code == 302


def test_disabled_account_cannot_log_in(auth: AuthActions, db: sqlite_utils.Database) -> None:
    db.execute("UPDATE users SET active = 0 WHERE username = 'rita'")
    assert auth.login("responder").status_code == 401


def test_idle_session_ends_pages_redirect_to_login_with_a_message(
    auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("responder")
    with client.session_transaction() as session:
        session["seen_at"] = time.time() - 31 * 60
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/")
    assert "logged out after a period of inactivity" in client.get("/login").get_data(as_text=True)


def test_idle_session_ends_api_answers_401_json_not_a_redirect(
    auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("responder")
    with client.session_transaction() as session:
        session["seen_at"] = time.time() - 31 * 60
    response = client.get("/api/v1/encounters?mine=1")
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert response.get_json()["details"] == {"reason": "session_expired"}


def test_activity_keeps_the_session_alive(auth: AuthActions, client: FlaskClient) -> None:
    auth.login("responder")
    with client.session_transaction() as session:
        session["seen_at"] = time.time() - 29 * 60
    assert client.get("/api/v1/encounters?mine=1").status_code == 200
    assert client.get("/api/v1/encounters?mine=1").status_code == 200


def test_the_same_session_cookie_sent_again_after_the_idle_limit_is_refused(
    auth: AuthActions, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth.login("responder")
    assert client.get("/api/v1/encounters?mine=1").status_code == 200  # the server has seen this cookie
    later = time.time() + 31 * 60
    monkeypatch.setattr(time, "time", lambda: later)
    response = client.get("/api/v1/encounters?mine=1")
    assert response.status_code == 401 and response.get_json()["details"] == {"reason": "session_expired"}


def test_the_session_cookie_is_renewed_only_when_activity_moves_the_idle_clock(
    auth: AuthActions, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth.login("responder")
    first = client.get("/api/v1/encounters?mine=1")
    assert "Set-Cookie" not in first.headers  # nothing changed: the tablet keeps its cookie
    later = time.time() + 20 * 60
    monkeypatch.setattr(time, "time", lambda: later)
    renewed = client.get("/api/v1/encounters?mine=1")
    assert renewed.status_code == 200 and "crewlog_session=" in renewed.headers["Set-Cookie"]
    even_later = later + 20 * 60  # 40 minutes after login, 20 after the last activity
    monkeypatch.setattr(time, "time", lambda: even_later)
    assert client.get("/api/v1/encounters?mine=1").status_code == 200


def test_absolute_timeout_ends_even_an_active_session(auth: AuthActions, client: FlaskClient) -> None:
    auth.login("responder")
    with client.session_transaction() as session:
        session["login_at"] = time.time() - 12 * 3600 - 1
    response = client.get("/")
    assert response.status_code == 302
    assert "reached its time limit" in client.get("/login").get_data(as_text=True)


def test_logout_is_a_post_and_ends_the_session(
    auth: AuthActions, client: FlaskClient, db: sqlite_utils.Database
) -> None:
    auth.login("responder")
    assert client.get("/logout").status_code == 405
    assert auth.logout().headers["Location"] == "/login"
    assert client.get("/").status_code == 302
    assert actions(db)[-2:] == ["login.success", "logout"]


def test_login_without_csrf_token_is_refused(client: FlaskClient) -> None:
    response = client.post("/login", data={"username": "rita", "password": PERSONAS["responder"].password})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)


def test_session_cookie_is_httponly_samesite_lax_and_secure_when_configured(tmp_path: Path) -> None:
    from tests.conftest import add_personas

    app = make_app(tmp_path / "inst", security={"secure_cookies": True})
    add_personas(app)
    client = app.test_client()
    AuthActions(client).login("responder")
    cookie = client.get_cookie("crewlog_session")
    assert cookie is not None
    assert cookie.http_only and cookie.same_site == "Lax" and cookie.secure


def test_login_page_sends_the_strict_content_security_policy(client: FlaskClient) -> None:
    headers = client.get("/login").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
