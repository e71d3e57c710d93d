"""Versioned schema migrations: the only way the database schema changes.

Each migration is (version, function); `migrate` applies those not yet recorded in
schema_migrations, each in its own BEGIN IMMEDIATE transaction, in order.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import sqlite_utils

from app.db import write_transaction

log = logging.getLogger(__name__)

Migration = tuple[int, Callable[[sqlite_utils.Database], None]]

CORE_SCHEMA = [
    """CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('responder', 'supervisor', 'admin')),
        display_name TEXT NOT NULL DEFAULT '',
        team_role TEXT,
        active INTEGER NOT NULL DEFAULT 1,
        failed_logins INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE units (
        id INTEGER PRIMARY KEY,
        call_sign TEXT NOT NULL UNIQUE COLLATE NOCASE,
        program_model TEXT,
        home_county TEXT,
        active INTEGER NOT NULL DEFAULT 1
    )""",
    """CREATE TABLE shifts (
        id INTEGER PRIMARY KEY,
        unit_id INTEGER NOT NULL REFERENCES units(id),
        started_by INTEGER NOT NULL REFERENCES users(id),
        started_at TEXT NOT NULL,
        ended_at TEXT,
        crew TEXT NOT NULL DEFAULT '[]'
    )""",
    "CREATE INDEX shifts_open ON shifts (ended_at, unit_id)",
    """CREATE TABLE encounters (
        id TEXT PRIMARY KEY,
        shift_id INTEGER REFERENCES shifts(id),
        unit_id INTEGER REFERENCES units(id),
        created_by INTEGER NOT NULL REFERENCES users(id),
        status TEXT NOT NULL
            CHECK (status IN ('draft', 'final', 'returned', 'approved', 'amended', 'voided')),
        revision INTEGER NOT NULL,
        record_version INTEGER,
        template_id TEXT NOT NULL,
        template_version TEXT NOT NULL,
        answers TEXT NOT NULL,
        call_received_at TEXT,
        unit_notified_at TEXT,
        encounter_date TEXT,
        primary_need TEXT,
        resolution TEXT,
        incident_key TEXT,
        finalized_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX encounters_call_received ON encounters (call_received_at)",
    "CREATE INDEX encounters_unit_notified ON encounters (unit_notified_at)",
    "CREATE INDEX encounters_date ON encounters (encounter_date)",
    "CREATE INDEX encounters_author ON encounters (created_by, status)",
    "CREATE INDEX encounters_shift ON encounters (shift_id)",
    "CREATE INDEX encounters_incident ON encounters (incident_key, unit_id)",
    """CREATE TABLE encounter_revisions (
        encounter_id TEXT NOT NULL REFERENCES encounters(id),
        revision INTEGER NOT NULL,
        saved_by INTEGER NOT NULL REFERENCES users(id),
        saved_at TEXT NOT NULL,
        status TEXT NOT NULL,
        reason TEXT,
        answers TEXT NOT NULL,
        changed_fields TEXT NOT NULL DEFAULT '[]',
        body_hash TEXT,
        PRIMARY KEY (encounter_id, revision)
    )""",
    """CREATE TABLE person_index (
        encounter_id TEXT NOT NULL REFERENCES encounters(id),
        person_key TEXT NOT NULL,
        PRIMARY KEY (encounter_id, person_key)
    )""",
    "CREATE INDEX person_index_key ON person_index (person_key)",
    """CREATE TABLE review_notes (
        id INTEGER PRIMARY KEY,
        encounter_id TEXT NOT NULL REFERENCES encounters(id),
        author INTEGER NOT NULL REFERENCES users(id),
        note TEXT NOT NULL,
        created_at TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT 'note'
    )""",
    "CREATE INDEX review_notes_encounter ON review_notes (encounter_id)",
    """CREATE TABLE templates (
        id TEXT NOT NULL,
        version TEXT NOT NULL,
        source TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 0,
        imported_at TEXT NOT NULL,
        PRIMARY KEY (id, version)
    )""",
    """CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        actor TEXT,
        action TEXT NOT NULL,
        target TEXT,
        details TEXT NOT NULL DEFAULT '{}',
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    )""",
    """CREATE TABLE login_throttle (
        username TEXT PRIMARY KEY,
        failures INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT
    )""",
]


def create_core_tables(db: sqlite_utils.Database) -> None:
    """Create users, units, shifts, encounters, revisions, notes, templates and the audit log."""
    for statement in CORE_SCHEMA:
        db.execute(statement)


def create_outbox_tables(db: sqlite_utils.Database) -> None:
    """Create the sync outbox tables declared by sync.outbox."""
    outbox = importlib.import_module("sync.outbox")  # imported late: sync/ is optional at import time
    for statement in outbox.OUTBOX_SCHEMA:
        db.execute(statement)


REVIEW_SCHEMA = [
    "ALTER TABLE shifts ADD COLUMN signed_off_at TEXT",
    "ALTER TABLE shifts ADD COLUMN signed_off_by INTEGER REFERENCES users(id)",
    """CREATE TABLE metric_records (
        encounter_id TEXT PRIMARY KEY REFERENCES encounters(id),
        record_version INTEGER NOT NULL,
        unit_id INTEGER,
        encounter_date TEXT,
        payload TEXT NOT NULL,
        seq INTEGER NOT NULL
    )""",
    "CREATE INDEX metric_records_period ON metric_records (encounter_date, unit_id)",
    "CREATE INDEX metric_records_seq ON metric_records (seq)",
    "CREATE TABLE metric_stale (encounter_id TEXT PRIMARY KEY)",
    # A new record version marks the encounter for re-shaping in the very transaction that made it.
    """CREATE TRIGGER encounters_metric_insert AFTER INSERT ON encounters
        WHEN NEW.record_version IS NOT NULL
        BEGIN INSERT OR IGNORE INTO metric_stale (encounter_id) VALUES (NEW.id); END""",
    """CREATE TRIGGER encounters_metric_update AFTER UPDATE OF record_version ON encounters
        WHEN NEW.record_version IS NOT NULL AND NEW.record_version IS NOT OLD.record_version
        BEGIN INSERT OR IGNORE INTO metric_stale (encounter_id) VALUES (NEW.id); END""",
    "INSERT OR IGNORE INTO metric_stale (encounter_id)"
    " SELECT id FROM encounters WHERE record_version IS NOT NULL",
]


def create_review_tables(db: sqlite_utils.Database) -> None:
    """Add shift sign-off and the shaped payloads the dashboard and exports read (app.dashboard)."""
    for statement in REVIEW_SCHEMA:
        db.execute(statement)


MIGRATIONS: list[Migration] = [
    (1, create_core_tables),
    (2, create_outbox_tables),
    (3, create_review_tables),
]


def applied_versions(db: sqlite_utils.Database) -> set[int]:
    """Return the migration versions already applied."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    return {row[0] for row in db.execute("SELECT version FROM schema_migrations").fetchall()}


def migrate(db: sqlite_utils.Database) -> list[int]:
    """Apply every pending migration in order; return the versions applied now."""
    done: list[int] = []
    for version, step in MIGRATIONS:
        if version in applied_versions(db):
            continue
        with write_transaction(db):
            if db.execute("SELECT 1 FROM schema_migrations WHERE version = ?", [version]).fetchone():
                continue  # another process applied it while we waited for the lock
            step(db)
            db.execute(
                "INSERT INTO schema_migrations VALUES (?, ?)",
                [version, datetime.now(UTC).isoformat(timespec="seconds")],
            )
        log.info("applied migration %s (%s)", version, step.__name__)
        done.append(version)
    return done
