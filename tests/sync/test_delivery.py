"""The worker delivers outbox records to a real receiver process exactly once, whatever goes wrong."""

from __future__ import annotations

import json
import time
from pathlib import Path

from sync.status import sync_status
from sync.storage import open_database
from sync.worker import run_once
from tests.sync.sync_builders import (
    ReceiverProcess,
    drain,
    held,
    make_outbox,
    make_payload,
    outbox_states,
    settings_for,
    template,
)


def test_every_record_arrives_at_the_state_exactly_once(
    healthy_receiver: ReceiverProcess, outbox_path: Path
) -> None:
    payloads = [make_payload() for _ in range(250)]
    make_outbox(outbox_path, payloads)

    report = run_once(outbox_path, settings_for(healthy_receiver.url, batch_size=100))

    assert report.delivered == 250 and report.requests == 1 + 3  # GET /v1/limits, then 3 batches
    assert outbox_states(outbox_path) == {"delivered": 250}
    at_state = held(healthy_receiver.db)
    assert all(at_state[(p["encounter_id"], 2)] == 1 for p in payloads)


def test_sending_again_is_harmless_and_answered_as_duplicate(
    healthy_receiver: ReceiverProcess, tmp_path: Path
) -> None:
    payloads = [make_payload() for _ in range(5)]
    first, second = make_outbox(tmp_path / "a.sqlite", payloads), make_outbox(tmp_path / "b.sqlite", payloads)

    run_once(first, settings_for(healthy_receiver.url))
    run_once(second, settings_for(healthy_receiver.url))

    db = open_database(second)
    statuses = {json.loads(r[0])["status"] for r in db.execute("SELECT response FROM outbox").fetchall()}
    assert statuses == {"duplicate"}
    assert [held(healthy_receiver.db)[(p["encounter_id"], 2)] for p in payloads] == [2] * 5


def test_amended_version_supersedes_and_an_older_one_is_ignored(
    healthy_receiver: ReceiverProcess, outbox_path: Path
) -> None:
    v2 = make_payload(record_version=2, record_status="amended")
    v1 = dict(v2, record_version=1, record_status="final")
    make_outbox(outbox_path, [v2, v1])

    run_once(outbox_path, settings_for(healthy_receiver.url))

    state = healthy_receiver.get(f"/v1/submissions/{v2['encounter_id']}").json()
    assert state["current"]["record_version"] == 2
    assert [v["status"] for v in state["versions"]] == ["superseded_ignored", "accepted"]
    assert outbox_states(outbox_path) == {"delivered": 2}


def test_voided_record_retracts_the_encounter_at_the_state(
    healthy_receiver: ReceiverProcess, outbox_path: Path
) -> None:
    final = make_payload(record_version=1, record_status="final")
    voided = dict(final, record_version=2, record_status="voided")
    make_outbox(outbox_path, [final, voided])

    run_once(outbox_path, settings_for(healthy_receiver.url))

    state = healthy_receiver.get(f"/v1/submissions/{final['encounter_id']}").json()
    assert state["current"]["record_status"] == "voided"
    assert [v["record_version"] for v in state["versions"]] == [1, 2]


def test_rejected_record_is_quarantined_with_the_states_messages_while_the_rest_flow(
    healthy_receiver: ReceiverProcess, outbox_path: Path
) -> None:
    good = [make_payload() for _ in range(20)]
    bad = make_payload(call_source="carrier_pigeon")
    make_outbox(outbox_path, good[:10] + [bad] + good[10:])

    report = run_once(outbox_path, settings_for(healthy_receiver.url, batch_size=7))

    assert report.delivered == 20 and report.quarantined == 1
    status = sync_status(open_database(outbox_path))
    [item] = status["quarantined"]
    assert item["encounter_id"] == bad["encounter_id"] and item["status"] == "rejected"
    assert item["messages"][0]["field"] == "call_source"
    assert "carrier_pigeon" in item["messages"][0]["message"]
    assert (bad["encounter_id"], 2) not in held(healthy_receiver.db)


def test_records_wait_while_the_receiver_is_down_and_all_arrive_once_it_is_back(
    tmp_path: Path, outbox_path: Path
) -> None:
    receiver = ReceiverProcess(tmp_path / "state.sqlite").start()
    port = receiver.port
    receiver.stop()
    payloads = [make_payload() for _ in range(60)]
    make_outbox(outbox_path, payloads)
    settings = settings_for(f"http://127.0.0.1:{port}", batch_size=25)

    for _ in range(5):
        report = run_once(outbox_path, settings)
        assert report.delivered == 0 and report.stopped_by in ("backoff", "idle")
        time.sleep(0.35)
    status = sync_status(open_database(outbox_path))
    assert status["queue"]["pending"] == 60 and status["queue"]["quarantined"] == 0
    assert "ConnectionError" in (status["last_error"] or "")

    receiver = ReceiverProcess(tmp_path / "state.sqlite", port=port).start()
    try:
        drain(outbox_path, settings)
        assert outbox_states(outbox_path) == {"delivered": 60}
        assert sorted(held(receiver.db).values()) == [1] * 60
    finally:
        receiver.stop()


def test_receiver_switched_down_at_runtime_then_up_loses_nothing(
    receiver: ReceiverProcess, outbox_path: Path
) -> None:
    payloads = [make_payload() for _ in range(30)]
    make_outbox(outbox_path, payloads)
    receiver.faults(down=True)
    report = run_once(outbox_path, settings_for(receiver.url))
    assert report.delivered == 0 and outbox_states(outbox_path) == {"pending": 30}

    receiver.faults(down=False)
    drain(outbox_path, settings_for(receiver.url))

    assert outbox_states(outbox_path) == {"delivered": 30}
    at_state = held(receiver.db)
    assert all(at_state[(p["encounter_id"], 2)] == 1 for p in payloads)


def test_two_thousand_records_arrive_exactly_once_through_thirty_percent_faults(
    receiver: ReceiverProcess, outbox_path: Path
) -> None:
    payloads = [make_payload() for _ in range(2000)]
    make_outbox(outbox_path, payloads)
    receiver.faults(fail_rate=0.1, timeout_rate=0.05, reset_rate=0.1, throttle_rate=0.05, seed=7, hang_s=1.0)
    try:
        reports = drain(
            outbox_path, settings_for(receiver.url, batch_size=200, read_timeout_s=0.5), timeout=90
        )
    finally:
        injected = receiver.faults(fail_rate=0, timeout_rate=0, reset_rate=0, throttle_rate=0)["injected"]

    assert outbox_states(outbox_path) == {"delivered": 2000}
    at_state = held(receiver.db)
    assert all((p["encounter_id"], 2) in at_state for p in payloads)
    assert sum(r.failures for r in reports) > 0 and len(injected) >= 3
    statuses = {
        json.loads(r[0])["status"]
        for r in open_database(outbox_path).execute("SELECT response FROM outbox").fetchall()
    }
    assert statuses <= {"accepted", "duplicate"}


def test_payloads_at_the_state_hold_no_never_or_identifying_field(
    healthy_receiver: ReceiverProcess, outbox_path: Path
) -> None:
    tpl = template()
    forbidden = {f.id for f in tpl.fields.values() if f.to_state == "never" or f.privacy == "pii"}
    make_outbox(outbox_path, [make_payload() for _ in range(10)])
    run_once(outbox_path, settings_for(healthy_receiver.url))

    db = open_database(healthy_receiver.db)
    bodies = [json.loads(b) for (b,) in db.execute("SELECT body FROM submissions").fetchall()]
    keys = {k for body in bodies for k in body}
    keys |= {k for body in bodies for row in body["persons"] for k in row}
    assert len(bodies) >= 10 and "encounter_id" in keys and "age_band" in keys
    assert keys & forbidden == set()
    text = "\n".join(json.dumps(b) for b in bodies)
    assert "J. Doe" not in text and "Champa" not in text and "CL-004417" not in text


def test_worker_thread_started_from_the_app_config_delivers_and_audits(
    healthy_receiver: ReceiverProcess, outbox_path: Path
) -> None:
    from sync.worker import run_in_thread, wake_workers

    make_outbox(outbox_path, [])
    settings = settings_for(healthy_receiver.url, interval_seconds=30.0)
    config = {
        "sync": {
            k: getattr(settings, k) for k in ("enabled", "endpoint", "token", "agency_id", "interval_seconds")
        },
        "database": {"path": str(outbox_path)},
    }
    audit: list[str] = []
    thread = run_in_thread(config, audit=lambda action, details: audit.append(action))
    assert thread is not None
    try:
        time.sleep(0.3)  # the thread is now asleep for its 30 s interval
        payloads = [make_payload() for _ in range(3)]
        make_outbox(outbox_path, payloads)
        wake_workers()  # what the app calls after a finalize
        deadline = time.monotonic() + 10
        while outbox_states(outbox_path).get("delivered", 0) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        thread.stop()
    assert outbox_states(outbox_path) == {"delivered": 3}
    assert "sync.delivered" in audit and not thread.is_alive()


def test_worker_thread_is_not_started_when_sync_is_off(outbox_path: Path) -> None:
    from sync.worker import run_in_thread

    assert run_in_thread({"sync": {"enabled": False}, "database": {"path": str(outbox_path)}}) is None
