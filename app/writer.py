"""One writer process for record saves, so saves from every serving process share commits.

Under load the saves, not the Python work, set the pace: each serving process committed
its own batches (one disk flush each) under the cross-process write lock, and inside that
lock the batch leader competed for its process's GIL with the threads still validating.
`crewlog serve` therefore starts one writer process: serving threads send it their
prepared writes over a local socket, and it runs whatever has arrived as one transaction,
one flush for all of them, then answers each sender with its own result or error.

The writer is an optimisation, never a single point of failure: when it cannot be
reached, or dies before answering, the save runs in the serving process as before
(`db.combined_write`). A write that did commit before the writer died is recognised
there as the same save resent (`encounters.write_save` checks the revision first).

Only processes of the same user may connect (SO_PEERCRED), since jobs are pickled.
The socket lives in Linux's abstract namespace; elsewhere no writer is started.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import secrets
import selectors
import socket
import struct
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from app import db as app_db

log = logging.getLogger(__name__)

T = TypeVar("T")
FRAME = struct.Struct("!I")
ANSWER_TIMEOUT_S = 60.0
PARENT_CHECK_S = 1.0
MAX_BATCH = app_db.MAX_BATCH


class WriterUnavailable(Exception):
    """The writer process could not take or finish this write; run it in this process."""


def available() -> bool:
    """Return whether this platform can run the writer (Linux abstract sockets, SO_PEERCRED)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_PEERCRED")


def address() -> str:
    """Return a new, unguessable socket address in the abstract namespace."""
    return f"\0crewlog-writer-{os.getpid()}-{secrets.token_hex(8)}"


def start(database: str | Path, where: str) -> Any:
    """Start the writer process for the database at `where` and route this process's saves to it."""
    ready = multiprocessing.get_context("spawn").Event()
    process = multiprocessing.get_context("spawn").Process(
        target=serve, args=(str(database), where, ready), name="crewlog-writer", daemon=True
    )
    process.start()
    if not ready.wait(30):
        process.kill()
        raise RuntimeError("the writer process did not start")
    use(database, where)
    return process


def use(database: str | Path, where: str) -> None:
    """Send this process's combined writes for the database to the writer at `where`."""
    db = app_db.connect(database)
    try:
        key = app_db.database_file(db)  # as combined_write will name it
    finally:
        db.conn.close()
    app_db.route_writes(key, Client(where).run)


# -- the serving side ------------------------------------------------------------------


class Client:
    """Sends writes to the writer, one connection per serving thread."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.local = threading.local()

    def run(self, work: Callable[[sqlite_utils.Database], T]) -> T:
        """Have the writer run work(db) in a shared transaction; return its result or raise its error."""
        frame = pickle.dumps(work, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            conn = self._connection()
            conn.sendall(FRAME.pack(len(frame)) + frame)
            outcome, value = pickle.loads(_read_frame(conn))  # noqa: S301  (our own writer: see _connection)
        except (OSError, EOFError, pickle.UnpicklingError) as error:
            self._forget()
            raise WriterUnavailable(str(error)) from error
        if outcome == "error":
            raise value
        result: T = value
        return result

    def _connection(self) -> socket.socket:
        held: _Held | None = getattr(self.local, "held", None)
        if held is None:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            held = _Held(conn)  # closes the socket when this thread ends
            conn.settimeout(ANSWER_TIMEOUT_S)
            conn.connect(self.where)
            if _peer_uid(conn) != os.getuid():  # answers are pickled too: only trust our own writer
                raise OSError("the writer socket belongs to another user")
            self.local.held = held
        return held.conn

    def _forget(self) -> None:
        self.local.held = None


class _Held:
    """One thread's connection to the writer, closed with the thread's other locals."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn

    def __del__(self) -> None:
        self.conn.close()


def _peer_uid(conn: socket.socket) -> int:
    _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    return int(uid)


def _read_frame(conn: socket.socket) -> bytes:
    head = _read_exactly(conn, FRAME.size)
    return _read_exactly(conn, FRAME.unpack(head)[0])


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = conn.recv(min(left, 1 << 20))
        if not chunk:
            raise EOFError("the writer closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# -- the writer process ----------------------------------------------------------------


def serve(database: str, where: str, ready: Any) -> None:
    """Run the writer: take jobs from every connection, write each round of them in one batch."""
    logging.basicConfig(level=logging.INFO)
    db = app_db.connect(database)
    gate = app_db.ProcessGate(database)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(where)
    listener.listen(256)
    listener.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    readers: dict[socket.socket, bytearray] = {}
    parent = os.getppid()
    ready.set()
    while os.getppid() == parent:  # never outlive the server that started it
        waiting: list[tuple[socket.socket, app_db.Job]] = []
        for key, _events in selector.select(timeout=PARENT_CHECK_S):
            if key.fileobj is listener:
                _accept(listener, selector, readers)
            else:
                waiting += _receive(key.fileobj, selector, readers)  # type: ignore[arg-type]
        for start in range(0, len(waiting), MAX_BATCH):
            _write_and_answer(db, gate, waiting[start : start + MAX_BATCH])


def _accept(listener: socket.socket, selector: selectors.BaseSelector, readers: dict[Any, bytearray]) -> None:
    try:
        conn, _ = listener.accept()
    except BlockingIOError:
        return
    uid = _peer_uid(conn)
    if uid != os.getuid():  # jobs are pickled: only this user's own processes may send them
        log.warning("refused a writer connection from uid %d", uid)
        conn.close()
        return
    conn.setblocking(False)
    selector.register(conn, selectors.EVENT_READ)
    readers[conn] = bytearray()


def _receive(
    conn: socket.socket, selector: selectors.BaseSelector, readers: dict[Any, bytearray]
) -> list[tuple[socket.socket, app_db.Job]]:
    """Read what the connection sent; return the complete jobs in it."""
    try:
        data = conn.recv(1 << 20)
    except (BlockingIOError, InterruptedError):
        return []
    except OSError:
        data = b""
    if not data:
        selector.unregister(conn)
        readers.pop(conn, None)
        conn.close()
        return []
    buffer = readers[conn]
    buffer += data
    jobs = []
    while len(buffer) >= FRAME.size and len(buffer) >= FRAME.size + FRAME.unpack_from(buffer)[0]:
        size = FRAME.unpack_from(buffer)[0]
        frame = bytes(buffer[FRAME.size : FRAME.size + size])
        del buffer[: FRAME.size + size]
        try:
            jobs.append((conn, app_db.Job(pickle.loads(frame))))  # noqa: S301  (peer checked in _accept)
        except Exception as error:  # answered as a failed write; the writer goes on
            _answer(conn, ("error", RuntimeError(f"the writer could not read this write: {error}")))
    return jobs


def _write_and_answer(
    db: sqlite_utils.Database, gate: app_db.ProcessGate, waiting: list[tuple[socket.socket, app_db.Job]]
) -> None:
    batch = [job for _conn, job in waiting]
    with gate.held():
        app_db.run_batch(db, batch)
    for conn, job in waiting:
        _answer(conn, ("error", job.error) if job.error is not None else ("ok", job.result))


def _answer(conn: socket.socket, answer: tuple[str, Any]) -> None:
    try:
        frame = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as error:  # an error that cannot be pickled still reaches its sender
        frame = pickle.dumps(("error", RuntimeError(f"write failed: {answer[1]!r} ({error})")))
    try:
        conn.setblocking(True)
        conn.settimeout(5)
        conn.sendall(FRAME.pack(len(frame)) + frame)
        conn.setblocking(False)
    except OSError:
        log.warning("a serving thread left before its write was answered")
