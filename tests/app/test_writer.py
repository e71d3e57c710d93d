"""The writer process: saves from many threads share its transactions; when it is gone, nothing is lost."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path

import pytest
import requests
import sqlite_utils

from app import db as app_db
from app import shifts, units, users, writer
from tests.conftest import csrf_from, encounter_body, free_port, valid_answers

PASSWORD = "writer-test-password-1"

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


def children_of(pid: int) -> list[int]:
    """Return the child processes of every thread of the process."""
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            children += [int(p) for p in (task / "children").read_text().split()]
    return children


def writer_pid(server: int) -> int | None:
    """Return the pid of the server's writer process (spawned by multiprocessing), if one runs."""
    for child in children_of(server):
        with contextlib.suppress(OSError):
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():  # not the resource tracker
                return child
    return None


def written_bytes(pid: int) -> int:
    """Return how many bytes the process has written so far (/proc/<pid>/io wchar)."""
    fields = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    return int(fields["wchar"])


def logged_in(base: str) -> tuple[requests.Session, str]:
    """Log the responder in through the login form; return the session and an API CSRF token."""
    session = requests.Session()
    token = csrf_from(session.get(f"{base}/login", timeout=10).text)
    form = {"username": "rita", "password": PASSWORD, "csrf_token": token}
    answer = session.post(f"{base}/login", data=form, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    return session, session.get(f"{base}/api/v1/csrf", timeout=10).json()["csrf_token"]


def finalize(base: str, session: requests.Session, token: str) -> int:
    body = encounter_body(valid_answers(), status="final", acknowledged=["R21"])
    answer = session.post(f"{base}/api/v1/encounters", json=body, headers={"X-CSRFToken": token}, timeout=30)
    return answer.status_code


def test_crewlog_serve_saves_through_its_writer_and_goes_on_when_the_writer_dies(tmp_path: Path) -> None:
    config = tmp_path / "crewlog.toml"
    config.write_text(f'[server]\ninstance_path = "{tmp_path / "instance"}"\nworkers = 2\n'
                      "[security]\nsecure_cookies = false\n", encoding="utf-8")  # fmt: skip
    crewlog = [str(Path(sys.executable).parent / "crewlog"), "--config", str(config)]
    subprocess.run([*crewlog, "init"], check=True, capture_output=True)
    database = str(tmp_path / "instance" / "crewlog.sqlite")
    conn = app_db.connect(database)
    unit = units.create(conn, "CR-1", program_model="community_responder", home_county="08031")
    rita = users.create(conn, "rita", PASSWORD, "responder", team_role="peer_support")
    shifts.start(conn, unit.id, rita.id, [{"user_id": rita.id, "name": "rita", "team_role": "peer_support"}])
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen([*crewlog, "serve", "--host", "127.0.0.1", "--port", str(port)],
                              stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        session, token = logged_in(wait_for(base))
        first = writer_pid(server.pid)
        assert first is not None
        before = written_bytes(first)
        assert finalize(base, session, token) == 201
        assert written_bytes(first) > before  # the writer process wrote the save
        os.kill(first, signal.SIGKILL)
        assert finalize(base, session, token) == 201  # written by the serving process meanwhile
        deadline = time.monotonic() + 20
        while writer_pid(server.pid) in (None, first) and time.monotonic() < deadline:
            time.sleep(0.1)
        again = writer_pid(server.pid)
        assert again not in (None, first)
        assert finalize(base, session, token) == 201
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
    rows = conn.execute(
        "SELECT count(*), count(DISTINCT id) FROM encounters WHERE status = 'final'"
    ).fetchone()
    assert rows == (3, 3)


def wait_for(base: str) -> str:
    """Wait up to 20 s for the server's health check; return its base URL."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{base}/healthz", timeout=2).ok:
                return base
        time.sleep(0.1)
    raise AssertionError("crewlog serve did not start")
