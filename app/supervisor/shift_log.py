"""Shift log queries: shifts by date and unit with their encounter counts, and one shift's encounters."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import sqlite_utils

from app.finalize import real_value, utc_instant
from forms.model import Template

NOT_RECORDED_MARK = '"nv":"not_recorded"'  # how a blank required answer reads in a kept (compact) payload
DRAFT = "draft"


@dataclass
class ShiftRow:
    """One shift in the log, with what its supervisor needs to see at a glance."""

    id: int
    unit: str
    started_at: str
    ended_at: str | None
    crew: list[dict[str, Any]]
    signed_off_at: str | None
    by_status: dict[str, int] = field(default_factory=dict)
    incomplete: int = 0
    overdue_drafts: int = 0

    @property
    def total(self) -> int:
        """Return the number of encounters in the shift."""
        return sum(self.by_status.values())


def utc_bounds(start: date, end: date, zone: tzinfo) -> tuple[str, str]:
    """Return the UTC instants (ISO) of local midnight at start and after end."""
    low = datetime.combine(start, time(), zone).astimezone(UTC)
    high = datetime.combine(end + timedelta(days=1), time(), zone).astimezone(UTC)
    return low.isoformat(timespec="seconds"), high.isoformat(timespec="seconds")


def list_shifts(
    db: sqlite_utils.Database,
    start: date,
    end: date,
    unit_id: int | None,
    zone: tzinfo,
    overdue_hours: int,
    now: datetime,
) -> list[ShiftRow]:
    """Return the shifts started in the local date range (optionally one unit), newest first."""
    low, high = utc_bounds(start, end, zone)
    where = "datetime(s.started_at) >= datetime(?) AND datetime(s.started_at) < datetime(?)"
    params: list[Any] = [low, high]
    if unit_id is not None:
        where, params = where + " AND s.unit_id = ?", [*params, unit_id]
    cursor = db.execute(
        "SELECT s.id, u.call_sign, s.started_at, s.ended_at, s.crew, s.signed_off_at FROM shifts s"
        f" JOIN units u ON u.id = s.unit_id WHERE {where} ORDER BY datetime(s.started_at) DESC",
        params,
    )
    shifts = {r[0]: ShiftRow(r[0], r[1], r[2], r[3], json.loads(r[4] or "[]"), r[5]) for r in cursor}
    if shifts:
        _add_counts(db, shifts, overdue_hours, now)
    return list(shifts.values())


def _add_counts(
    db: sqlite_utils.Database, shifts: dict[int, ShiftRow], overdue_hours: int, now: datetime
) -> None:
    """Fill each shift's counts by status, incomplete records and overdue drafts."""
    marks = ", ".join("?" * len(shifts))
    ids = list(shifts)
    for shift_id, status, n in db.execute(
        f"SELECT shift_id, status, count(*) FROM encounters WHERE shift_id IN ({marks})"
        " GROUP BY shift_id, status",
        ids,
    ):
        shifts[shift_id].by_status[status] = n
    for shift_id, n in db.execute(
        "SELECT e.shift_id, count(*) FROM metric_records m JOIN encounters e ON e.id = m.encounter_id"
        f" WHERE e.shift_id IN ({marks}) AND instr(m.payload, ?) > 0 GROUP BY e.shift_id",
        [*ids, NOT_RECORDED_MARK],
    ):
        shifts[shift_id].incomplete = n
    for shift_id, answers, created in db.execute(
        f"SELECT shift_id, answers, created_at FROM encounters WHERE shift_id IN ({marks}) AND status = ?",
        [*ids, DRAFT],
    ):
        if is_overdue(json.loads(answers), created, overdue_hours, now):
            shifts[shift_id].overdue_drafts += 1


def is_overdue(answers: dict[str, Any], created_at: str, hours: int, now: datetime) -> bool:
    """Return whether a draft is still open `hours` after its call cleared (or was started)."""
    cleared = utc_instant(answers.get("cleared_at")) or utc_instant(created_at)
    if cleared is None:
        return False
    moment = datetime.strptime(cleared, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return now - moment > timedelta(hours=hours)


def shift_encounters(
    db: sqlite_utils.Database, template: Template, shift_id: int, overdue_hours: int, now: datetime
) -> list[dict[str, Any]]:
    """Return a shift's encounters in call order with their call times, main need, outcome and status."""
    times = call_time_fields(template)
    cursor = db.execute(
        "SELECT id, status, record_version, created_by, primary_need, resolution, answers, created_at,"
        " updated_at FROM encounters WHERE shift_id = ?"
        " ORDER BY coalesce(call_received_at, unit_notified_at, created_at)",
        [shift_id],
    )
    rows = []
    for r in cursor:
        answers = json.loads(r[6])
        rows.append(
            {
                "id": r[0],
                "status": r[1],
                "record_version": r[2],
                "created_by": r[3],
                "primary_need": r[4],
                "resolution": r[5],
                "created_at": r[7],
                "updated_at": r[8],
                "times": [(f, real_value(answers.get(f))) for f in times],
                "overdue": r[1] == DRAFT and is_overdue(answers, r[7], overdue_hours, now),
            }
        )
    return rows


def call_time_fields(template: Template) -> list[str]:
    """Return the encounter's one-tap core time fields, in template order (the call's timeline)."""
    return [
        f.id
        for f in template.fields.values()
        if f.group is None and f.type == "datetime" and f.core and f.now_button and f.privacy != "pii"
    ]


def shift_header(db: sqlite_utils.Database, shift_id: int) -> dict[str, Any] | None:
    """Return the shift with its unit and sign-off, or None."""
    row = db.execute(
        "SELECT s.id, u.call_sign, s.started_at, s.ended_at, s.crew, s.signed_off_at,"
        " coalesce(nullif(w.display_name, ''), w.username) FROM shifts s JOIN units u ON u.id = s.unit_id"
        " LEFT JOIN users w ON w.id = s.signed_off_by WHERE s.id = ?",
        [shift_id],
    ).fetchone()
    if row is None:
        return None
    return {
        "id": row[0],
        "unit": row[1],
        "started_at": row[2],
        "ended_at": row[3],
        "crew": json.loads(row[4] or "[]"),
        "signed_off_at": row[5],
        "signed_off_by": row[6],
    }


def waiting_for_review(db: sqlite_utils.Database, limit: int = 100) -> list[dict[str, Any]]:
    """Return finalized records waiting for a supervisor, oldest first, and returned ones."""
    cursor = db.execute(
        "SELECT e.id, e.status, e.record_version, u.call_sign, e.encounter_date, e.finalized_at, e.shift_id"
        " FROM encounters e LEFT JOIN units u ON u.id = e.unit_id"
        " WHERE e.status IN ('final', 'amended', 'returned') ORDER BY e.status = 'returned', e.finalized_at"
        " LIMIT ?",
        [limit],
    )
    names = ("id", "status", "record_version", "unit", "encounter_date", "finalized_at", "shift_id")
    return [dict(zip(names, row, strict=True)) for row in cursor]
