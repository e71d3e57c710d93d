"""SQLite access: connections with the pragmas Crewlog relies on, and write transactions.

Every writer uses `write_transaction` (BEGIN IMMEDIATE): a deferred BEGIN fails at once
with "database is locked" when several writers meet, while IMMEDIATE waits for the lock
up to busy_timeout.

With synchronous=FULL each COMMIT waits for the disk (about 4-9 ms on a shared virtual
disk), which would cap record saves at a few hundred a second. `combined_write` lets
concurrent savers share one transaction: the first to arrive leads, runs every queued
write inside one BEGIN IMMEDIATE ... COMMIT (each in its own SAVEPOINT when one of them
fails), and hands each caller its own result or error. Each write stays atomic; nothing
returns before it is durable.

Serving processes (`[server] workers` > 1) take turns through an exclusive flock on
`<database>-writer.lock` before BEGIN IMMEDIATE: the kernel wakes the next process the
moment the lock is free, where SQLite's busy handler would sleep 1, 2, 5, 10 ... ms
between retries and let the waiting process fall further behind.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils
from flask import current_app, g

try:
    import fcntl
except ImportError:  # Windows: SQLite's own busy handling orders the processes there
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
# `crewlog serve` checkpoints the WAL from a background thread (app/checkpoints.py); a save
# runs one itself only past this many pages (about 40 MB), e.g. when nothing else does.
FALLBACK_CHECKPOINT_PAGES = 10000
MAX_BATCH = 64
T = TypeVar("T")


def connect(path: str | Path) -> sqlite_utils.Database:
    """Open the database file with WAL, synchronous=FULL, busy_timeout, foreign keys and a far checkpoint."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA wal_autocheckpoint={FALLBACK_CHECKPOINT_PAGES}")
    return sqlite_utils.Database(conn)


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run the block in one BEGIN IMMEDIATE transaction: commit on success, roll back on error."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class ConnectionPool:
    """Open connections to one database file, lent to one request at a time.

    Reusing connections saves the open and pragmas per request, and keeps WAL mode from
    checkpointing and deleting the WAL file each time the last connection closes.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = path
        self._free: list[sqlite_utils.Database] = []
        self._lock = threading.Lock()

    def acquire(self) -> sqlite_utils.Database:
        """Return an idle connection, opening a new one when none is free."""
        with self._lock:
            if self._free:
                return self._free.pop()
        return connect(self.path)

    def release(self, db: sqlite_utils.Database) -> None:
        """Take a connection back (rolling back anything left open)."""
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        with self._lock:
            self._free.append(db)

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            free, self._free = self._free, []
        for db in free:
            db.conn.close()


def get_db() -> sqlite_utils.Database:
    """Return this request's connection, borrowing it from the app's pool on first use."""
    if "db" not in g:
        g.db = current_app.extensions["crewlog.pool"].acquire()
    db: sqlite_utils.Database = g.db
    return db


def close_db(_exc: BaseException | None = None) -> None:
    """Give this request's connection back to the pool, if one was borrowed."""
    db = g.pop("db", None)
    if db is not None:
        current_app.extensions["crewlog.pool"].release(db)


@dataclass
class Job:
    work: Callable[[sqlite_utils.Database], Any]
    wake: threading.Event = field(default_factory=threading.Event)
    done: bool = False
    lead: bool = False
    result: Any = None
    error: BaseException | None = None


class ProcessGate:
    """An exclusive flock on `<database>-writer.lock`: one process at a time writes a batch."""

    def __init__(self, database: str) -> None:
        self.path = f"{database}-writer.lock" if database and fcntl is not None else None
        self.fd = -1
        self.pid = -1

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for the block (waiting, without polling, while another process holds it)."""
        if self.path is None:
            yield
            return
        if self.pid != os.getpid():  # a descriptor inherited through fork() would share the lock
            self.fd, self.pid = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)


class _Combiner:
    """Shares one write transaction among the concurrent writers of one database file."""

    def __init__(self, database: str) -> None:
        self.lock = threading.Lock()
        self.pending: list[Job] = []
        self.leading = False
        self.gate = ProcessGate(database)

    def submit(self, db: sqlite_utils.Database, work: Callable[[sqlite_utils.Database], T]) -> T:
        """Queue the work, lead a batch when it is this caller's turn, and return its result."""
        job = Job(work)
        with self.lock:
            self.pending.append(job)
            job.lead = not self.leading
            self.leading = True
        while not job.done:
            if job.lead:
                self._lead(db)
            else:
                job.wake.wait()
                job.wake.clear()
        if job.error is not None:
            raise job.error
        result: T = job.result
        return result

    def _lead(self, db: sqlite_utils.Database) -> None:
        with self.lock:
            batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
        with self.gate.held():
            run_batch(db, batch)
        with self.lock:
            if self.pending:
                self.pending[0].lead = True
                self.pending[0].wake.set()
            else:
                self.leading = False
        for job in batch:
            job.done = True
            job.wake.set()


def run_batch(db: sqlite_utils.Database, batch: list[Job]) -> None:
    """Write the batch in one transaction; each job's error goes to that job's caller alone.

    Jobs almost never fail once validated, so the batch first runs without a SAVEPOINT per
    job (two statements fewer each, while the process gate is held). When one fails, the
    whole transaction is rolled back and the batch runs again with a SAVEPOINT around each
    job, so the others still commit.
    """
    try:
        if not _run_all_or_none(db, batch):
            _run_isolated(db, batch)
    except BaseException as error:  # the shared transaction failed: every job failed
        for job in batch:
            job.error = job.error or error


class _JobFailed(Exception):
    """A job failed in a batch run without savepoints: roll back and isolate the jobs."""


def _run_all_or_none(db: sqlite_utils.Database, batch: list[Job]) -> bool:
    """Run every job in one transaction; return False (nothing written) when one fails."""
    try:
        with write_transaction(db):
            for job in batch:
                try:
                    job.result = job.work(db)
                except Exception as error:
                    if len(batch) == 1:
                        job.error = error
                    raise _JobFailed from error
    except _JobFailed:
        return len(batch) == 1  # a lone job's error is its own; there is nothing else to write
    return True


def _run_isolated(db: sqlite_utils.Database, batch: list[Job]) -> None:
    with write_transaction(db):
        for index, job in enumerate(batch):
            db.execute(f"SAVEPOINT job{index}")
            try:
                job.result, job.error = job.work(db), None
                db.execute(f"RELEASE job{index}")
            except Exception as error:  # handed to the job's own caller
                db.execute(f"ROLLBACK TO job{index}")
                db.execute(f"RELEASE job{index}")
                job.error = error


_combiners: dict[str, _Combiner] = {}
_routes: dict[str, Callable[[Callable[[sqlite_utils.Database], Any]], Any]] = {}
_combiners_lock = threading.Lock()


def route_writes(database: str, send: Callable[[Callable[[sqlite_utils.Database], Any]], Any]) -> None:
    """Send this process's combined writes for one database file to `send` (the writer process)."""
    _routes[database] = send


def combined_write(db: sqlite_utils.Database, work: Callable[[sqlite_utils.Database], T]) -> T:
    """Run work(db) in a write transaction shared with concurrent writers of the same file.

    Under `crewlog serve` the writer process runs it (app/writer.py), so `work` must pickle:
    a module-level function, or a functools.partial of one with plain data. When the
    writer cannot be reached, the write runs here.
    """
    key = database_file(db)
    send = _routes.get(key)
    if send is not None:
        from app.writer import WriterUnavailable

        try:
            result: T = send(work)
            return result
        except WriterUnavailable as error:
            log.warning("writer process unavailable (%s); writing in this process", error)
    with _combiners_lock:
        combiner = _combiners.get(key)
        if combiner is None:
            combiner = _combiners[key] = _Combiner(key)
    return combiner.submit(db, work)


def database_file(db: sqlite_utils.Database) -> str:
    """Return the path of the database file behind a connection."""
    key = getattr(db, "_crewlog_file", None)
    if key is None:
        row = db.execute("PRAGMA database_list").fetchone()
        key = str(row[2]) if row else ""
        db._crewlog_file = key  # type: ignore[attr-defined]
    return str(key)
