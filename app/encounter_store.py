"""Encounter rows: reads (decrypted), the row writes the save service makes, and review notes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlite_utils

from app.crypto import Keys, open_answers, sealed_text
from app.users import User
from forms.model import Answers

if TYPE_CHECKING:
    from app.encounters import Prepared
    from app.save_request import SaveRequest

COLUMNS = (
    "id, shift_id, unit_id, created_by, status, revision, record_version, template_id, template_version,"
    " answers, encounter_date, finalized_at, created_at, updated_at"
)
REVIEWER_ROLES = ("supervisor", "admin")


@dataclass(frozen=True)
class Encounter:
    """A stored encounter with its answers decrypted."""

    id: str
    shift_id: int | None
    unit_id: int | None
    created_by: int
    status: str
    revision: int
    record_version: int | None
    template_id: str
    template_version: str
    answers: Answers
    encounter_date: str | None
    finalized_at: str | None
    created_at: str
    updated_at: str


def stored_row(db: sqlite_utils.Database, encounter_id: str) -> dict[str, Any] | None:
    """Return the raw encounter row (answers still encrypted), or None."""
    cursor = db.execute(f"SELECT {COLUMNS} FROM encounters WHERE id = ?", [encounter_id])
    row = cursor.fetchone()
    return dict(zip([c[0] for c in cursor.description], row, strict=True)) if row else None


def current_revision(db: sqlite_utils.Database, encounter_id: str) -> int | None:
    """Return the encounter's revision, or None when there is no such encounter."""
    row = db.execute("SELECT revision FROM encounters WHERE id = ?", [encounter_id]).fetchone()
    return int(row[0]) if row else None


def get(db: sqlite_utils.Database, encounter_id: str, *, keys: Keys | None = None) -> Encounter | None:
    """Return the encounter with its answers decrypted, or None."""
    row = stored_row(db, str(encounter_id).lower())
    if row is None:
        return None
    if keys is None:
        from app.encounters import current_context

        keys = current_context().keys
    row["answers"] = open_answers(json.loads(row["answers"]), keys, row["id"])
    return Encounter(**row)


def visible_to(user: User, encounter: Encounter) -> bool:
    """Return whether the user may see the encounter: its author, supervisors and admins."""
    return encounter.created_by == user.id or user.role in REVIEWER_ROLES


def latest_hash(db: sqlite_utils.Database, encounter_id: str, revision: int) -> str | None:
    """Return the request hash saved with a revision, or None."""
    row = db.execute(
        "SELECT body_hash FROM encounter_revisions WHERE encounter_id = ? AND revision = ?",
        [encounter_id, revision],
    ).fetchone()
    return row[0] if row else None


def write_encounter(
    db: sqlite_utils.Database,
    request: SaveRequest,
    prepared: Prepared,
    user: User,
    existing: dict[str, Any] | None,
    revision: int,
    now: str,
) -> None:
    """Insert or update the encounter row from a prepared save."""
    values = {
        "status": prepared.status,
        "revision": revision,
        "record_version": prepared.record_version,
        "template_id": request.template_id,
        "template_version": request.template_version,
        "answers": prepared.sealed_json,
        "updated_at": now,
        "finalized_at": now if request.finalize else (existing or {}).get("finalized_at"),
        **prepared.columns,
    }
    if existing is None:
        values |= {
            "id": request.id,
            "shift_id": prepared.shift_id,
            "unit_id": prepared.unit_id,
            "created_by": user.id,
            "created_at": now,
        }
        names = ", ".join(values)
        db.execute(
            f"INSERT INTO encounters ({names}) VALUES ({', '.join('?' * len(values))})", list(values.values())
        )
    else:
        assignments = ", ".join(f"{k} = ?" for k in values)
        db.execute(f"UPDATE encounters SET {assignments} WHERE id = ?", [*values.values(), request.id])


def add_revision(
    db: sqlite_utils.Database,
    encounter_id: str,
    revision: int,
    saved_by: int,
    saved_at: str,
    status: str,
    sealed: Answers | str,
    changed: list[str],
    body_hash: str | None,
    reason: str | None = None,
) -> None:
    """Store one saved version of the encounter (`sealed`: its stored answers, or their JSON text)."""
    db.execute(
        "INSERT INTO encounter_revisions (encounter_id, revision, saved_by, saved_at, status, reason,"
        " answers, changed_fields, body_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            encounter_id,
            revision,
            saved_by,
            saved_at,
            status,
            reason,
            sealed if isinstance(sealed, str) else sealed_text(sealed),
            json.dumps(changed),
            body_hash,
        ],
    )


def replace_person_keys(
    db: sqlite_utils.Database, encounter_id: str, keys: list[str], *, new: bool = False
) -> None:
    """Replace the encounter's person lookup keys (used to find repeat clients).

    A `new` encounter (its row inserted in this transaction) cannot have keys yet.
    """
    if not new:
        db.execute("DELETE FROM person_index WHERE encounter_id = ?", [encounter_id])
    db.conn.executemany(
        "INSERT INTO person_index (encounter_id, person_key) VALUES (?, ?)",
        [(encounter_id, key) for key in dict.fromkeys(keys)],
    )


def changed_fields(before: Answers, after: Answers) -> list[str]:
    """Return the field paths whose values differ, e.g. ["call_source", "persons[0].age_years"]."""
    flat_before, flat_after = _flatten(before), _flatten(after)
    if not flat_before:
        return sorted(flat_after)
    return sorted(
        k for k in flat_before.keys() | flat_after.keys() if flat_before.get(k) != flat_after.get(k)
    )


def _flatten(answers: Answers) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in answers.items():
        if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
            for index, row in enumerate(value):
                flat.update({f"{key}[{index}].{k}": v for k, v in row.items()})
        else:
            flat[key] = value
    return flat


def list_mine(db: sqlite_utils.Database, user: User) -> list[dict[str, Any]]:
    """Return the user's drafts and returned records, newest first, with the latest return note."""
    cursor = db.execute(
        "SELECT e.id, e.status, e.revision, e.updated_at, e.encounter_date, e.template_id,"
        " e.template_version,"
        " (SELECT note FROM review_notes n WHERE n.encounter_id = e.id AND n.kind = 'return'"
        "  ORDER BY n.id DESC LIMIT 1) AS return_note"
        " FROM encounters e WHERE e.created_by = ? AND e.status IN ('draft', 'returned')"
        " ORDER BY e.updated_at DESC",
        [user.id],
    )
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def list_for_shift(db: sqlite_utils.Database, shift_id: int) -> list[dict[str, Any]]:
    """Return the shift's encounters (no answers), oldest first."""
    cursor = db.execute(
        "SELECT id, status, revision, record_version, created_by, encounter_date, updated_at FROM encounters"
        " WHERE shift_id = ? ORDER BY created_at",
        [shift_id],
    )
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def add_note(
    db: sqlite_utils.Database, encounter_id: str, author_id: int, note: str, kind: str = "note"
) -> None:
    """Attach a review note (kind 'note', 'return' or 'approve') to an encounter."""
    db.execute(
        "INSERT INTO review_notes (encounter_id, author, note, created_at, kind) VALUES (?, ?, ?, ?, ?)",
        [encounter_id, author_id, note, datetime.now(UTC).isoformat(timespec="seconds"), kind],
    )


def notes(db: sqlite_utils.Database, encounter_id: str) -> list[dict[str, Any]]:
    """Return the encounter's review notes, oldest first, with the author's name."""
    cursor = db.execute(
        "SELECT n.note, n.kind, n.created_at, u.username, u.display_name FROM review_notes n"
        " JOIN users u ON u.id = n.author WHERE n.encounter_id = ? ORDER BY n.id",
        [encounter_id],
    )
    return [{"note": r[0], "kind": r[1], "created_at": r[2], "author": r[4] or r[3]} for r in cursor]
