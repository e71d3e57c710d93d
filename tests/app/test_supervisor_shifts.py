"""Shift log, shift page and the supervisor's start page (what waits, and sync health)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from tests.app.supervisor_builders import call_answers, finalize
from tests.conftest import valid_answers

SHIFT_ROW = re.compile(r'<tr data-shift="(\d+)">(.*?)</tr>', re.S)


def shift_rows(html: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in SHIFT_ROW.finditer(html)}


def hours_ago(hours: float) -> dict[str, str]:
    """Return call times of a call that cleared `hours` ago."""
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours)
    names = (
        "call_received_at",
        "unit_notified_at",
        "en_route_at",
        "arrived_on_scene_at",
        "left_scene_at",
        "cleared_at",
    )
    return {n: (end - timedelta(minutes=5 * (5 - i))).isoformat() for i, n in enumerate(names)}


def test_shift_log_counts_encounters_by_status_and_flags_incomplete_and_overdue(
    login_as: Any, db: sqlite_utils.Database
) -> None:
    rita, sam = login_as("responder"), login_as("supervisor")
    finalize(rita, valid_answers())
    blank_location = valid_answers()
    del blank_location["location_type"]  # required: becomes "not recorded" at finalize
    finalize(rita, blank_location)
    rita.save(valid_answers(**hours_ago(30)), encounter_id=str(uuid.uuid4()))
    rita.save(valid_answers(**hours_ago(1)), encounter_id=str(uuid.uuid4()))
    rows = shift_rows(sam.get("/supervisor/shifts").get_data(as_text=True))
    shift_id = str(
        db.execute(
            "SELECT id FROM shifts s WHERE unit_id = (SELECT id FROM units WHERE call_sign = 'CR-1')"
        ).fetchone()[0]
    )
    mine = rows[shift_id]
    assert 'data-total="4"' in mine
    assert (
        '<span data-status="draft">Draft 2</span>' in mine
        and '<span data-status="final">Finalized 2</span>' in mine
    )
    assert 'data-incomplete="1"' in mine and 'data-overdue="1"' in mine
    assert len(rows) == 2
    only_cr2 = shift_rows(sam.get("/supervisor/shifts?unit=CR-2").get_data(as_text=True))
    assert list(only_cr2) != [shift_id] and len(only_cr2) == 1


def test_shift_page_lists_encounters_in_call_order_with_need_outcome_and_status(
    login_as: Any, db: sqlite_utils.Database
) -> None:
    rita, sam = login_as("responder"), login_as("supervisor")
    later = finalize(rita, call_answers(12))
    earlier = finalize(rita, call_answers(11, resolution="person_left"))
    shift_id = db.execute("SELECT shift_id FROM encounters WHERE id = ?", [later]).fetchone()[0]
    page = sam.get(f"/supervisor/shifts/{shift_id}").get_data(as_text=True)
    assert page.index(f'data-encounter="{earlier}"') < page.index(f'data-encounter="{later}"')
    first_row = page.split(f'data-encounter="{earlier}"')[1].split("</tr>")[0]
    assert "Mental health crisis" in first_row and "Person left" in first_row and "badge-final" in first_row
    assert "Call received" in first_row and "11/11/26, 10:00" in first_row


def test_start_page_shows_records_waiting_and_the_sync_queue(
    login_as: Any, db: sqlite_utils.Database
) -> None:
    rita, sam = login_as("responder"), login_as("supervisor")
    waiting = finalize(rita, valid_answers())
    refused = finalize(rita, valid_answers())
    answer = {
        "status": "rejected",
        "messages": [
            {"severity": "ERROR", "field": "incident_county", "message": "County not in this state"}
        ],
    }
    db.execute(
        "UPDATE outbox SET state = 'quarantined', response = ? WHERE encounter_id = ?",
        [json.dumps(answer), refused],
    )  # the state refused it: what the worker records
    page = sam.get("/supervisor/").get_data(as_text=True)
    assert f'data-encounter="{waiting}"' in page
    assert '<dd data-sync="waiting">1</dd>' in page and '<dd data-sync="quarantined">1</dd>' in page
    assert "County not in this state" in page


def test_bad_dates_and_units_get_a_clear_message_not_an_error(login_as: Any) -> None:
    sam = login_as("supervisor")
    cases = {
        "/supervisor/shifts?start=2026-13-01": "&#39;start&#39; must be a date written YYYY-MM-DD",
        "/supervisor/shifts?start=2026-11-10&end=2026-11-01": "is after the end date",
        "/supervisor/shifts?unit=NOPE": "There is no unit &#39;NOPE&#39;",
        "/supervisor/shifts?overdue_h=-3": "&#39;overdue_h&#39; must be a whole number",
        "/supervisor/metrics?by=shoe_size": "Cannot break the metrics down by &#39;shoe_size&#39;",
        "/supervisor/export.csv?end=tomorrow": "&#39;end&#39; must be a date",
    }
    for path, message in cases.items():
        response = sam.get(path)
        assert response.status_code == 400, path
        assert message in response.get_data(as_text=True), path
    assert sam.get("/supervisor/shifts/999999").status_code == 404
    assert sam.get("/supervisor/encounters/not-a-uuid").status_code == 404
