"""Server outbox: finalized record versions waiting to be delivered to the state."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlite_utils

OUTBOX_STATES = ("pending", "in_flight", "delivered", "quarantined")

OUTBOX_SCHEMA: list[str] = [
    """CREATE TABLE IF NOT EXISTS outbox (
        id INTEGER PRIMARY KEY,
        encounter_id TEXT NOT NULL,
        record_version INTEGER NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'in_flight', 'delivered', 'quarantined')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL DEFAULT 0,
        last_error TEXT,
        response TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        delivered_at REAL,
        UNIQUE (encounter_id, record_version)
    )""",
    "CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt_at, id)",
    """CREATE TABLE IF NOT EXISTS sync_lease (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS sync_state (
        key TEXT PRIMARY KEY,
        value TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS sync_templates (
        etag TEXT PRIMARY KEY,
        version TEXT NOT NULL,
        source TEXT NOT NULL,
        fetched_at REAL NOT NULL
    )""",
]


def create_outbox_tables(db: sqlite_utils.Database) -> None:
    """Create the outbox, lease, state and template tables when missing."""
    for statement in OUTBOX_SCHEMA:
        db.execute(statement)


def payload_text(payload: dict[str, Any]) -> str:
    """Return the stored text of a payload: JSON with sorted keys (orjson, or json when it refuses)."""
    try:
        return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # e.g. an integer beyond 64 bits
        return json.dumps(payload, sort_keys=True)


def enqueue(
    db: sqlite_utils.Database, encounter_id: str, record_version: int, payload: dict[str, Any] | str
) -> None:
    """Queue one shaped record version for delivery; a repeat of the same version is ignored.

    `payload` is the shaped record, or its payload_text() encoded before the caller took the
    write lock. The caller owns the transaction (BEGIN IMMEDIATE ... COMMIT); nothing is
    committed here.
    """
    now = time.time()
    text = payload if isinstance(payload, str) else payload_text(payload)
    db.execute(
        "INSERT OR IGNORE INTO outbox (encounter_id, record_version, payload, state, attempts,"
        " next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, 'pending', 0, ?, ?, ?)",
        [encounter_id, int(record_version), text, now, now, now],
    )


@dataclass(frozen=True)
class OutboxRow:
    """One claimed outbox row: a record version and its stored payload text."""

    id: int
    encounter_id: str
    record_version: int
    payload: str
    attempts: int

    @property
    def size(self) -> int:
        """Return the payload's size in bytes as sent."""
        return len(self.payload.encode("utf-8"))


@dataclass
class Settlement:
    """What became of each row of a batch, applied in one transaction."""

    delivered: list[tuple[int, str]] = field(default_factory=list)
    quarantined: list[tuple[int, str, str]] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    retry_at: float = 0.0
    retry_error: str | None = None


def claim_due(db: sqlite_utils.Database, limit: int, max_bytes: int, now: float) -> list[OutboxRow]:
    """Mark up to `limit` due rows (within `max_bytes`) in flight; the caller holds the transaction."""
    cursor = db.execute(
        "SELECT id, encounter_id, record_version, payload, attempts FROM outbox"
        " WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?",
        [now, limit],
    )
    rows: list[OutboxRow] = []
    total = 0
    for raw in cursor.fetchall():
        row = OutboxRow(raw[0], raw[1], raw[2], raw[3], raw[4] + 1)
        if rows and total + row.size > max_bytes:
            break
        rows.append(row)
        total += row.size + 1
    db.conn.executemany(
        "UPDATE outbox SET state = 'in_flight', attempts = attempts + 1, updated_at = ? WHERE id = ?",
        [(now, row.id) for row in rows],
    )
    return rows


def settle(db: sqlite_utils.Database, outcome: Settlement, now: float) -> None:
    """Record a batch's outcome (delivered, quarantined, retry); the caller holds the transaction."""
    db.conn.executemany(
        "UPDATE outbox SET state = 'delivered', response = ?, last_error = NULL, updated_at = ?,"
        " delivered_at = ? WHERE id = ? AND state != 'delivered'",
        [(response, now, now, row_id) for row_id, response in outcome.delivered],
    )
    db.conn.executemany(
        "UPDATE outbox SET state = 'quarantined', last_error = ?, response = ?, updated_at = ?"
        " WHERE id = ? AND state != 'delivered'",
        [(error, response, now, row_id) for row_id, error, response in outcome.quarantined],
    )
    db.conn.executemany(
        "UPDATE outbox SET state = 'pending', next_attempt_at = ?, last_error = COALESCE(?, last_error),"
        " updated_at = ? WHERE id = ? AND state = 'in_flight'",
        [(outcome.retry_at, outcome.retry_error, now, row_id) for row_id in outcome.retry],
    )


def requeue(db: sqlite_utils.Database, outbox_id: int) -> bool:
    """Put a quarantined (or waiting) row back in the queue to be sent at once; return whether one was."""
    now = time.time()
    cursor = db.execute(
        "UPDATE outbox SET state = 'pending', next_attempt_at = 0, last_error = NULL, updated_at = ?"
        " WHERE id = ? AND state IN ('quarantined', 'pending')",
        [now, outbox_id],
    )
    return cursor.rowcount == 1
