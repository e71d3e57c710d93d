"""Serving processes (`[server] workers` > 1) finalizing at the same moment share the database safely."""

from __future__ import annotations

import multiprocessing
from typing import Any

from flask import Flask

from app import audit, encounters, users
from app import db as app_db
from tests.conftest import encounter_body, valid_answers

PER_PROCESS = 15


def _finalize_many(database: str, ctx: encounters.RecordContext, username: str, first: int, out: Any) -> None:
    """Finalize PER_PROCESS encounters through the save service; put the ids saved (or the error) on out."""
    conn = app_db.connect(database)
    user = users.by_username(conn, username)
    assert user is not None
    try:
        saved = []
        for i in range(first, first + PER_PROCESS):
            body = encounter_body(valid_answers(hours_ago=2 + i / 60), status="final", acknowledged=["R21"])
            saved.append(encounters.save(conn, user, body, ctx=ctx).id)
        out.put(saved)
    except BaseException as error:  # noqa: BLE001  (reported by the test)
        out.put(repr(error))
    finally:
        conn.conn.close()


def test_two_serving_processes_finalizing_together_lose_nothing(app: Flask) -> None:
    fork = multiprocessing.get_context("fork")  # as `crewlog serve --workers 2` does
    out = fork.Queue()
    ctx = app.extensions["crewlog.records"]
    processes = [
        fork.Process(target=_finalize_many, args=(app.config["DATABASE"], ctx, name, n * PER_PROCESS, out))
        for n, name in enumerate(("rita", "ray", "rita", "ray"))
    ]
    for process in processes:
        process.start()
    results = [out.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    assert all(isinstance(r, list) for r in results), results  # no "database is locked", no other error
    saved = {encounter_id for r in results for encounter_id in r}
    assert len(saved) == 4 * PER_PROCESS
    check = app_db.connect(app.config["DATABASE"])
    assert check.execute("SELECT count(*) FROM encounters WHERE status = 'final'").fetchone()[0] == len(saved)
    assert check.execute("SELECT count(*) FROM outbox").fetchone()[0] == len(saved)
    assert audit.verify(check) is None
