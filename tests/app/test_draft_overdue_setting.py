"""The shift log flags drafts open N hours after the call cleared; N is `[review] draft_overdue_hours`."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from flask import Flask

from tests.app.supervisor_builders import program_app
from tests.app.test_supervisor_shifts import hours_ago, shift_rows
from tests.conftest import valid_answers


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """Return the app of a program that flags drafts after two days instead of one."""
    return program_app(tmp_path / "instance", monkeypatch, review={"draft_overdue_hours": 48})


def rita_shift(db: sqlite_utils.Database) -> str:
    row = db.execute("SELECT id FROM shifts WHERE unit_id = (SELECT id FROM units WHERE call_sign = 'CR-1')")
    return str(row.fetchone()[0])


def test_the_setting_decides_which_drafts_the_shift_log_flags(
    login_as: Any, db: sqlite_utils.Database
) -> None:
    rita, sam = login_as("responder"), login_as("supervisor")
    rita.save(valid_answers(**hours_ago(30)), encounter_id=str(uuid.uuid4()))  # overdue at 24 h, not at 48 h
    rita.save(valid_answers(**hours_ago(50)), encounter_id=str(uuid.uuid4()))
    page = sam.get("/supervisor/shifts").get_data(as_text=True)
    assert "Drafts open over 48 h" in page
    assert 'data-overdue="1"' in shift_rows(page)[rita_shift(db)]


def test_the_shift_page_flags_overdue_drafts_with_the_configured_hours(
    login_as: Any, db: sqlite_utils.Database
) -> None:
    rita, sam = login_as("responder"), login_as("supervisor")
    rita.save(valid_answers(**hours_ago(30)), encounter_id=str(uuid.uuid4()))
    late = str(uuid.uuid4())
    rita.save(valid_answers(**hours_ago(50)), encounter_id=late)
    page = sam.get(f"/supervisor/shifts/{rita_shift(db)}").get_data(as_text=True)
    assert page.count("data-overdue") == 1
    late_row = page.split(f'data-encounter="{late}"')[1].split("</tr>")[0]
    assert "draft over 48 h after the call cleared" in late_row


def test_a_supervisor_can_still_ask_for_other_hours_in_the_address(
    login_as: Any, db: sqlite_utils.Database
) -> None:
    rita, sam = login_as("responder"), login_as("supervisor")
    rita.save(valid_answers(**hours_ago(30)), encounter_id=str(uuid.uuid4()))
    page = sam.get("/supervisor/shifts?overdue_h=12").get_data(as_text=True)
    assert "Drafts open over 12 h" in page and 'data-overdue="1"' in shift_rows(page)[rita_shift(db)]
