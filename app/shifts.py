"""Shifts: a unit on duty with its crew, from start to end."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlite_utils
from flask_babel import gettext as _

_COLUMNS = "id, unit_id, started_by, started_at, ended_at, crew"


class ShiftError(ValueError):
    """A shift cannot be started or ended as asked."""


@dataclass(frozen=True)
class Shift:
    """A unit's shift; crew is a list of {"user_id"?, "name", "team_role"}."""

    id: int
    unit_id: int
    started_by: int
    started_at: str
    ended_at: str | None
    crew: list[dict[str, Any]] = field(default_factory=list)

    @property
    def team_roles(self) -> list[str]:
        """Return the crew's team roles, each once, in crew order."""
        return list(dict.fromkeys(m["team_role"] for m in self.crew if m.get("team_role")))


def _shift(row: Any) -> Shift | None:
    return Shift(row[0], row[1], row[2], row[3], row[4], json.loads(row[5] or "[]")) if row else None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def start(
    db: sqlite_utils.Database,
    unit_id: int,
    user_id: int,
    crew: list[dict[str, Any]],
    *,
    started_at: str | None = None,
) -> Shift:
    """Start a shift for a unit; a unit has at most one open shift."""
    if open_for_unit(db, unit_id):
        raise ShiftError(_("this unit already has an open shift: end it first"))
    cursor = db.execute(
        "INSERT INTO shifts (unit_id, started_by, started_at, crew) VALUES (?, ?, ?, ?)",
        [unit_id, user_id, started_at or _now(), json.dumps(crew)],
    )
    shift = get(db, cursor.lastrowid)
    assert shift is not None
    return shift


def end(db: sqlite_utils.Database, shift_id: int, *, ended_at: str | None = None) -> Shift:
    """End an open shift."""
    shift = get(db, shift_id)
    if shift is None or shift.ended_at:
        raise ShiftError(_("no open shift to end"))
    db.execute("UPDATE shifts SET ended_at = ? WHERE id = ?", [ended_at or _now(), shift_id])
    ended = get(db, shift_id)
    assert ended is not None
    return ended


def get(db: sqlite_utils.Database, shift_id: int | None) -> Shift | None:
    """Return the shift with this id, or None."""
    return _shift(db.execute(f"SELECT {_COLUMNS} FROM shifts WHERE id = ?", [shift_id]).fetchone())


def open_for_unit(db: sqlite_utils.Database, unit_id: int) -> Shift | None:
    """Return the unit's open shift, or None."""
    row = db.execute(f"SELECT {_COLUMNS} FROM shifts WHERE unit_id = ? AND ended_at IS NULL", [unit_id])
    return _shift(row.fetchone())


def open_for_user(db: sqlite_utils.Database, user_id: int) -> Shift | None:
    """Return the open shift the user started or is crew on, or None."""
    row = db.execute(
        f"SELECT {_COLUMNS} FROM shifts WHERE ended_at IS NULL AND (started_by = ? OR EXISTS ("
        " SELECT 1 FROM json_each(shifts.crew) WHERE json_extract(value, '$.user_id') = ?))"
        " ORDER BY started_at DESC LIMIT 1",
        [user_id, user_id],
    )
    return _shift(row.fetchone())


def list_recent(db: sqlite_utils.Database, limit: int = 50) -> list[Shift]:
    """Return the latest shifts, newest first."""
    cursor = db.execute(f"SELECT {_COLUMNS} FROM shifts ORDER BY started_at DESC LIMIT ?", [limit])
    return [s for r in cursor if (s := _shift(r))]
