"""Storage: PII encrypted at rest, a tamper-evident audit log, migrations, concurrent writers."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlite_utils
from flask import Flask

from app import audit, encounters, migrations, users
from app import db as app_db
from app.crypto import Keys, compact_json, current_key_id
from app.db import write_transaction
from tests.conftest import ApiClient, encounter_body, valid_answers


def database_bytes(app: Flask) -> bytes:
    """Return the bytes of the database file and its WAL, where recent writes live."""
    path = Path(app.config["DATABASE"])
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def test_identifying_answers_are_not_in_the_database_file_in_plaintext(
    app: Flask, login_as: ApiClient
) -> None:
    api = login_as("responder")
    answers = valid_answers(
        narrative="Found Jonathan Quinceyworth near the bus shelter.", psap_incident_id="CAD-7781234"
    )
    answers["persons"][0]["person_local_id"] = "CL-991177"
    assert api.save(answers, status="final", acknowledged=["R21"]).status_code == 201
    stored = database_bytes(app)
    for secret in (b"Quinceyworth", b"CL-991177", b"CAD-7781234", b"80205"):
        assert secret not in stored
    assert b"well_person_check" in stored  # coded, non-identifying answers stay queryable


def test_encrypted_answers_cannot_be_moved_to_another_record(
    app: Flask, login_as: ApiClient, db: sqlite_utils.Database
) -> None:
    api = login_as("responder")
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    api.save({"narrative": "Private words"}, encounter_id=first)
    api.save({"narrative": "Other words"}, encounter_id=second)
    db.execute(
        "UPDATE encounters SET answers = (SELECT answers FROM encounters WHERE id = ?) WHERE id = ?",
        [first, second],
    )
    keys = Keys.load(Path(app.config["SETTINGS"]["server"]["instance_path"]))
    with pytest.raises(ValueError, match="does not match its key or record"):
        encounters.get(db, second, keys=keys)


def test_key_files_are_readable_by_the_owner_only(app: Flask) -> None:
    instance = Path(app.config["SETTINGS"]["server"]["instance_path"])
    for name in ("secret_key", "data.key", f"agency-hmac-{current_key_id()}.key"):
        assert (instance / name).stat().st_mode & 0o777 == 0o600


def test_audit_log_verifies_when_untouched(db: sqlite_utils.Database) -> None:
    for n in range(5):
        audit.record(db, "rita", "encounter.save", f"e{n}", {"n": n})
    assert audit.verify(db) is None


def test_audit_verify_detects_a_row_changed_with_raw_sqlite(app: Flask, db: sqlite_utils.Database) -> None:
    ids = [audit.record(db, "rita", "login.success", "rita") for _ in range(4)]
    with sqlite3.connect(app.config["DATABASE"]) as raw:
        raw.execute("UPDATE audit_log SET actor = 'mallory' WHERE id = ?", [ids[2]])
    problem = audit.verify(db)
    assert problem is not None and problem.row_id == ids[2]
    assert "was changed" in problem.reason


def test_audit_verify_detects_a_deleted_row(app: Flask, db: sqlite_utils.Database) -> None:
    ids = [audit.record(db, "rita", "encounter.view", "x") for _ in range(4)]
    with sqlite3.connect(app.config["DATABASE"]) as raw:
        raw.execute("DELETE FROM audit_log WHERE id = ?", [ids[1]])
    problem = audit.verify(db)
    assert problem is not None and problem.row_id == ids[1] and "deleted" in problem.reason


def test_audit_verify_detects_the_last_row_deleted(app: Flask, db: sqlite_utils.Database) -> None:
    ids = [audit.record(db, "rita", "encounter.view", "x") for _ in range(3)]
    with sqlite3.connect(app.config["DATABASE"]) as raw:
        raw.execute("DELETE FROM audit_log WHERE id = ?", [ids[-1]])
    problem = audit.verify(db)
    assert problem is not None and problem.row_id == ids[-1]


def test_migrations_are_recorded_and_rerunning_them_changes_nothing(db: sqlite_utils.Database) -> None:
    assert migrations.migrate(db) == []
    versions = [r[0] for r in db.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [v for v, _ in migrations.MIGRATIONS]
    assert {"encounters", "encounter_revisions", "audit_log", "outbox", "templates"} <= set(db.table_names())


def test_connections_use_wal_full_sync_busy_timeout_and_foreign_keys(db: sqlite_utils.Database) -> None:
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_failed_write_transaction_leaves_nothing_behind(db: sqlite_utils.Database) -> None:
    with pytest.raises(RuntimeError), write_transaction(db):
        audit.record(db, "rita", "encounter.save", "x")
        raise RuntimeError("crash mid-transaction")
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == 0


def test_eight_concurrent_writers_lose_nothing_and_never_see_database_locked(app: Flask) -> None:
    ctx = app.extensions["crewlog.records"]
    errors: list[BaseException] = []
    saved: list[str] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        conn = app_db.connect(app.config["DATABASE"])
        user = users.by_username(conn, "rita" if n % 2 else "ray")
        assert user is not None
        try:
            for i in range(25):
                body = encounter_body(
                    valid_answers(hours_ago=2 + (n * 25 + i) / 60), status="final", acknowledged=["R21"]
                )
                result = encounters.save(conn, user, body, ctx=ctx)
                with lock:
                    saved.append(result.id)
        except BaseException as error:  # noqa: BLE001  (reported below)
            errors.append(error)
        finally:
            conn.conn.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    check = app_db.connect(app.config["DATABASE"])
    assert check.execute("SELECT count(*) FROM encounters WHERE status = 'final'").fetchone()[0] == 200
    assert check.execute("SELECT count(*) FROM outbox").fetchone()[0] == 200
    assert check.execute("SELECT count(DISTINCT encounter_id) FROM encounter_revisions").fetchone()[0] == 200
    assert audit.verify(check) is None
    assert len(set(saved)) == 200


def test_a_failing_write_in_a_shared_batch_fails_alone_and_leaves_no_trace(tmp_path: Path) -> None:
    path = tmp_path / "batch.sqlite"
    setup = app_db.connect(path)
    setup.execute("CREATE TABLE notes (n INTEGER PRIMARY KEY, text TEXT NOT NULL)")
    gate = threading.Event()
    results: dict[int, object] = {}

    def note(n: int) -> Callable[[sqlite_utils.Database], int]:
        def work(conn: sqlite_utils.Database) -> int:
            if n == 0:
                gate.wait(10)  # the first writer leads; the others queue behind it meanwhile
            conn.execute("INSERT INTO notes (n, text) VALUES (?, ?)", [n, f"note {n}"])
            if n % 3 == 1:
                raise ValueError(f"note {n} refused after writing")  # its row must not stay
            return n

        return work

    def writer(n: int) -> None:
        conn = app_db.connect(path)
        try:
            results[n] = app_db.combined_write(conn, note(n))
        except ValueError as error:
            results[n] = error
        finally:
            conn.conn.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(7)]
    key = str(path.resolve())
    threads[0].start()
    while key not in app_db._combiners or not app_db._combiners[key].leading:
        time.sleep(0.001)
    for thread in threads[1:]:
        thread.start()
    while len(app_db._combiners[key].pending) < 6:  # every other writer waits in the next batch
        time.sleep(0.001)
    gate.set()
    for thread in threads:
        thread.join()
    refused = {n for n, r in results.items() if isinstance(r, ValueError)}
    assert refused == {1, 4}
    assert all(str(results[n]) == f"note {n} refused after writing" for n in refused)
    assert {n: r for n, r in results.items() if n not in refused} == {0: 0, 2: 2, 3: 3, 5: 5, 6: 6}
    stored = [row[0] for row in setup.execute("SELECT n FROM notes ORDER BY n").fetchall()]
    assert stored == [0, 2, 3, 5, 6]


def test_stored_json_is_compact_keeps_text_as_typed_and_takes_integers_past_64_bits() -> None:
    assert compact_json({"narrative": "Señora Núñez, 2 años", "n": 3}) == (
        '{"narrative":"Señora Núñez, 2 años","n":3}'.encode()
    )
    assert compact_json({"n": 10**30}) == b'{"n":1000000000000000000000000000000}'  # orjson refuses these
