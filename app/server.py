"""Serving the app with waitress, in one process or in several sharing one listening socket.

One Python process runs one request's Python code at a time, so on a machine with
several cores `[server] workers` > 1 forks that many serving processes after binding the
socket; the kernel spreads connections between them. SQLite (BEGIN IMMEDIATE, WAL) and
the sync lease already make every write safe across processes.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

QUEUE_WARNING_EVERY_S = 60.0
LEFT = 2**31 - 1  # the connection count of a serving process that has stopped
# asyncore_use_poll stays off: with a few dozen keep-alive connections per process waitress's
# poll() loop (a new poll object each turn) cost more than select() in the API load bench.
WAITRESS_OPTIONS: dict[str, Any] = {"ident": "Crewlog"}


class EveryMinute(logging.Filter):
    """Let one record through per QUEUE_WARNING_EVERY_S seconds, counting the ones held back.

    waitress warns "Task queue depth is N" on every request that finds no idle thread; with
    32 tablets on keep-alive connections that is most requests at peak, and writing each
    warning costs more than the request's own logging. One a minute keeps the signal.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.clock = clock
        self.next_at = 0.0
        self.held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        """Return whether to write the record (the first one in each minute)."""
        now = self.clock()
        if now < self.next_at:
            self.held += 1
            return False
        if self.held:
            record.msg = f"{record.msg} ({self.held} more since the last one written)"
        self.next_at, self.held = now + QUEUE_WARNING_EVERY_S, 0
        return True


def quiet_queue_warnings() -> None:
    """Rate-limit waitress's task queue warnings to one a minute (per process)."""
    queue_log = logging.getLogger("waitress.queue")
    if not any(isinstance(f, EveryMinute) for f in queue_log.filters):
        queue_log.addFilter(EveryMinute())


def listen(host: str, port: int) -> socket.socket:
    """Return a bound, listening TCP socket that child processes inherit."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def serve(
    make_app: Callable[[], Any],
    *,
    host: str,
    port: int,
    threads: int,
    workers: int,
    after_fork: Callable[[], None] | None = None,
    writer_for: str | None = None,
) -> None:
    """Serve until interrupted; with workers > 1, fork that many serving processes.

    With `writer_for` (a database file), saves to it go through one writer process
    (app/writer.py), started first so that every serving process inherits the route.
    """
    import waitress

    watch_writer = _start_writer(writer_for) if writer_for is not None else None
    sock = listen(host, port)
    print(
        f"Crewlog listening on http://{host}:{port} ({workers} process(es) x {threads} threads)", flush=True
    )
    if workers <= 1:
        if watch_writer:
            watch_writer()
        if after_fork:
            after_fork()
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop cleanly when asked to
        quiet_queue_warnings()
        with contextlib.suppress(KeyboardInterrupt):
            waitress.serve(make_app(), sockets=[sock], threads=threads, **WAITRESS_OPTIONS)
        return
    shares = ConnectionShares(workers)
    children = [_fork_worker(make_app, sock, threads, shares, n) for n in range(workers)]
    sock.close()
    if watch_writer:
        watch_writer()  # threads start only after forking
    if after_fork:
        after_fork()
    _supervise(children, shares)


def _start_writer(database: str) -> Callable[[], None] | None:
    """Start the writer process; return what starts watching it (call once the forking is done).

    Without a writer (another platform, or it failed to start) each serving process writes
    its own saves, as it also does whenever the writer is down.
    """
    from app import writer

    if not writer.available():
        log.info("no writer process on this platform: each serving process writes its own saves")
        return None
    where = writer.address()
    try:
        first = writer.start(database, where)
    except (OSError, RuntimeError):
        log.exception("the writer process did not start: each serving process writes its own saves")
        return None
    stopping = threading.Event()
    atexit.register(stopping.set)  # runs before multiprocessing stops the writer at exit

    def keep_writing() -> None:
        running, failures = first, 0
        while True:
            if running is not None:
                running.join()
            if stopping.is_set():
                return
            log.warning("the writer process is not running; starting it again")
            time.sleep(min(60, 2**failures))  # 1 s, then backing off while it keeps failing
            try:
                running, failures = writer.start(database, where), 0
            except (OSError, RuntimeError):
                log.exception("the writer process did not start; trying again")
                running, failures = None, failures + 1

    return lambda: threading.Thread(target=keep_writing, name="crewlog-writer-watch", daemon=True).start()


def _fork_worker(
    make_app: Callable[[], Any], sock: socket.socket, threads: int, shares: ConnectionShares, index: int
) -> int:
    pid = os.fork()
    if pid:
        return pid
    import waitress.server

    code = 0
    try:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        quiet_queue_warnings()
        server = waitress.server.create_server(
            make_app(), sockets=[sock], threads=threads, **WAITRESS_OPTIONS
        )
        shares.balance(server, index)
        server.run()
    except SystemExit:
        pass
    except BaseException:
        log.exception("serving process failed")
        code = 1
    os._exit(code)


class ConnectionShares:
    """How many connections each serving process holds, in memory the processes share.

    Tablets keep their connections open, so whichever process accepts a connection serves
    everything sent on it. With a plain shared socket the kernel hands a burst of new
    connections to whichever process wakes first (19 and 13 of 32 in the load bench), and
    the busier process, one core at most, becomes the bottleneck while the other idles.
    A process therefore offers to accept only while it holds no more connections than the
    least loaded one; the others still accept when it is busy and leaves them waiting.
    """

    def __init__(self, workers: int) -> None:
        import multiprocessing

        self.counts = multiprocessing.RawArray("i", workers)  # inherited by the forked processes

    def balance(self, server: Any, index: int) -> None:
        """Make a waitress server's listener accept only while its process has the fewest connections."""
        listens = server.readable
        fixed = len(server._map)  # the listener and waitress's wake-up trigger
        counts = memoryview(self.counts).cast("B").cast("i")  # read without ctypes on every loop turn

        def readable() -> bool:
            held = len(server._map) - fixed
            counts[index] = held
            return bool(listens()) and held <= min(counts)

        server.readable = readable

    def leave(self, index: int) -> None:
        """Take a stopped process out of the balance, so the others never wait on its count."""
        self.counts[index] = LEFT


def _supervise(children: list[int], shares: ConnectionShares) -> None:
    def stop(*_: Any) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def stop_and_exit(*_: Any) -> None:
        stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop_and_exit)
    running = set(children)
    try:
        while running:
            for pid in list(running):
                if os.waitpid(pid, os.WNOHANG)[0]:
                    running.discard(pid)
                    shares.leave(children.index(pid))
                    log.warning("serving process %d stopped; %d still serving", pid, len(running))
            time.sleep(0.5)
    except KeyboardInterrupt:
        stop()
