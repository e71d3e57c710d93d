"""Units: the vans (call signs) a program runs, with their program model and home county."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlite_utils
from flask_babel import gettext as _

CALL_SIGN_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _-]{0,19}")
_COLUMNS = "id, call_sign, program_model, home_county, active"


class UnitError(ValueError):
    """A unit cannot be created or changed as asked."""


@dataclass(frozen=True)
class Unit:
    """One unit (van) of the program."""

    id: int
    call_sign: str
    program_model: str | None
    home_county: str | None
    active: bool = True


def _unit(row: Any) -> Unit | None:
    return Unit(row[0], row[1], row[2], row[3], bool(row[4])) if row else None


def create(
    db: sqlite_utils.Database,
    call_sign: str,
    *,
    program_model: str | None = None,
    home_county: str | None = None,
) -> Unit:
    """Create a unit and return it."""
    if not CALL_SIGN_PATTERN.fullmatch(call_sign):
        raise UnitError(
            _("invalid call sign %(name)r: use up to 20 letters, digits, spaces, '_' or '-'", name=call_sign)
        )
    if by_call_sign(db, call_sign):
        raise UnitError(_("unit %(name)r already exists", name=call_sign))
    db.execute(
        "INSERT INTO units (call_sign, program_model, home_county, active) VALUES (?, ?, ?, 1)",
        [call_sign, program_model, home_county],
    )
    unit = by_call_sign(db, call_sign)
    assert unit is not None
    return unit


def get(db: sqlite_utils.Database, unit_id: int | None) -> Unit | None:
    """Return the unit with this id, or None."""
    return _unit(db.execute(f"SELECT {_COLUMNS} FROM units WHERE id = ?", [unit_id]).fetchone())


def by_call_sign(db: sqlite_utils.Database, call_sign: str) -> Unit | None:
    """Return the unit with this call sign (case-insensitive), or None."""
    return _unit(db.execute(f"SELECT {_COLUMNS} FROM units WHERE call_sign = ?", [call_sign]).fetchone())


def list_all(db: sqlite_utils.Database, *, active_only: bool = False) -> list[Unit]:
    """Return the units by call sign."""
    where = "WHERE active = 1" if active_only else ""
    return [
        u for r in db.execute(f"SELECT {_COLUMNS} FROM units {where} ORDER BY call_sign") if (u := _unit(r))
    ]


def set_active(db: sqlite_utils.Database, unit_id: int, active: bool) -> None:
    """Put a unit in or out of service."""
    db.execute("UPDATE units SET active = ? WHERE id = ?", [int(active), unit_id])
