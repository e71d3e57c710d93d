"""WAL checkpoints: saves leave them to a background thread; the WAL still stays bounded."""

from __future__ import annotations

import time
from pathlib import Path

import sqlite_utils

from app import checkpoints
from app.db import FALLBACK_CHECKPOINT_PAGES, connect, write_transaction


def fill(db: sqlite_utils.Database, rows: int) -> None:
    """Commit `rows` transactions of one 3 KB row each."""
    db.execute("CREATE TABLE IF NOT EXISTS notes (text TEXT)")
    for n in range(rows):
        with write_transaction(db):
            db.execute("INSERT INTO notes (text) VALUES (?)", [f"{n:06d}" * 500])


def test_saves_do_not_checkpoint_before_the_fallback_threshold(tmp_path: Path) -> None:
    db = connect(
        tmp_path / "crewlog.sqlite"
    )  # open throughout, as in a server (closing the last one checkpoints)
    fill(db, 1500)  # some 1,500 pages: past SQLite's default 1,000, under the fallback
    assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == FALLBACK_CHECKPOINT_PAGES
    in_wal, copied = checkpoints.checkpoint(db)
    assert in_wal >= 1500  # nothing was checkpointed on the way
    assert copied == in_wal  # and one passive checkpoint, with no reader in the way, copies it all


def test_the_background_thread_checkpoints_what_the_saves_wrote(tmp_path: Path) -> None:
    path = tmp_path / "crewlog.sqlite"
    db = connect(path)
    fill(db, 300)  # about 1 MB, all of it in the WAL so far
    assert path.stat().st_size < 100_000
    stop = checkpoints.run_in_thread(path, every_s=0.05)
    try:
        deadline = time.monotonic() + 10
        while path.stat().st_size < 900_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_size >= 900_000  # the pages reached the database file
        fill(db, 5)  # saves go on meanwhile
        assert db.execute("SELECT count(*) FROM notes").fetchone()[0] == 305
    finally:
        stop.set()
