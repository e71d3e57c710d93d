"""prior_contacts_90d: at finalize, each person's earlier finalized encounters in the look-back window."""

from __future__ import annotations

import dataclasses
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from flask import Flask

from app import history, template_versions
from tests.app.supervisor_builders import connect, finalize, log_in, post_form, program_app
from tests.conftest import valid_answers

DAY = 24.0


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """Return the app of a program that collects prior_contacts_90d."""
    return program_app(
        tmp_path / "instance", monkeypatch, template={"extended_fields": ["prior_contacts_90d"]}
    )


def contact(days_ago: float, client: str = "CL-000007", **person: Any) -> dict[str, Any]:
    """Return a finalizable call `days_ago` days back with one person, the given client."""
    answers = valid_answers(hours_ago=days_ago * DAY)
    answers["persons"][0].update(person_local_id=client, **person)
    return answers


def sent_persons(db: sqlite_utils.Database, encounter_id: str) -> list[dict[str, Any]]:
    row = db.execute("SELECT payload FROM outbox WHERE encounter_id = ?", [encounter_id]).fetchone()
    persons: list[dict[str, Any]] = json.loads(row[0])["persons"]
    return persons


def test_count_takes_finalized_encounters_of_the_last_90_days_only(
    login_as: Any, db: sqlite_utils.Database
) -> None:
    rita, sam = login_as("responder"), login_as("supervisor")
    finalize(rita, contact(100))  # too long ago
    finalize(rita, contact(80))
    finalize(rita, contact(10))
    finalize(rita, contact(12, client="CL-000099"))  # somebody else
    rita.save(contact(5), encounter_id=str(uuid.uuid4()))  # a draft is not an encounter yet
    voided = finalize(rita, contact(20))
    assert post_form(sam, f"/supervisor/encounters/{voided}/void", {"reason": "Duplicate"}).status_code == 302
    today = finalize(rita, contact(0.1))
    assert sent_persons(db, today)[0]["prior_contacts_90d"] == 2


def test_each_person_row_gets_its_own_count(login_as: Any, db: sqlite_utils.Database) -> None:
    rita = login_as("responder")
    finalize(rita, contact(30, client="CL-000001"))
    finalize(rita, contact(40, client="CL-000001"))
    answers = contact(0.1, client="CL-000001")
    answers["persons"].append({**answers["persons"][0], "person_local_id": "CL-000002"})
    persons = sent_persons(db, finalize(rita, answers))
    assert [p["prior_contacts_90d"] for p in persons] == [2, 0]


def test_a_call_entered_late_counts_only_the_encounters_before_it(
    login_as: Any, db: sqlite_utils.Database
) -> None:
    rita = login_as("responder")
    finalize(rita, contact(10))
    finalize(rita, contact(50))
    late_entry = finalize(rita, contact(30))  # called in 30 days ago, entered after the others
    assert sent_persons(db, late_entry)[0]["prior_contacts_90d"] == 1


def test_a_person_without_a_client_id_gets_no_count(login_as: Any, db: sqlite_utils.Database) -> None:
    rita = login_as("responder")
    finalize(rita, contact(10))
    answers = contact(0.1)
    answers["persons"][0]["person_local_id"] = {"pn": "refused"}
    assert "prior_contacts_90d" not in sent_persons(db, finalize(rita, answers))[0]


def test_the_look_back_comes_from_the_template_parameter(
    app: Flask, login_as: Any, db: sqlite_utils.Database
) -> None:
    rita = login_as("responder")
    finalize(rita, contact(10))
    finalize(rita, contact(50))
    shipped = template_versions.active(db)
    assert shipped is not None and shipped.parameters["prior_contacts_lookback_days"] == 90
    ctx = app.extensions["crewlog.records"]
    answers = contact(0.1)
    for days, expected in ((30, 1), (60, 2)):
        template = dataclasses.replace(
            shipped, parameters={**shipped.parameters, "prior_contacts_lookback_days": days}
        )
        marked = history.mark_prior_contacts(db, template, answers, str(uuid.uuid4()), ctx)
        assert marked["persons"][0]["prior_contacts_90d"] == expected
    without = dataclasses.replace(
        shipped,
        parameters={k: v for k, v in shipped.parameters.items() if k != "prior_contacts_lookback_days"},
    )
    assert history.mark_prior_contacts(db, without, answers, str(uuid.uuid4()), ctx) == answers


def test_programs_not_collecting_the_field_store_no_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    application = program_app(tmp_path / "instance", monkeypatch)
    rita = log_in(application, "responder")
    finalize(rita, contact(10))
    persons = sent_persons(connect(application), finalize(rita, contact(0.1)))
    assert "prior_contacts_90d" not in persons[0] and persons[0]["repeat_client"] is True
