"""Admin sync and template pages: health figures, send again, resume, reconcile, import and activate."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from flask import Flask
from flask.testing import FlaskClient

from app import db as app_db
from app import template_versions
from forms.loader import load_shipped_template
from sync.outbox import enqueue
from sync.status import set_values
from sync.storage import immediate
from sync.worker import run_once
from tests.app.test_admin import admin_client, post_form
from tests.conftest import AuthActions, add_personas, make_app, valid_answers
from tests.sync.sync_builders import AGENCY, TOKEN, ReceiverProcess, make_payload, settings_for

REFUSED = {"status": "rejected", "messages": [
    {"field": "incident_zip", "severity": "error", "message": "ZIP 99999 is not in the state"}]}  # fmt: skip


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReceiverProcess]:
    """A state receiver process on loopback, shared by this module."""
    process = ReceiverProcess(tmp_path_factory.mktemp("receiver") / "receiver.sqlite").start()
    yield process
    process.stop()


def app_with_endpoint(tmp_path: Path, endpoint: str) -> Flask:
    application = make_app(
        tmp_path / "synced", sync={"endpoint": endpoint, "token": TOKEN, "agency_id": AGENCY}
    )
    add_personas(application)
    return application


def queue(db: sqlite_utils.Database, state: str = "pending", **columns: Any) -> tuple[int, dict[str, Any]]:
    """Put one record version in the outbox in the given state; return its row id and payload."""
    payload = make_payload()
    with immediate(db):
        enqueue(db, payload["encounter_id"], payload["record_version"], payload)
        row_id = db.execute("SELECT max(id) FROM outbox").fetchone()[0]
        for name, value in {"state": state, **columns}.items():
            db.execute(f"UPDATE outbox SET {name} = ? WHERE id = ?", [value, row_id])
    return row_id, payload


def page(client: FlaskClient, path: str = "/admin/sync") -> str:
    return client.get(path).get_data(as_text=True)


def audit_actions(db: sqlite_utils.Database) -> list[str]:
    return [row[0] for row in db.execute("SELECT action FROM audit_log ORDER BY id")]


def test_sync_page_shows_queue_depth_ages_and_last_outcomes(app: Flask, db: sqlite_utils.Database) -> None:
    queue(db, created_at=time.time() - 2 * 3600)
    queue(db)
    queue(db, "delivered")
    queue(db, "quarantined", response=json.dumps(REFUSED), last_error="rejected")
    with immediate(db):
        set_values(db, {"last_success_at": time.time() - 60, "last_error": "GET /v1/limits: HTTP 503",
                        "last_error_at": time.time()})  # fmt: skip
    html = page(admin_client(app))
    assert 'data-queue="pending">2<' in html and 'data-queue="delivered">1<' in html
    assert 'data-queue="quarantined">1<' in html and 'data-queue="in_flight">0<' in html
    assert "2 hours" in html
    assert "GET /v1/limits: HTTP 503" in html
    assert "incident_zip" in html and "ZIP 99999 is not in the state" in html
    assert "Send again" in html


def test_send_again_moves_a_quarantined_record_back_to_pending(app: Flask, db: sqlite_utils.Database) -> None:
    row_id, payload = queue(db, "quarantined", response=json.dumps(REFUSED))
    client = admin_client(app)
    response = post_form(client, "/admin/sync", f"/admin/sync/requeue/{row_id}", {})
    assert response.status_code == 302
    assert db.execute("SELECT state FROM outbox WHERE id = ?", [row_id]).fetchone()[0] == "pending"
    html = page(client)
    assert "will be sent again at the next run" in html and "No record is quarantined." in html
    assert (
        db.execute("SELECT target FROM audit_log WHERE action = 'sync.requeue'").fetchone()[0]
        == payload["encounter_id"]
    )


def test_send_again_of_an_unknown_record_says_so(app: Flask) -> None:
    client = admin_client(app)
    post_form(client, "/admin/sync", "/admin/sync/requeue/4242", {})
    assert "There is no queued record number 4242." in page(client)


def test_resume_clears_a_pause_and_its_alert(app: Flask, db: sqlite_utils.Database) -> None:
    with immediate(db):
        set_values(db, {"paused": "the state refused our credentials (401)", "alert": "sync paused",
                        "alert_at": time.time()})  # fmt: skip
    client = admin_client(app)
    assert "the state refused our credentials (401)" in page(client)
    assert post_form(client, "/admin/sync", "/admin/sync/resume", {}).status_code == 302
    html = page(client)
    assert "Sync resumed." in html and "Resume sync" not in html
    assert "sync.resume" in audit_actions(db)


def test_an_action_without_csrf_token_changes_nothing(app: Flask, db: sqlite_utils.Database) -> None:
    row_id, _ = queue(db, "quarantined")
    response = admin_client(app).post(f"/admin/sync/requeue/{row_id}", data={})
    assert response.status_code == 400
    assert db.execute("SELECT state FROM outbox WHERE id = ?", [row_id]).fetchone()[0] == "quarantined"


def test_reconcile_without_an_endpoint_says_none_is_configured(app: Flask) -> None:
    client = admin_client(app)
    assert "No state endpoint is configured" in page(client)
    post_form(client, "/admin/sync", "/admin/sync/reconcile", {"encounter_id": "any-id"})
    assert "nothing to compare with" in page(client)


def test_reconcile_without_an_encounter_id_asks_for_one(app: Flask) -> None:
    client = admin_client(app)
    post_form(client, "/admin/sync", "/admin/sync/reconcile", {"encounter_id": ""})
    assert "Enter the encounter id to check" in page(client)


def test_reconcile_shows_the_versions_the_state_holds(tmp_path: Path, receiver: ReceiverProcess) -> None:
    synced = app_with_endpoint(tmp_path, receiver.url)
    db = app_db.connect(synced.config["DATABASE"])
    _, payload = queue(db)
    run_once(synced.config["DATABASE"], settings_for(receiver.url))
    client = admin_client(synced)
    post_form(client, "/admin/sync", "/admin/sync/reconcile", {"encounter_id": payload["encounter_id"]})
    html = page(client)
    held = html.split('id="state-holds"')[1].split("</table>")[0]
    assert f"<td>{payload['record_version']}</td>" in held
    sent = html.split('id="we-sent"')[1].split("</table>")[0]
    assert "<td>delivered</td>" in sent and sent.count("<td>yes</td>") == 2
    assert "sync.reconcile" in audit_actions(db)
    db.conn.close()


def test_reconcile_with_an_unreachable_state_shows_the_network_error(tmp_path: Path) -> None:
    synced = app_with_endpoint(tmp_path, "http://127.0.0.1:9")
    client = admin_client(synced)
    response = post_form(client, "/admin/sync", "/admin/sync/reconcile", {"encounter_id": "e-1"})
    assert response.status_code == 302
    assert "The state could not be asked about this encounter" in page(client)


def fetched(db: sqlite_utils.Database, source: dict[str, Any], version: str) -> None:
    with immediate(db):
        db.execute(
            "INSERT INTO sync_templates (etag, version, source, fetched_at) VALUES (?, ?, ?, ?)",
            [f'"{version}"', version, json.dumps(source), time.time()],
        )


def newer_template(version: str = "2099.1") -> dict[str, Any]:
    source = copy.deepcopy(load_shipped_template().to_json())
    source["template"]["version"] = version
    return source


def test_fetched_version_is_imported_then_activated_while_drafts_keep_theirs(
    app: Flask, db: sqlite_utils.Database, login_as: Any
) -> None:
    rita = login_as("responder")
    draft = rita.save(valid_answers())
    assert draft.status_code in (200, 201), draft.get_data(as_text=True)
    fetched(db, newer_template(), "2099.1")
    client = admin_client(app)
    assert "Import 2099.1" in page(client, "/admin/templates")
    post_form(client, "/admin/templates", "/admin/templates/import-fetched", {"version": "2099.1"})
    html = page(client, "/admin/templates")
    assert "Template state-standard 2099.1 imported." in html and "Activate 2099.1" in html
    assert template_versions.active(db).version == "2026.1"  # type: ignore[union-attr]
    post_form(client, "/admin/templates", "/admin/templates/activate",
              {"template_id": "state-standard", "version": "2099.1"})  # fmt: skip
    assert 'data-active="state-standard 2099.1"' in page(client, "/admin/templates")
    assert template_versions.active(db).version == "2099.1"  # type: ignore[union-attr]
    saved = rita.get(f"/api/v1/encounters/{draft.get_json()['id']}").get_json()
    assert saved["template_version"] == "2026.1"
    assert [a for a in audit_actions(db) if "template" in a] == ["template.import", "template.activate"]


def test_an_invalid_fetched_template_is_refused_with_the_loader_errors(
    app: Flask, db: sqlite_utils.Database
) -> None:
    broken = newer_template("2099.2")
    broken["fields"] = "not a table"
    fetched(db, broken, "2099.2")
    client = admin_client(app)
    post_form(client, "/admin/templates", "/admin/templates/import-fetched", {"version": "2099.2"})
    html = page(client, "/admin/templates")
    assert "template 2099.2 is not valid" in html and "fields must be an array of tables" in html
    assert [t["version"] for t in template_versions.list_all(db)] == ["2026.1"]


def test_activating_a_version_not_held_says_which_are(app: Flask) -> None:
    client = admin_client(app)
    post_form(client, "/admin/templates", "/admin/templates/activate",
              {"template_id": "state-standard", "version": "1999.9"})  # fmt: skip
    assert "no template state-standard 1999.9 is held (held: state-standard 2026.1)" in page(
        client, "/admin/templates"
    )


@pytest.mark.parametrize("persona", ["responder", "supervisor"])
def test_responders_and_supervisors_cannot_use_the_sync_and_template_pages(
    app: Flask, db: sqlite_utils.Database, persona: str
) -> None:
    row_id, _ = queue(db, "quarantined")
    client = app.test_client()
    AuthActions(client).login(persona)
    token = AuthActions(client).api_token()
    for path in ("/admin/sync", "/admin/templates"):
        assert client.get(path).status_code == 403
    for path in (f"/admin/sync/requeue/{row_id}", "/admin/sync/resume", "/admin/templates/activate"):
        assert client.post(path, data={"csrf_token": token}).status_code == 403
    assert db.execute("SELECT state FROM outbox WHERE id = ?", [row_id]).fetchone()[0] == "quarantined"
