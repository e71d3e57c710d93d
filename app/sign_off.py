"""Shift sign-off: a supervisor signs off an ended shift once every encounter in it is approved or voided."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlite_utils
from flask_babel import gettext as _

from app import audit
from app.db import write_transaction
from app.errors import Conflict, NotFound
from app.users import User

SIGN_OFF_READY = ("approved", "voided")


def sign_off_shift(db: sqlite_utils.Database, reviewer: User, shift_id: int) -> None:
    """Sign off an ended shift once every encounter in it is approved or voided."""
    with write_transaction(db):
        row = db.execute("SELECT id, ended_at, signed_off_at FROM shifts WHERE id = ?", [shift_id]).fetchone()
        if row is None:
            raise NotFound(_("No such shift."))
        if row[2]:
            raise Conflict(_("This shift is already signed off."))
        if not row[1]:
            raise Conflict(_("This shift is still open: the crew ends it before it can be signed off."))
        waiting = unapproved_in_shift(db, shift_id)
        if waiting:
            raise Conflict(
                _(
                    "%(n)d encounter(s) in this shift are not approved or voided yet: review them first.",
                    n=len(waiting),
                ),
                details={"encounters": waiting},
            )
        db.execute(
            "UPDATE shifts SET signed_off_at = ?, signed_off_by = ? WHERE id = ?",
            [_now(), reviewer.id, shift_id],
        )
        audit.record(db, reviewer.username, "shift.sign_off", str(shift_id))


def unapproved_in_shift(db: sqlite_utils.Database, shift_id: int) -> list[str]:
    """Return the ids of the shift's encounters that are neither approved nor voided."""
    marks = ", ".join("?" * len(SIGN_OFF_READY))
    rows = db.execute(
        f"SELECT id FROM encounters WHERE shift_id = ? AND status NOT IN ({marks}) ORDER BY created_at",
        [shift_id, *SIGN_OFF_READY],
    )
    return [r[0] for r in rows]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
