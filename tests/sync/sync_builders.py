"""Builders for sync tests: payloads shaped from the worked example, outbox files, receiver processes."""

from __future__ import annotations

import copy
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from forms.loader import load_shipped_template
from forms.model import Template
from forms.payload import shape_payload
from sync.outbox import create_outbox_tables, enqueue
from sync.settings import SyncSettings
from sync.storage import immediate, open_database
from tests.forms import worked_example

ROOT = Path(__file__).resolve().parents[2]
AGENCY = "ST-CR-0042"
TOKEN = "state-token-for-tests"


WORKED = worked_example


def template() -> Template:
    """Return the shipped template."""
    return load_shipped_template()


def make_answers(**overrides: Any) -> dict[str, Any]:
    """Return stored answers of a fresh encounter (the worked example with a new id), with overrides."""
    answers = copy.deepcopy(WORKED.answers())
    answers["encounter_id"] = str(uuid.uuid4())
    answers.update(overrides)
    return answers


def make_payload(**overrides: Any) -> dict[str, Any]:
    """Return a payload shaped by forms.payload from fresh answers; overrides apply to the payload."""
    payload = shape_payload(
        template(),
        make_answers(),
        hmac_key=WORKED.HMAC_KEY,
        hmac_key_id=WORKED.HMAC_KEY_ID,
        extended=WORKED.EXTENDED,
    )
    payload.update(overrides)
    return payload


def make_outbox(path: Path, payloads: list[dict[str, Any]]) -> Path:
    """Create an outbox database file holding the payloads, pending."""
    db = open_database(path)
    create_outbox_tables(db)
    with immediate(db):
        for payload in payloads:
            enqueue(db, payload["encounter_id"], payload["record_version"], payload)
    db.conn.close()
    return path


def outbox_states(path: Path) -> dict[str, int]:
    """Return the count of outbox rows per state."""
    db = open_database(path)
    try:
        return dict(db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall())
    finally:
        db.conn.close()


def settings_for(url: str, **overrides: Any) -> SyncSettings:
    """Return worker settings for a loopback receiver, tuned for quick tests."""
    values: dict[str, Any] = dict(
        enabled=True,
        endpoint=url,
        token=TOKEN,
        agency_id=AGENCY,
        batch_size=100,
        connect_timeout_s=1.0,
        read_timeout_s=2.0,
        base_backoff_s=0.02,
        max_backoff_s=0.3,
        lease_seconds=3.0,
        interval_seconds=0.2,
    )
    values.update(overrides)
    return SyncSettings(**values)


class ReceiverProcess:
    """`python -m sync.receiver` in a subprocess on a loopback port."""

    def __init__(self, db: Path, *extra: str, port: int = 0) -> None:
        self.db, self.extra, self.port = db, extra, port
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        """Return the base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ReceiverProcess:
        """Start the receiver and wait until it listens."""
        args = [
            sys.executable,
            "-m",
            "sync.receiver",
            "--port",
            str(self.port),
            "--db",
            str(self.db),
            "--token",
            f"{TOKEN}:{AGENCY}",
            "--allow-fault-control",
            *self.extra,
        ]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = re.search(r":(\d+)$", line.strip())
        assert match, f"receiver did not start: {line!r}"
        self.port = int(match.group(1))
        return self

    def stop(self) -> None:
        """Stop the receiver (SIGKILL: it plays a crash)."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None

    def faults(self, **settings: Any) -> dict[str, Any]:
        """Change fault settings at runtime."""
        response = requests.post(f"{self.url}/_faults", json=settings, timeout=5)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        """GET a path with the agency token."""
        headers = {"Authorization": f"Bearer {TOKEN}", **kwargs.pop("headers", {})}
        return requests.get(self.url + path, headers=headers, timeout=5, **kwargs)

    def post(self, path: str, body: Any, token: str = TOKEN) -> requests.Response:
        """POST JSON with a token."""
        return requests.post(
            self.url + path,
            data=json.dumps(body),
            timeout=10,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )


def held(db_path: Path) -> dict[tuple[str, int], int]:
    """Return {(encounter_id, version): times_received} of everything the receiver holds."""
    db = open_database(db_path)
    try:
        rows = db.execute("SELECT encounter_id, record_version, times_received FROM submissions").fetchall()
        return {(r[0], r[1]): r[2] for r in rows}
    finally:
        db.conn.close()


def drain(db_path: Path, settings: SyncSettings, timeout: float = 60.0) -> list[Any]:
    """Run the worker until nothing is pending or in flight (or the timeout); return the reports."""
    from sync.worker import Worker

    worker = Worker(db_path, settings)
    reports = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            report = worker.run_once()
            reports.append(report)
            states = outbox_states(db_path)
            if not states.get("pending") and not states.get("in_flight"):
                return reports
            if report.paused:
                return reports
            time.sleep(min(worker.seconds_until_due(report), 1.0))
    finally:
        worker.close()
    raise AssertionError(f"outbox not drained in {timeout} s: {outbox_states(db_path)}")
