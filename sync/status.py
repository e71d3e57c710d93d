"""Sync health for admins: queue depth, errors, pause and alert, quarantine; requeue and reconcile."""

from __future__ import annotations

import json
import time
from typing import Any

import sqlite_utils

from sync import outbox
from sync.canonical import body_hash
from sync.client import StateClient
from sync.settings import SyncSettings
from sync.storage import immediate


def get_value(db: sqlite_utils.Database, key: str) -> str | None:
    """Return one sync_state value, or None."""
    row = db.execute("SELECT value FROM sync_state WHERE key = ?", [key]).fetchone()
    return None if row is None else row[0]


def set_values(db: sqlite_utils.Database, values: dict[str, Any]) -> None:
    """Store sync_state values (None deletes); the caller may or may not hold a transaction."""
    for key, value in values.items():
        if value is None:
            db.execute("DELETE FROM sync_state WHERE key = ?", [key])
        else:
            db.execute(
                "INSERT INTO sync_state (key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, str(value)],
            )


def sync_status(db: sqlite_utils.Database, now: float | None = None) -> dict[str, Any]:
    """Return the queue depth by state, ages, last success and error, pause/alert and the quarantine."""
    now = time.time() if now is None else now
    counts = dict.fromkeys(outbox.OUTBOX_STATES, 0)
    counts.update(dict(db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall()))
    oldest_sql = "SELECT MIN(created_at) FROM outbox WHERE state IN ('pending', 'in_flight')"
    oldest = db.execute(oldest_sql).fetchone()[0]
    kv = dict(db.execute("SELECT key, value FROM sync_state").fetchall())
    return {
        "queue": counts,
        "oldest_pending_age_s": None if oldest is None else round(now - oldest, 1),
        "last_success_at": _float(kv.get("last_success_at")),
        "last_error": kv.get("last_error"),
        "last_error_at": _float(kv.get("last_error_at")),
        "consecutive_failures": int(kv.get("consecutive_failures") or 0),
        "backoff_until": _float(kv.get("backoff_until")),
        "paused": kv.get("paused"),
        "alert": kv.get("alert"),
        "alert_at": _float(kv.get("alert_at")),
        "quarantined": quarantined(db),
        "templates": fetched_templates(db),
    }


def quarantined(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Return the quarantined records with the state's messages, oldest first."""
    rows = db.execute(
        "SELECT id, encounter_id, record_version, last_error, response, attempts, updated_at"
        " FROM outbox WHERE state = 'quarantined' ORDER BY id"
    ).fetchall()
    result = []
    for row_id, encounter_id, version, error, response, attempts, updated in rows:
        answer = json.loads(response) if response else {}
        result.append(
            {
                "outbox_id": row_id,
                "encounter_id": encounter_id,
                "record_version": version,
                "status": answer.get("status"),
                "messages": answer.get("messages", []),
                "error": error,
                "attempts": attempts,
                "quarantined_at": updated,
            }
        )
    return result


def fetched_templates(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Return the template versions pulled from the state, newest first (none is auto-activated)."""
    sql = "SELECT etag, version, fetched_at FROM sync_templates ORDER BY fetched_at DESC"
    rows = db.execute(sql).fetchall()
    return [{"etag": etag, "version": version, "fetched_at": at} for etag, version, at in rows]


def requeue(db: sqlite_utils.Database, outbox_id: int) -> bool:
    """Send a quarantined record again at the next run; return False when no such row waits."""
    with immediate(db):
        return outbox.requeue(db, outbox_id)


def resume(db: sqlite_utils.Database) -> bool:
    """Clear a pause and its alert (after the admin fixed the credentials); return whether one was set."""
    with immediate(db):
        was_paused = get_value(db, "paused") is not None
        set_values(
            db,
            {
                "paused": None,
                "alert": None,
                "alert_at": None,
                "backoff_until": None,
                "consecutive_failures": None,
            },
        )
    return was_paused


def reconcile(db: sqlite_utils.Database, settings: SyncSettings, encounter_id: str) -> dict[str, Any]:
    """Compare what the state holds for an encounter with the outbox; requeue versions it lacks."""
    client = StateClient(settings)
    try:
        held = client.submission(encounter_id) or {"versions": []}
    finally:
        client.close()
    held_hashes = {int(v["record_version"]): v.get("body_sha256") for v in held.get("versions", [])}
    report: dict[str, Any] = {"encounter_id": encounter_id, "state": held, "versions": []}
    rows = db.execute(
        "SELECT id, record_version, state, payload FROM outbox WHERE encounter_id = ?"
        " ORDER BY record_version",
        [encounter_id],
    ).fetchall()
    for row_id, version, state, payload in rows:
        report["versions"].append(_reconcile_row(db, row_id, version, state, payload, held_hashes))
    return report


def _reconcile_row(
    db: sqlite_utils.Database,
    row_id: int,
    version: int,
    state: str,
    payload: str,
    held: dict[int, str | None],
) -> dict[str, Any]:
    ours = body_hash(json.loads(payload))
    entry: dict[str, Any] = {
        "outbox_id": row_id,
        "record_version": version,
        "local_state": state,
        "state_holds": version in held,
        "same_body": held.get(version) == ours,
    }
    if state == "delivered" and version not in held and not any(v > version for v in held):
        with immediate(db):
            db.execute("UPDATE outbox SET state = 'pending', next_attempt_at = 0 WHERE id = ?", [row_id])
        entry["action"] = "requeued: the state does not hold it"
    return entry


def _float(value: str | None) -> float | None:
    return None if value is None else float(value)
