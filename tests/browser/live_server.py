"""The real Crewlog app served by waitress on a loopback port, with faults the tests switch on.

`Faults` sits in front of the app like a misbehaving proxy: it can answer the next encounter
saves with an error before they reach the app, or let the app commit and then lose the answer.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from waitress.server import create_server

SAVE_PATH = "/api/v1/encounters"
Environ = dict[str, Any]
StartResponse = Callable[..., Any]


@dataclass
class Faults:
    """Failures to apply to the next POSTs of encounters, and a log of every such POST."""

    app: Any
    planned: list[tuple[int, bool]] = field(default_factory=list)
    saves: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, count: int, status: int = 500, *, after_commit: bool = False) -> None:
        """Answer the next `count` saves with `status`; after_commit lets the app save first."""
        with self.lock:
            self.planned += [(status, after_commit)] * count

    def clear(self) -> None:
        """Stop failing and forget the log."""
        with self.lock:
            self.planned.clear()
            self.saves.clear()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        """Serve a request, failing it when a fault is planned for it."""
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != SAVE_PATH:
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        with self.lock:
            fault = self.planned.pop(0) if self.planned else None
        if fault is None:
            return self._logged(environ, start_response)
        status, after_commit = fault
        if after_commit:
            list(self.app(environ, lambda *a, **k: None))
        self.saves.append(status)
        start_response(f"{status} Injected", [("Content-Type", "application/json")])
        return [b'{"code": %d, "error": "injected", "message": "Injected failure."}' % status]

    def _logged(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        def record(status: str, headers: Any, *rest: Any) -> Any:
            self.saves.append(int(status.split()[0]))
            return start_response(status, headers, *rest)

        return self.app(environ, record)  # type: ignore[no-any-return]


@dataclass
class LiveServer:
    """A running server: its base URL, the Flask app, the faults and the database file."""

    url: str
    app: Flask
    faults: Faults
    database: Path
    stop: Callable[[], None]

    def encounters(self, username: str) -> list[dict[str, Any]]:
        """Return the encounters a user created, as the server stored them."""
        with sqlite3.connect(self.database) as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute(
                "SELECT e.id, e.status, e.revision FROM encounters e JOIN users u ON u.id = e.created_by"
                " WHERE u.username = ? ORDER BY e.id",
                [username],
            ).fetchall()
        return [dict(r) for r in rows]


def serve(app: Flask) -> LiveServer:
    """Start serving the app on a free loopback port in a background thread."""
    faults = Faults(app.wsgi_app)
    server = create_server(faults, host="127.0.0.1", port=0, threads=4, clear_untrusted_proxy_headers=True)
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()

    def stop() -> None:
        server.close()
        thread.join(timeout=5)

    port = server.effective_port  # type: ignore[union-attr]
    return LiveServer(f"http://127.0.0.1:{port}", app, faults, Path(app.config["DATABASE"]), stop)
