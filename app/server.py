"""Serving the app with waitress, in one process or in several sharing one listening socket.

One Python process runs one request's Python code at a time, so on a machine with
several cores `[server] workers` > 1 forks that many serving processes after binding the
socket; the kernel spreads connections between them. SQLite (BEGIN IMMEDIATE, WAL) and
the sync lease already make every write safe across processes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


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
) -> None:
    """Serve until interrupted; with workers > 1, fork that many serving processes."""
    import waitress

    sock = listen(host, port)
    print(
        f"Crewlog listening on http://{host}:{port} ({workers} process(es) x {threads} threads)", flush=True
    )
    if workers <= 1:
        if after_fork:
            after_fork()
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop cleanly when asked to
        with contextlib.suppress(KeyboardInterrupt):
            waitress.serve(make_app(), sockets=[sock], threads=threads, ident="Crewlog")
        return
    children = [_fork_worker(make_app, sock, threads) for _ in range(workers)]
    sock.close()
    if after_fork:
        after_fork()  # threads (the sync worker) start only after forking
    _supervise(children)


def _fork_worker(make_app: Callable[[], Any], sock: socket.socket, threads: int) -> int:
    pid = os.fork()
    if pid:
        return pid
    import waitress

    code = 0
    try:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        waitress.serve(make_app(), sockets=[sock], threads=threads, ident="Crewlog")
    except SystemExit:
        pass
    except BaseException:
        log.exception("serving process failed")
        code = 1
    os._exit(code)


def _supervise(children: list[int]) -> None:
    def stop(*_: Any) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def stop_and_exit(*_: Any) -> None:
        stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop_and_exit)
    try:
        for pid in children:
            os.waitpid(pid, 0)
    except KeyboardInterrupt:
        stop()
