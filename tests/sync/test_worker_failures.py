"""The worker pauses on refused credentials, honours throttling, halves batches, survives a kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sync import lease
from sync.delivery import full_jitter
from sync.status import resume, sync_status
from sync.storage import open_database
from sync.worker import Worker, run_once
from tests.sync.sync_builders import (
    ROOT,
    ReceiverProcess,
    drain,
    held,
    make_outbox,
    make_payload,
    outbox_states,
    settings_for,
)


def test_refused_token_pauses_the_queue_and_alerts_the_admin(
    healthy_receiver: ReceiverProcess, outbox_path: Path
) -> None:
    make_outbox(outbox_path, [make_payload() for _ in range(5)])
    audit: list[tuple[str, dict[str, Any]]] = []
    worker = Worker(
        outbox_path,
        settings_for(healthy_receiver.url, token="revoked"),
        audit=lambda action, details: audit.append((action, details)),
    )
    try:
        first = worker.run_once()
        second = worker.run_once()
    finally:
        worker.close()

    assert first.paused and "401" in first.paused
    assert second.stopped_by == "paused" and second.requests == 0
    status = sync_status(open_database(outbox_path))
    assert status["paused"] and "resume" in status["alert"]
    assert status["queue"]["pending"] == 5 and status["queue"]["quarantined"] == 0
    assert [action for action, _ in audit] == ["sync.paused"]

    assert resume(open_database(outbox_path))
    run_once(outbox_path, settings_for(healthy_receiver.url))
    assert outbox_states(outbox_path) == {"delivered": 5}


def test_token_of_another_agency_is_refused_and_pauses(
    healthy_receiver: ReceiverProcess, outbox_path: Path
) -> None:
    make_outbox(outbox_path, [make_payload()])
    report = run_once(outbox_path, settings_for(healthy_receiver.url, agency_id="ST-OTHER-0001"))
    assert report.paused and "403" in report.paused
    assert outbox_states(outbox_path) == {"pending": 1}


def test_throttled_worker_waits_as_long_as_retry_after_asks(
    receiver: ReceiverProcess, outbox_path: Path
) -> None:
    make_outbox(outbox_path, [make_payload() for _ in range(3)])
    receiver.faults(throttle_rate=1.0)
    try:
        before = time.time()
        report = run_once(outbox_path, settings_for(receiver.url, base_backoff_s=0.001, max_backoff_s=0.001))
    finally:
        receiver.faults(throttle_rate=0)

    assert report.stopped_by == "backoff" and report.delivered == 0
    status = sync_status(open_database(outbox_path))
    assert status["backoff_until"] >= before + 1.0  # Retry-After: 1, not the 1 ms backoff cap
    assert "429" in (status["last_error"] or "")
    again = run_once(outbox_path, settings_for(receiver.url))
    assert again.stopped_by == "backoff" and again.requests == 0


def test_network_failures_never_quarantine_a_record(tmp_path: Path, outbox_path: Path) -> None:
    make_outbox(outbox_path, [make_payload() for _ in range(3)])
    settings = settings_for("http://127.0.0.1:9", base_backoff_s=0.0, max_backoff_s=0.0)
    for _ in range(25):
        run_once(outbox_path, settings)
    status = sync_status(open_database(outbox_path))
    assert status["queue"] == {"pending": 3, "in_flight": 0, "delivered": 0, "quarantined": 0}
    assert status["consecutive_failures"] == 25


def test_backoff_is_full_jitter_exponential_and_capped() -> None:
    import random

    rng = random.Random(1)
    draws = {n: [full_jitter(n, 1.0, 60.0, rng) for _ in range(200)] for n in (1, 3, 10)}
    assert max(draws[1]) <= 1.0 and max(draws[3]) <= 4.0 and max(draws[10]) <= 60.0
    assert max(draws[10]) > 30.0 and min(draws[10]) < 10.0  # spread over the whole window


def test_batch_refused_as_too_large_is_halved_until_it_fits(tmp_path: Path, outbox_path: Path) -> None:
    receiver = ReceiverProcess(tmp_path / "state.sqlite", "--enforce-max-bytes", "40000").start()
    try:
        payloads = [make_payload() for _ in range(60)]
        make_outbox(outbox_path, payloads)
        report = run_once(outbox_path, settings_for(receiver.url, batch_size=60))
        assert report.delivered == 60 and report.quarantined == 0
        assert sorted(held(receiver.db).values()) == [1] * 60
    finally:
        receiver.stop()


def test_one_record_larger_than_the_state_accepts_is_quarantined(tmp_path: Path, outbox_path: Path) -> None:
    receiver = ReceiverProcess(tmp_path / "state.sqlite", "--enforce-max-bytes", "1000").start()
    try:
        make_outbox(outbox_path, [make_payload()])
        report = run_once(outbox_path, settings_for(receiver.url))
        assert report.quarantined == 1
        [item] = sync_status(open_database(outbox_path))["quarantined"]
        assert "larger than the state accepts" in item["error"]
    finally:
        receiver.stop()


def test_a_second_worker_stays_out_while_the_lease_is_held(
    healthy_receiver: ReceiverProcess, outbox_path: Path
) -> None:
    make_outbox(outbox_path, [make_payload()])
    db = open_database(outbox_path)
    assert lease.acquire(db, "another-process", ttl=60)
    report = run_once(outbox_path, settings_for(healthy_receiver.url))
    assert report.stopped_by == "lease" and outbox_states(outbox_path) == {"pending": 1}
    lease.release(db, "another-process")
    assert run_once(outbox_path, settings_for(healthy_receiver.url)).delivered == 1


WORKER_SCRIPT = """
import sys, threading
from sync.settings import SyncSettings
from sync.worker import run_forever
settings = SyncSettings(enabled=True, endpoint=sys.argv[2], token=sys.argv[3], agency_id=sys.argv[4],
                        batch_size=20, interval_seconds=0.1, lease_seconds=2.0, read_timeout_s=5.0)
run_forever(sys.argv[1], settings)
"""


def test_worker_killed_mid_batch_resends_after_restart_and_each_record_is_held_once(
    receiver: ReceiverProcess, outbox_path: Path
) -> None:
    from tests.sync.sync_builders import AGENCY, TOKEN

    payloads = [make_payload() for _ in range(200)]
    make_outbox(outbox_path, payloads)
    receiver.faults(slow_ms=150)
    args = [sys.executable, "-c", WORKER_SCRIPT, str(outbox_path), receiver.url, TOKEN, AGENCY]
    proc = subprocess.Popen(args, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            states = outbox_states(outbox_path)
            if states.get("delivered", 0) >= 40 and states.get("in_flight"):
                break
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        receiver.faults(slow_ms=0)
    stranded = outbox_states(outbox_path)
    assert stranded.get("in_flight") and stranded.get("pending")

    drain(outbox_path, settings_for(receiver.url), timeout=30)

    assert outbox_states(outbox_path) == {"delivered": 200}
    at_state = held(receiver.db)
    assert all((p["encounter_id"], 2) in at_state for p in payloads)
