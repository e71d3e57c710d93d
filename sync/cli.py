"""`crewlog sync ...` and `crewlog receiver ...`: subcommands the app's CLI delegates to.

Either hand over the remaining arguments:

    sync.cli.main(["status"], settings)             # crewlog sync status
    sync.receiver.cli.main(["--port", "8090", ...])  # crewlog receiver ...

or add the subcommands to the app's own argparse parser:

    sync_cli.add_sync_commands(subparsers)          # adds "sync" and "receiver"
    if args.command in sync_cli.COMMANDS:
        return sync_cli.handle(args, settings, settings["database"]["path"])
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sync.settings import SyncSettings, database_path

COMMANDS = ("sync", "receiver")


def main(
    argv: Sequence[str], settings: SyncSettings | Mapping[str, Any], db_path: str | Path | None = None
) -> int:
    """Run `crewlog sync ARGS` given the arguments after "sync" and the app's settings."""
    parser = argparse.ArgumentParser(prog="crewlog sync", description="Sync records with the state.")
    add_sync_arguments(parser)
    args = parser.parse_args(list(argv))
    args.command = "sync"
    if db_path is None:
        if isinstance(settings, SyncSettings):
            parser.error("no database path given")
        db_path = database_path(settings)
    return handle(args, settings, db_path)


def add_sync_commands(subparsers: Any) -> None:
    """Add the `sync` and `receiver` subcommands to an argparse subparsers object."""
    from sync.receiver.cli import add_arguments

    add_sync_arguments(subparsers.add_parser("sync", help="send finalized records to the state"))
    add_arguments(subparsers.add_parser("receiver", help="run the reference state receiver"))


def add_sync_arguments(sync: argparse.ArgumentParser) -> None:
    """Add the options and actions of `crewlog sync` to a parser."""
    sync.add_argument("--once", action="store_true", help="drain what is due now and exit")
    actions = sync.add_subparsers(dest="sync_action", metavar="ACTION")
    status = actions.add_parser("status", help="queue depth, errors, pause and quarantine")
    status.add_argument("--json", action="store_true", help="print JSON")
    requeue = actions.add_parser("requeue", help="send a quarantined record again")
    requeue.add_argument("outbox_id", type=int)
    actions.add_parser("resume", help="clear a pause after fixing the endpoint or token")
    reconcile = actions.add_parser("reconcile", help="compare one encounter with what the state holds")
    reconcile.add_argument("encounter_id")
    actions.add_parser("pull-template", help="fetch the state's current template now")


def handle(args: argparse.Namespace, settings: SyncSettings | Mapping[str, Any], db_path: str | Path) -> int:
    """Run a `sync` or `receiver` command; return the exit code."""
    if args.command == "receiver":
        from sync.receiver.cli import run

        return run(args)
    config = settings if isinstance(settings, SyncSettings) else SyncSettings.from_config(settings)
    action = getattr(args, "sync_action", None)
    if action is None:
        return _drain(config, db_path, once=args.once)
    return _ACTIONS[action](args, config, db_path)


def _drain(settings: SyncSettings, db_path: str | Path, once: bool) -> int:
    from sync.worker import run_forever, run_once

    if not settings.enabled or not settings.endpoint:
        print("sync is off: set [sync] enabled = true and endpoint", file=sys.stderr)
        return 2
    if not once:
        run_forever(db_path, settings)
        return 0
    report = run_once(db_path, settings)
    print(json.dumps(report.to_json(), indent=2))
    return 1 if report.paused or report.stopped_by in ("backoff", "lease_lost") else 0


def _status(args: argparse.Namespace, settings: SyncSettings, db_path: str | Path) -> int:
    from sync.status import sync_status

    status = sync_status(_db(db_path))
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    print(format_status(status))
    return 0


def format_status(status: Mapping[str, Any]) -> str:
    """Return the sync status as lines a person reads."""
    queue = status["queue"]
    lines = [
        f"queue: {queue['pending']} pending, {queue['in_flight']} in flight, "
        f"{queue['delivered']} delivered, {queue['quarantined']} quarantined"
    ]
    if status["oldest_pending_age_s"] is not None:
        lines.append(f"oldest waiting record: {status['oldest_pending_age_s']:.0f} s old")
    lines.append(f"last success: {_when(status['last_success_at'])}")
    if status["last_error"]:
        lines.append(f"last error ({_when(status['last_error_at'])}): {status['last_error']}")
    if status["paused"]:
        lines.append(f"PAUSED: {status['alert'] or status['paused']}  (fix, then: crewlog sync resume)")
    for item in status["quarantined"]:
        lines.append(
            f"quarantined #{item['outbox_id']} {item['encounter_id']} v{item['record_version']}: "
            f"{item['error']}"
        )
    return "\n".join(lines)


def _when(at: float | None) -> str:
    return "never" if at is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


def _requeue(args: argparse.Namespace, settings: SyncSettings, db_path: str | Path) -> int:
    from sync.status import requeue

    if requeue(_db(db_path), args.outbox_id):
        print(f"outbox row {args.outbox_id} will be sent again")
        return 0
    print(f"outbox row {args.outbox_id} is not quarantined or waiting", file=sys.stderr)
    return 1


def _resume(args: argparse.Namespace, settings: SyncSettings, db_path: str | Path) -> int:
    from sync.status import resume

    print("sync resumed" if resume(_db(db_path)) else "sync was not paused")
    return 0


def _reconcile(args: argparse.Namespace, settings: SyncSettings, db_path: str | Path) -> int:
    from sync.client import SyncFailure
    from sync.status import reconcile

    try:
        print(json.dumps(reconcile(_db(db_path), settings, args.encounter_id), indent=2))
    except SyncFailure as exc:
        print(f"reconcile failed: {exc}", file=sys.stderr)
        return 1
    return 0


def _pull_template(args: argparse.Namespace, settings: SyncSettings, db_path: str | Path) -> int:
    from sync.client import StateClient, SyncFailure
    from sync.template_pull import pull_template

    client = StateClient(settings)
    try:
        version = pull_template(_db(db_path), client)
    except SyncFailure as exc:
        print(f"template pull failed: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(f"new template stored: {version} (activate it as admin)" if version else "no new template")
    return 0


def _db(db_path: str | Path) -> Any:
    from sync.outbox import create_outbox_tables
    from sync.storage import open_database

    db = open_database(db_path)
    create_outbox_tables(db)
    return db


_ACTIONS = {
    "status": _status,
    "requeue": _requeue,
    "resume": _resume,
    "reconcile": _reconcile,
    "pull-template": _pull_template,
}
