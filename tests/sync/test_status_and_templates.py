"""Admins see sync health, requeue quarantined records, reconcile, and get new state templates."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import requests

from sync import cli as sync_cli
from sync.client import StateClient
from sync.status import reconcile, requeue, sync_status
from sync.storage import open_database
from sync.template_pull import pull_template
from sync.worker import run_once
from tests.sync.sync_builders import (
    ReceiverProcess,
    make_outbox,
    make_payload,
    outbox_states,
    settings_for,
    template,
)


def test_status_reports_queue_depth_and_oldest_waiting_record(outbox_path: Path) -> None:
    make_outbox(outbox_path, [make_payload() for _ in range(4)])
    status = sync_status(open_database(outbox_path))
    assert status["queue"] == {"pending": 4, "in_flight": 0, "delivered": 0, "quarantined": 0}
    assert status["oldest_pending_age_s"] is not None and status["last_success_at"] is None
    assert status["paused"] is None and status["quarantined"] == []


def test_quarantined_record_can_be_requeued_after_the_state_fixes_its_side(
    healthy_receiver: ReceiverProcess, outbox_path: Path
) -> None:
    make_outbox(outbox_path, [make_payload(template_version="2099.1")])
    run_once(outbox_path, settings_for(healthy_receiver.url))
    [item] = sync_status(open_database(outbox_path))["quarantined"]

    source = template().to_json()
    newer = json.loads(json.dumps(source))
    newer["template"]["version"] = "2099.1"
    assert requests.post(healthy_receiver.url + "/_template", json=newer, timeout=10).status_code == 200
    try:
        assert requeue(open_database(outbox_path), item["outbox_id"])
        run_once(outbox_path, settings_for(healthy_receiver.url))
    finally:
        requests.post(healthy_receiver.url + "/_template", json=source, timeout=10)
    assert outbox_states(outbox_path) == {"delivered": 1}
    assert not requeue(open_database(outbox_path), item["outbox_id"])


def test_reconcile_resends_a_delivered_version_the_state_does_not_hold(
    tmp_path: Path, outbox_path: Path
) -> None:
    payload = make_payload()
    make_outbox(outbox_path, [payload])
    first = ReceiverProcess(tmp_path / "lost.sqlite").start()
    try:
        run_once(outbox_path, settings_for(first.url))
    finally:
        first.stop()
    second = ReceiverProcess(tmp_path / "restored-from-old-backup.sqlite").start()
    try:
        report = reconcile(open_database(outbox_path), settings_for(second.url), payload["encounter_id"])
        assert report["versions"][0]["action"].startswith("requeued")
        run_once(outbox_path, settings_for(second.url))
        again = reconcile(open_database(outbox_path), settings_for(second.url), payload["encounter_id"])
    finally:
        second.stop()
    assert again["versions"][0] == {
        "outbox_id": 1,
        "record_version": 2,
        "local_state": "delivered",
        "state_holds": True,
        "same_body": True,
    }


def test_new_state_template_is_stored_once_and_never_activated(
    healthy_receiver: ReceiverProcess, outbox_path: Path
) -> None:
    make_outbox(outbox_path, [])
    db = open_database(outbox_path)
    client = StateClient(settings_for(healthy_receiver.url))
    source = template().to_json()
    newer = json.loads(json.dumps(source))
    newer["template"]["version"] = "2027.1"
    try:
        assert pull_template(db, client) == "state-standard 2026.1"
        assert pull_template(db, client) is None  # 304: unchanged
        requests.post(healthy_receiver.url + "/_template", json=newer, timeout=10)
        assert pull_template(db, client) == "state-standard 2027.1"
    finally:
        requests.post(healthy_receiver.url + "/_template", json=source, timeout=10)
        client.close()
    versions = [t["version"] for t in sync_status(db)["templates"]]
    assert versions == ["state-standard 2027.1", "state-standard 2026.1"]


def test_invalid_state_template_is_not_stored_and_the_error_is_shown(outbox_path: Path) -> None:
    from sync.template_pull import _checked_version

    make_outbox(outbox_path, [])
    db = open_database(outbox_path)
    assert _checked_version(db, {"template": {"id": "x"}}) is None
    assert "invalid" in (sync_status(db)["last_error"] or "")


def _cli(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="crewlog")
    sync_cli.add_sync_commands(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_cli_status_and_once_print_what_an_admin_needs(
    healthy_receiver: ReceiverProcess, outbox_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    robot = make_payload()
    robot["persons"][0]["sex"] = "robot"
    make_outbox(outbox_path, [make_payload(), robot])
    settings = settings_for(healthy_receiver.url)
    config = {
        "sync": {k: getattr(settings, k) for k in ("enabled", "endpoint", "token", "agency_id")},
        "database": {"path": str(outbox_path)},
    }

    assert sync_cli.handle(_cli("sync", "--once"), config, outbox_path) == 0
    assert sync_cli.main(["status"], config) == 0  # as `crewlog sync status` hands it over
    out = capsys.readouterr().out
    assert "1 delivered, 1 quarantined" in out and "robot" in out
    assert sync_cli.handle(_cli("sync", "requeue", "999"), config, outbox_path) == 1


def test_cli_refuses_to_drain_when_sync_is_off(outbox_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert sync_cli.handle(_cli("sync", "--once"), {"sync": {"enabled": False}}, outbox_path) == 2
    assert "sync is off" in capsys.readouterr().err
