"""Approval fills the template's review fields: who reviewed (sent to the state) and when (kept here)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from flask import Flask

from app import encounter_store
from app.crypto import Keys
from tests.app.supervisor_builders import connect, finalize, log_in, post_form, program_app
from tests.conftest import valid_answers

REVIEW_FIELDS = ["reviewed_by_role", "reviewed_at"]


def review_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **sync: Any) -> Flask:
    return program_app(
        tmp_path / "instance", monkeypatch, template={"extended_fields": REVIEW_FIELDS}, sync=sync
    )


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """Return the app of a program that collects the review fields and syncs only approved records."""
    return review_app(tmp_path, monkeypatch, require_approval=True)


def outbox(db: sqlite_utils.Database, encounter_id: str) -> dict[int, dict[str, Any]]:
    rows = db.execute("SELECT record_version, payload FROM outbox WHERE encounter_id = ?", [encounter_id])
    return {version: json.loads(payload) for version, payload in rows}


def stored_answers(app: Flask, db: sqlite_utils.Database, encounter_id: str) -> dict[str, Any]:
    keys = Keys.load(Path(app.config["SETTINGS"]["server"]["instance_path"]))
    record = encounter_store.get(db, encounter_id, keys=keys)
    assert record is not None
    return record.answers


def approve(sam: Any, encounter_id: str) -> None:
    response = post_form(sam, f"/supervisor/encounters/{encounter_id}/approve", {"note": ""})
    assert response.status_code == 302


def test_approval_stores_the_reviewers_role_and_time_on_the_record(
    app: Flask, login_as: Any, db: sqlite_utils.Database
) -> None:
    rita, sam = login_as("responder"), login_as("supervisor")
    encounter_id = finalize(rita, valid_answers())
    approve(sam, encounter_id)
    answers = stored_answers(app, db, encounter_id)
    assert answers["reviewed_by_role"] == "supervisor"
    reviewed = datetime.fromisoformat(answers["reviewed_at"])
    assert reviewed.utcoffset() is not None and abs(datetime.now(UTC) - reviewed) < timedelta(minutes=5)
    revisions = db.execute(
        "SELECT revision, status, changed_fields FROM encounter_revisions WHERE encounter_id = ?"
        " ORDER BY revision",
        [encounter_id],
    ).fetchall()
    assert [(r[0], r[1]) for r in revisions] == [(1, "final"), (2, "approved")]
    assert json.loads(revisions[-1][2]) == ["reviewed_at", "reviewed_by_role"]


def test_the_state_receives_who_reviewed_but_never_when(
    app: Flask, login_as: Any, db: sqlite_utils.Database
) -> None:
    rita, sam = login_as("responder"), login_as("supervisor")
    encounter_id = finalize(rita, valid_answers())
    assert outbox(db, encounter_id) == {}  # held back until approval
    approve(sam, encounter_id)
    payload = outbox(db, encounter_id)[1]
    assert payload["reviewed_by_role"] == "supervisor"
    assert "reviewed_at" not in payload and "reviewed_at" not in json.dumps(payload)


def test_review_page_shows_the_approval_revision_with_its_changes(
    app: Flask, login_as: Any, db: sqlite_utils.Database
) -> None:
    rita, sam = login_as("responder"), login_as("supervisor")
    encounter_id = finalize(rita, valid_answers())
    approve(sam, encounter_id)
    page = sam.get(f"/supervisor/encounters/{encounter_id}").get_data(as_text=True)
    history = page.split('id="history-title"')[1]
    changed = history.split('<tr data-changed="reviewed_by_role">')[1].split("</tr>")[0]
    assert "Reviewed by" in changed and "Supervisor" in changed
    assert '<tr data-changed="reviewed_at">' in history


def test_resending_the_finalized_body_after_approval_is_still_a_quiet_replay(
    app: Flask, login_as: Any, db: sqlite_utils.Database
) -> None:
    rita, sam = login_as("responder"), login_as("supervisor")
    answers = valid_answers()
    encounter_id = finalize(rita, answers)
    approve(sam, encounter_id)
    again = rita.save(answers, status="final", encounter_id=encounter_id)
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["status"] == "approved"
    count = db.execute("SELECT count(*) FROM encounter_revisions WHERE encounter_id = ?", [encounter_id])
    assert count.fetchone()[0] == 2


def test_approval_refreshes_a_queued_version_the_state_has_not_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    application = review_app(tmp_path, monkeypatch, require_approval=False)
    rita, sam = log_in(application, "responder"), log_in(application, "supervisor")
    encounter_id = finalize(rita, valid_answers())
    db = connect(application)
    assert "reviewed_by_role" not in outbox(db, encounter_id)[1]
    approve(sam, encounter_id)
    assert outbox(db, encounter_id)[1]["reviewed_by_role"] == "supervisor"


def test_approval_never_rewrites_a_version_already_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    application = review_app(tmp_path, monkeypatch, require_approval=False)
    rita, sam = log_in(application, "responder"), log_in(application, "supervisor")
    encounter_id = finalize(rita, valid_answers())
    db = connect(application)
    db.execute("UPDATE outbox SET state = 'delivered', attempts = 1 WHERE encounter_id = ?", [encounter_id])
    sent = outbox(db, encounter_id)[1]
    approve(sam, encounter_id)
    assert outbox(db, encounter_id) == {1: sent}
    assert stored_answers(application, db, encounter_id)["reviewed_by_role"] == "supervisor"


def test_without_the_review_fields_switched_on_approval_changes_no_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    application = program_app(tmp_path / "instance", monkeypatch, sync={"require_approval": True})
    rita, sam = log_in(application, "responder"), log_in(application, "supervisor")
    encounter_id = finalize(rita, valid_answers())
    approve(sam, encounter_id)
    db = connect(application)
    answers = stored_answers(application, db, encounter_id)
    assert "reviewed_by_role" not in answers and "reviewed_at" not in answers
    assert "reviewed_by_role" not in outbox(db, encounter_id)[1]
    status = db.execute("SELECT status, revision FROM encounters WHERE id = ?", [encounter_id]).fetchone()
    assert tuple(status) == ("approved", 1)


def test_the_dashboard_and_state_export_keep_the_approved_payload(
    app: Flask, login_as: Any, db: sqlite_utils.Database
) -> None:
    from app import dashboard

    rita, sam = login_as("responder"), login_as("supervisor")
    encounter_id = finalize(rita, valid_answers())
    approve(sam, encounter_id)
    sam.get("/supervisor/")  # re-shapes what approval marked
    dashboard.refresh_payloads(db, app.extensions["crewlog.records"])
    kept = db.execute("SELECT payload FROM metric_records WHERE encounter_id = ?", [encounter_id]).fetchone()
    assert json.loads(kept[0])["reviewed_by_role"] == "supervisor"
    assert "reviewed_at" not in json.loads(kept[0])
