"""The audit log: append-only and hash-chained, so a changed or deleted row is detectable.

Each row's hash is sha256(prev_hash + canonical JSON of the row); ids are AUTOINCREMENT,
so a deleted row leaves a gap (or a sequence beyond the last id) that `verify` reports.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from app.db import write_transaction

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditProblem:
    """The first row of the audit log that fails verification, and why."""

    row_id: int
    reason: str


def row_hash(
    prev_hash: str, row_id: int, at: str, actor: str | None, action: str, target: str | None, details: str
) -> str:
    """Return the chained hash of one audit row."""
    canonical = json.dumps([row_id, at, actor, action, target, details], separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def record(
    db: sqlite_utils.Database,
    actor: str | None,
    action: str,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """Append an audit entry; join the caller's transaction or open one. Return the row id."""
    if not db.conn.in_transaction:
        with write_transaction(db):
            return _append(db, actor, action, target, details or {})
    return _append(db, actor, action, target, details or {})


def _append(
    db: sqlite_utils.Database, actor: str | None, action: str, target: str | None, details: dict[str, Any]
) -> int:
    last_id, seq, prev = db.execute(
        "SELECT (SELECT max(id) FROM audit_log), (SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'),"
        " (SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1)"
    ).fetchone()
    row_id = max(last_id or 0, seq or 0) + 1
    prev = prev or GENESIS
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    text = json.dumps(details, sort_keys=True, separators=(",", ":"), default=str)
    db.execute(
        "INSERT INTO audit_log (id, at, actor, action, target, details, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            row_id,
            at,
            actor,
            action,
            target,
            text,
            prev,
            row_hash(prev, row_id, at, actor, action, target, text),
        ],
    )
    return row_id


def verify(db: sqlite_utils.Database) -> AuditProblem | None:
    """Return the first bad row of the audit chain, or None when the chain is intact."""
    prev, expected_id = GENESIS, 1
    rows = db.execute(
        "SELECT id, at, actor, action, target, details, prev_hash, hash FROM audit_log ORDER BY id"
    )
    for row_id, at, actor, action, target, details, prev_hash, stored in rows:
        if row_id != expected_id:
            return AuditProblem(expected_id, f"row {expected_id} is missing (deleted)")
        if prev_hash != prev:
            return AuditProblem(row_id, f"row {row_id} does not follow row {row_id - 1} (chain broken)")
        if row_hash(prev, row_id, at, actor, action, target, details) != stored:
            return AuditProblem(row_id, f"row {row_id} was changed after it was written")
        prev, expected_id = stored, expected_id + 1
    seq = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'").fetchone()
    if seq and seq[0] >= expected_id:
        return AuditProblem(expected_id, f"row {expected_id} is missing (deleted from the end)")
    return None


def recent(db: sqlite_utils.Database, limit: int = 100, target: str | None = None) -> list[dict[str, Any]]:
    """Return the latest audit entries, newest first, optionally for one target."""
    where, params = ("WHERE target = ?", [target]) if target else ("", [])
    cursor = db.execute(
        f"SELECT id, at, actor, action, target, details FROM audit_log {where} ORDER BY id DESC LIMIT ?",
        [*params, limit],
    )
    return [dict(zip(("id", "at", "actor", "action", "target", "details"), r, strict=True)) for r in cursor]
