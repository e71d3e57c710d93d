"""The writer process: saves from many threads share its transactions; when it is gone, nothing is lost."""

from __future__ import annotations

import os
import signal
import threading
import time
from functools import partial
from pathlib import Path

import pytest
import sqlite_utils

from app import db as app_db
from app import writer

pytestmark = pytest.mark.skipif(not writer.available(), reason="the writer process needs Linux")


def add_note(n: int, conn: sqlite_utils.Database) -> tuple[int, int]:
    """Insert note n; refuse every note divisible by 7 after writing it. Return (n, writing pid)."""
    conn.execute("INSERT INTO notes (n) VALUES (?)", [n])
    if n % 7 == 0:
        raise ValueError(f"note {n} refused")
    return n, os.getpid()


@pytest.fixture
def database(tmp_path: Path) -> str:
    path = str(tmp_path / "crewlog.sqlite")
    app_db.connect(path).execute("CREATE TABLE notes (n INTEGER PRIMARY KEY)")
    yield path
    app_db._routes.clear()


def write_many(path: str, numbers: range, threads: int = 8) -> dict[int, object]:
    """Write each note through combined_write from several threads; return each note's outcome."""
    outcomes: dict[int, object] = {}

    def run(mine: list[int]) -> None:
        conn = app_db.connect(path)
        for n in mine:
            try:
                outcomes[n] = app_db.combined_write(conn, partial(add_note, n))
            except ValueError as error:
                outcomes[n] = error
        conn.conn.close()

    workers = [threading.Thread(target=run, args=(list(numbers)[k::threads],)) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return outcomes


def stored(path: str) -> set[int]:
    return {row[0] for row in app_db.connect(path).execute("SELECT n FROM notes").fetchall()}


def test_writes_from_many_threads_run_in_the_writer_process_each_with_its_own_outcome(database: str) -> None:
    process = writer.start(database, writer.address())
    try:
        outcomes = write_many(database, range(1, 201))
    finally:
        process.kill()
    refused = {n for n in range(1, 201) if n % 7 == 0}
    assert {n for n, o in outcomes.items() if isinstance(o, ValueError)} == refused
    assert all(str(outcomes[n]) == f"note {n} refused" for n in refused)
    assert {o[1] for o in outcomes.values() if isinstance(o, tuple)} == {process.pid}  # not this process
    assert stored(database) == set(range(1, 201)) - refused  # a refused note left nothing behind


def test_with_the_writer_gone_saves_are_written_here_and_none_is_lost(database: str) -> None:
    process = writer.start(database, writer.address())
    first = write_many(database, range(1, 41))
    os.kill(process.pid, signal.SIGKILL)
    process.join(10)
    later = write_many(database, range(41, 81))
    assert {o[1] for o in first.values() if isinstance(o, tuple)} == {process.pid}
    assert {o[1] for o in later.values() if isinstance(o, tuple)} == {os.getpid()}
    assert stored(database) == {n for n in range(1, 81) if n % 7}


def test_a_restarted_writer_at_the_same_address_takes_the_saves_again(database: str) -> None:
    where = writer.address()
    process = writer.start(database, where)
    write_many(database, range(1, 11), threads=2)
    process.kill()
    process.join(10)
    write_many(database, range(11, 21), threads=2)  # written here meanwhile
    again = writer.start(database, where)
    try:
        deadline = time.monotonic() + 10
        outcomes: dict[int, object] = {}
        while time.monotonic() < deadline:
            outcomes = write_many(database, range(21, 23), threads=1)
            if {o[1] for o in outcomes.values() if isinstance(o, tuple)} == {again.pid}:
                break
            app_db.connect(database).execute("DELETE FROM notes WHERE n IN (21, 22)")
        assert {o[1] for o in outcomes.values() if isinstance(o, tuple)} == {again.pid}
    finally:
        again.kill()
    assert stored(database) == {n for n in range(1, 23) if n % 7}
