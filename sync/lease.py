"""A lease row in SQLite so that only one sync worker drains the outbox, even across processes."""

from __future__ import annotations

import time

import sqlite_utils

from sync.storage import immediate

LEASE_NAME = "outbox"


def acquire(db: sqlite_utils.Database, holder: str, ttl: float, now: float | None = None) -> bool:
    """Take or renew the lease; return False while another live worker holds it."""
    now = time.time() if now is None else now
    with immediate(db):
        row = db.execute("SELECT holder, expires_at FROM sync_lease WHERE name = ?", [LEASE_NAME]).fetchone()
        if row is not None and row[0] != holder and row[1] > now:
            return False
        fresh = row is None or row[0] != holder
        db.execute(
            "INSERT INTO sync_lease (name, holder, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at",
            [LEASE_NAME, holder, now + ttl],
        )
        if fresh:
            _reset_orphans(db, now)
    return True


def renew(db: sqlite_utils.Database, holder: str, ttl: float, now: float | None = None) -> bool:
    """Extend the lease inside the caller's transaction; return False when it is no longer ours."""
    now = time.time() if now is None else now
    cursor = db.execute(
        "UPDATE sync_lease SET expires_at = ? WHERE name = ? AND holder = ?", [now + ttl, LEASE_NAME, holder]
    )
    return cursor.rowcount == 1


def release(db: sqlite_utils.Database, holder: str) -> None:
    """Give the lease up so another worker may start at once."""
    with immediate(db):
        db.execute("DELETE FROM sync_lease WHERE name = ? AND holder = ?", [LEASE_NAME, holder])


def _reset_orphans(db: sqlite_utils.Database, lease_start: float) -> None:
    # Rows claimed before this lease began belong to a worker that died mid-batch: resend them.
    db.execute(
        "UPDATE outbox SET state = 'pending', next_attempt_at = 0, updated_at = ?,"
        " last_error = COALESCE(last_error, 'resent after an interrupted delivery')"
        " WHERE state = 'in_flight' AND updated_at < ?",
        [lease_start, lease_start],
    )
