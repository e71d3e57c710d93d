"""The receiver's own SQLite store: every record version held, the current version per encounter."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from sync.storage import immediate, open_database

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS submissions (
        encounter_id TEXT NOT NULL,
        record_version INTEGER NOT NULL,
        agency_id TEXT NOT NULL,
        record_status TEXT NOT NULL,
        body_sha256 TEXT NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL,
        messages TEXT NOT NULL,
        times_received INTEGER NOT NULL DEFAULT 1,
        received_at REAL NOT NULL,
        PRIMARY KEY (encounter_id, record_version)
    )""",
    """CREATE TABLE IF NOT EXISTS current_records (
        encounter_id TEXT PRIMARY KEY,
        agency_id TEXT NOT NULL,
        record_version INTEGER NOT NULL,
        record_status TEXT NOT NULL,
        body TEXT NOT NULL,
        updated_at REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS rejections (
        id INTEGER PRIMARY KEY,
        agency_id TEXT NOT NULL,
        encounter_id TEXT,
        record_version INTEGER,
        status TEXT NOT NULL,
        messages TEXT NOT NULL,
        received_at REAL NOT NULL
    )""",
]


class ReceiverStore:
    """Records held by the state, keyed by (encounter_id, record_version) for ever."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.local = threading.local()
        for statement in SCHEMA:
            self.connect().execute(statement)

    def connect(self) -> sqlite_utils.Database:
        """Return this thread's connection, opening it on first use."""
        db: sqlite_utils.Database | None = getattr(self.local, "db", None)
        if db is None:
            db = self.local.db = open_database(self.path)
        return db


class Ingest:
    """One batch's write transaction: what is held is read up front, what is new written at the end."""

    def __init__(self, db: sqlite_utils.Database, agency_id: str, encounter_ids: list[str]) -> None:
        self.db = db
        self.agency_id = agency_id
        self.now = time.time()
        self.held_versions: dict[tuple[str, int], tuple[str, str]] = {}
        self.current_versions: dict[str, tuple[str, int]] = {}
        self.new_versions: list[tuple[Any, ...]] = []
        self.new_current: dict[str, tuple[Any, ...]] = {}
        self.repeats: list[tuple[str, int]] = []
        self.rejections: list[tuple[Any, ...]] = []
        self._prefetch(sorted(set(encounter_ids)))

    def _prefetch(self, ids: list[str]) -> None:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for eid, version, agency, digest in self.db.execute(
                "SELECT encounter_id, record_version, agency_id, body_sha256 FROM submissions"
                f" WHERE encounter_id IN ({marks})",
                chunk,
            ):
                self.held_versions[(eid, version)] = (agency, digest)
            for eid, agency, version in self.db.execute(
                "SELECT encounter_id, agency_id, record_version FROM current_records"
                f" WHERE encounter_id IN ({marks})",
                chunk,
            ):
                self.current_versions[eid] = (agency, version)

    def held(self, encounter_id: str, version: int) -> tuple[str, str] | None:
        """Return (agency_id, body hash) of a version already held, or None."""
        return self.held_versions.get((encounter_id, version))

    def count_repeat(self, encounter_id: str, version: int) -> None:
        """Note that an identical copy of a held version arrived again."""
        self.repeats.append((encounter_id, version))

    def current(self, encounter_id: str) -> tuple[str, int] | None:
        """Return (agency_id, version) of the current version of an encounter, or None."""
        return self.current_versions.get(encounter_id)

    def store(
        self,
        record: Mapping[str, Any],
        body: str,
        digest: str,
        status: str,
        messages: list[Any],
        make_current: bool,
    ) -> None:
        """Hold a new record version (its canonical JSON); make it current when it is the newest."""
        eid, version, rstatus = record["encounter_id"], record["record_version"], record["record_status"]
        self.new_versions.append(
            (eid, version, self.agency_id, rstatus, digest, body, status, json.dumps(messages), self.now)
        )
        self.held_versions[(eid, version)] = (self.agency_id, digest)
        if make_current:
            self.new_current[eid] = (eid, self.agency_id, version, rstatus, body, self.now)
            self.current_versions[eid] = (self.agency_id, version)

    def reject(self, record: Any, status: str, messages: list[Any]) -> None:
        """Keep a note of a refused record for the state's data team (the body is not kept)."""
        eid = record.get("encounter_id") if isinstance(record, dict) else None
        version = record.get("record_version") if isinstance(record, dict) else None
        self.rejections.append(
            (
                self.agency_id,
                eid if isinstance(eid, str) else None,
                version if isinstance(version, int) else None,
                status,
                json.dumps(messages),
                self.now,
            )
        )

    def flush(self) -> None:
        """Write everything new in a few statements."""
        conn = self.db.conn
        conn.executemany(
            "INSERT INTO submissions (encounter_id, record_version, agency_id, record_status, body_sha256,"
            " body, status, messages, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self.new_versions,
        )
        conn.executemany(
            "INSERT INTO current_records (encounter_id, agency_id, record_version, record_status, body,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(encounter_id) DO UPDATE SET"
            " record_version = excluded.record_version, record_status = excluded.record_status,"
            " body = excluded.body, updated_at = excluded.updated_at",
            list(self.new_current.values()),
        )
        conn.executemany(
            "UPDATE submissions SET times_received = times_received + 1"
            " WHERE encounter_id = ? AND record_version = ?",
            self.repeats,
        )
        conn.executemany(
            "INSERT INTO rejections (agency_id, encounter_id, record_version, status, messages, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            self.rejections,
        )


@contextmanager
def ingest_transaction(store: ReceiverStore, agency_id: str, encounter_ids: list[str]) -> Iterator[Ingest]:
    """Yield an Ingest inside one BEGIN IMMEDIATE transaction; its writes are flushed at the end."""
    db = store.connect()
    with immediate(db):
        ingest = Ingest(db, agency_id, encounter_ids)
        yield ingest
        ingest.flush()


def versions_held(db: sqlite_utils.Database, encounter_id: str, agency_id: str) -> dict[str, Any] | None:
    """Return every version held for an encounter of this agency and the current one, or None."""
    rows = db.execute(
        "SELECT record_version, record_status, body_sha256, status, times_received, received_at"
        " FROM submissions WHERE encounter_id = ? AND agency_id = ? ORDER BY record_version",
        [encounter_id, agency_id],
    ).fetchall()
    if not rows:
        return None
    current = db.execute(
        "SELECT record_version, record_status, body FROM current_records WHERE encounter_id = ?",
        [encounter_id],
    ).fetchone()
    keys = ("record_version", "record_status", "body_sha256", "status", "times_received", "received_at")
    return {
        "encounter_id": encounter_id,
        "agency_id": agency_id,
        "versions": [dict(zip(keys, row, strict=True)) for row in rows],
        "current": {
            "record_version": current[0],
            "record_status": current[1],
            "record": json.loads(current[2]),
        },
    }


def current_bodies(db: sqlite_utils.Database) -> Iterator[dict[str, Any]]:
    """Yield the current version of every encounter held (all agencies)."""
    for (body,) in db.execute("SELECT body FROM current_records"):
        yield json.loads(body)
