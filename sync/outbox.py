"""Server outbox: finalized record versions waiting to be delivered to the state."""

from __future__ import annotations

import json
import time
from typing import Any

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


def enqueue(
    db: sqlite_utils.Database, encounter_id: str, record_version: int, payload: dict[str, Any]
) -> None:
    """Queue one shaped record version for delivery; a repeat of the same version is ignored.

    The caller owns the transaction (BEGIN IMMEDIATE ... COMMIT); nothing is committed here.
    """
    now = time.time()
    db.execute(
        "INSERT OR IGNORE INTO outbox (encounter_id, record_version, payload, state, attempts,"
        " next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, 'pending', 0, ?, ?, ?)",
        [encounter_id, int(record_version), json.dumps(payload, sort_keys=True), now, now, now],
    )
