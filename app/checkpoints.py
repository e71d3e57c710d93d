"""WAL checkpoints in the background, so a record save never waits for one.

In WAL mode every commit appends to the `-wal` file; a checkpoint copies those pages into
the database file and syncs it. SQLite's automatic checkpoint runs inside the COMMIT of
whichever save crosses the threshold (1,000 pages by default): under load that save, and
every save queued behind the write lock, waits for tens of milliseconds of disk.

`crewlog serve` therefore runs a PASSIVE checkpoint from one background thread every
CHECKPOINT_EVERY_S seconds. A passive checkpoint takes no write lock, so saves go on while
it runs. Connections keep an automatic checkpoint as a fallback, at a far higher threshold
(`db.FALLBACK_CHECKPOINT_PAGES`), so the WAL stays bounded even without this thread.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import sqlite_utils

from app.db import connect

log = logging.getLogger(__name__)

CHECKPOINT_EVERY_S = 1.0


def checkpoint(db: sqlite_utils.Database) -> tuple[int, int]:
    """Run one passive checkpoint; return (pages in the WAL, pages copied to the database file)."""
    _busy, in_wal, copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(in_wal), int(copied)


def run_in_thread(path: str | Path, every_s: float = CHECKPOINT_EVERY_S) -> threading.Event:
    """Checkpoint the database every `every_s` seconds from a daemon thread; set the event to stop."""
    stop = threading.Event()

    def loop() -> None:
        db = connect(path)
        try:
            while not stop.wait(every_s):
                try:
                    checkpoint(db)
                except Exception:  # retried next time; saves never depend on it
                    log.exception("WAL checkpoint failed")
        finally:
            db.conn.close()

    threading.Thread(target=loop, name="crewlog-checkpoints", daemon=True).start()
    return stop
