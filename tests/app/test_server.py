"""Serving: rate-limited queue warnings, and keep-alive connections shared evenly between processes."""

from __future__ import annotations

import collections
import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from app import server
from app.server import EveryMinute
from tests.conftest import free_port


def queue_warning(depth: int) -> logging.LogRecord:
    return logging.LogRecord(
        "waitress.queue", logging.WARNING, __file__, 1, f"Task queue depth is {depth}", (), None
    )


def test_queue_depth_warnings_are_written_once_a_minute_with_a_count_of_the_rest() -> None:
    now = [1000.0]
    limit = EveryMinute(clock=lambda: now[0])
    written = []
    for depth in range(1, 41):  # forty busy moments in 20 seconds
        record = queue_warning(depth)
        if limit.filter(record):
            written.append(record.getMessage())
        now[0] += 0.5
    now[0] += 60
    last = queue_warning(3)
    assert limit.filter(last)
    assert written == ["Task queue depth is 1"]
    assert last.getMessage() == "Task queue depth is 3 (39 more since the last one written)"


def pid_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answer every request with the serving process's id."""
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture
def port() -> Iterator[int]:
    """Serve the pid app on a loopback port from two forked processes; yield the port."""
    port = free_port()
    serving = multiprocessing.get_context("fork").Process(
        target=server.serve,
        kwargs={"make_app": lambda: pid_app, "host": "127.0.0.1", "port": port, "threads": 2, "workers": 2},
        daemon=True,
    )
    serving.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the server did not start")
        time.sleep(0.5)  # both serving processes listening
        yield port
    finally:
        os.kill(serving.pid or 0, signal.SIGTERM)
        serving.join(10)


def ask_pid(conn: socket.socket) -> int:
    """Send one keep-alive GET on the connection; return the pid in the answer."""
    conn.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    answer = b""
    while b"\r\n\r\n" not in answer or not answer.split(b"\r\n\r\n", 1)[1]:
        answer += conn.recv(4096)
    return int(answer.split(b"\r\n\r\n", 1)[1])


def test_a_burst_of_keep_alive_connections_is_shared_evenly_between_serving_processes(port: int) -> None:
    connections = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(24)]
    pids = collections.Counter(ask_pid(conn) for conn in connections)
    assert len(pids) == 2
    assert max(pids.values()) - min(pids.values()) <= 2, pids  # a shared socket alone gave 17 and 7
    for conn in connections:
        conn.close()


def test_when_a_serving_process_dies_the_other_takes_every_new_connection(port: int) -> None:
    first = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(4)]
    victim, survivor = sorted({ask_pid(conn) for conn in first})
    os.kill(victim, signal.SIGKILL)
    time.sleep(0.5)  # the supervisor notices and takes it out of the balance
    later = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(8)]
    assert {ask_pid(conn) for conn in later} == {survivor}
    for conn in first + later:
        conn.close()
