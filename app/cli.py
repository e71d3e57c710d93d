"""The `crewlog` command: set up an instance, run the server, manage users, units and templates."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from app import audit, checkpoints, config, migrations, template_versions, units, users
from app.cli_parser import build_parser
from app.crypto import write_private_file
from app.db import connect, write_transaction

log = logging.getLogger(__name__)


class CliError(Exception):
    """A command failed for a reason the user can fix; the message says how."""


@dataclass
class Instance:
    """The settings of this invocation and, once opened, its migrated database."""

    settings: config.Settings
    _db: sqlite_utils.Database | None = field(default=None, repr=False)

    @property
    def db(self) -> sqlite_utils.Database:
        """Return the database, migrated; refuse when the instance was never initialised."""
        if self._db is None:
            path = Path(self.settings["database"]["path"])
            if not path.exists():
                raise CliError(f"no database at {path}: run `crewlog init` first")
            self._db = connect(path)
            migrations.migrate(self._db)
        return self._db

    def close(self) -> None:
        """Close the database if it was opened."""
        if self._db is not None:
            self._db.conn.close()


def cmd_init(args: argparse.Namespace, inst: Instance) -> int:
    """Create the instance folder, its keys (0600), the database, and activate the template."""
    from app.crypto import generate_keys

    server = inst.settings["server"]
    instance = Path(server["instance_path"])
    instance.mkdir(parents=True, exist_ok=True)
    for path in generate_keys(instance, Path(server["secret_key_file"])):
        print(f"created key {path}")
    inst._db = connect(inst.settings["database"]["path"])
    applied = migrations.migrate(inst._db)
    print(
        f"database {inst.settings['database']['path']}: migrations applied {applied or 'none (up to date)'}"
    )
    template = template_versions.ensure_active(inst.db, inst.settings["template"]["path"])
    print(f"active template: {template.id} {template.version}")
    return 0


def cmd_serve(args: argparse.Namespace, inst: Instance) -> int:
    """Serve the app with waitress (and the sync worker when [sync] enabled)."""
    from app import create_app, server

    app = create_app({"CONFIG_FILE": args.config} if args.config else None)
    settings = app.config["SETTINGS"]["server"]
    server.serve(
        lambda: app,
        host=args.host or settings["host"],
        port=args.port if args.port is not None else settings["port"],
        threads=settings["threads"],
        workers=args.workers or settings["workers"],
        after_fork=lambda: _start_background_work(app.config["SETTINGS"]),
        writer_for=app.config["SETTINGS"]["database"]["path"] if settings["writer_process"] else None,
    )
    return 0


def _start_background_work(settings: config.Settings) -> None:
    checkpoints.run_in_thread(settings["database"]["path"])
    _start_sync_worker(settings)


def _start_sync_worker(settings: config.Settings) -> None:
    if not settings["sync"]["enabled"]:
        return
    try:
        worker = importlib.import_module("sync.worker")
    except ImportError:
        log.warning("sync is enabled but sync.worker is not available: records stay in the outbox")
        return
    db = connect(settings["database"]["path"])

    def record(action: str, details: dict[str, Any]) -> None:
        audit.record(db, "sync", action, details.get("encounter_id"), details)

    worker.run_in_thread(settings, audit=record)


def cmd_user(args: argparse.Namespace, inst: Instance) -> int:
    """Add, list, disable, enable users or reset a password."""
    db = inst.db
    if args.user_command == "list":
        for u in users.list_all(db):
            state = "active" if u.active else "disabled"
            print(f"{u.username}\t{u.role}\t{u.team_role or '-'}\t{state}\t{u.display_name}")
        return 0
    if args.user_command in ("disable", "enable"):
        with write_transaction(db):
            users.set_active(db, args.username, args.user_command == "enable")
            audit.record(db, "cli", f"user.{args.user_command}", args.username)
        print(f"user {args.username} {args.user_command}d")
        return 0
    password, generated = _password(args)
    with write_transaction(db):
        if args.user_command == "add":
            _check_code(db, "completed_by_role", args.team_role, "team role")
            users.create(
                db,
                args.username,
                password,
                args.role,
                display_name=args.display_name or "",
                team_role=args.team_role,
            )
            audit.record(db, "cli", "user.add", args.username, {"role": args.role})
        else:
            users.set_password(db, args.username, password)
            audit.record(db, "cli", "user.reset_password", args.username)
    print(f"user {args.username}: password set" + (f" to {password}" if generated else ""))
    return 0


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    if args.password_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise CliError("no password on standard input")
        return line, False
    return users.generate_password(), True


def _check_code(db: sqlite_utils.Database, field_id: str, value: str | None, what: str) -> None:
    """Refuse a value that is not a code of the list behind a field of the active template."""
    template = template_versions.active(db)
    spec = template.fields.get(field_id) if template and value else None
    codes = template.code_lists.get(spec.code_list or "") if template and spec else None
    if codes is not None and value and not codes.has(value):
        raise CliError(f"unknown {what} {value!r}: choose one of {', '.join(c.code for c in codes.codes)}")


def cmd_unit(args: argparse.Namespace, inst: Instance) -> int:
    """Add or list units."""
    db = inst.db
    if args.unit_command == "list":
        for u in units.list_all(db):
            print(
                f"{u.call_sign}\t{u.program_model or '-'}\t{u.home_county or '-'}\t"
                f"{'active' if u.active else 'inactive'}"
            )
        return 0
    agency = inst.settings["agency"]
    _check_code(db, "program_model", args.program_model, "program model")
    with write_transaction(db):
        unit = units.create(
            db,
            args.call_sign,
            program_model=args.program_model or agency["program_model"],
            home_county=args.home_county or agency["home_county"],
        )
        audit.record(db, "cli", "unit.add", unit.call_sign)
    print(f"unit {unit.call_sign} added")
    return 0


def cmd_demo(args: argparse.Namespace, inst: Instance) -> int:
    """Create demo users, units, shifts and finalized encounters."""
    from app import demo

    report = demo.populate(inst.db, inst.settings, encounters=args.encounters, seed=args.seed)
    for username, password in report.passwords.items():
        print(f"demo user {username}: password {password}")
    if report.passwords:
        path = Path(inst.settings["server"]["instance_path"]) / "demo-users.txt"
        lines = "".join(f"{name} {password}\n" for name, password in report.passwords.items())
        write_private_file(path, f"# demo users (username password); delete after changing them\n{lines}")
        print(f"demo passwords saved in {path}")
    print(f"demo data: {report.encounters} finalized encounters, units {', '.join(report.units)}")
    return 0


def cmd_template(args: argparse.Namespace, inst: Instance) -> int:
    """Validate, import, list or activate template versions."""
    from app.template_commands import run

    return run(args, inst)


def cmd_audit(args: argparse.Namespace, inst: Instance) -> int:
    """Verify the audit log's hash chain."""
    problem = audit.verify(inst.db)
    if problem is not None:
        print(f"audit log is NOT intact: {problem.reason}", file=sys.stderr)
        return 1
    count = inst.db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    print(f"audit log intact: {count} entries verified")
    return 0


def cmd_delegate(args: argparse.Namespace, inst: Instance) -> int:
    """Hand `crewlog receiver ...` and `crewlog sync ...` to the sync package."""
    module = {"receiver": "sync.receiver.cli", "sync": "sync.cli"}[args.command]
    try:
        target = importlib.import_module(module)
    except ImportError:
        raise CliError(f"`crewlog {args.command}` is not available in this installation") from None
    if args.command == "sync":
        return int(target.main(args.rest, inst.settings))
    return int(target.main(_receiver_args(args.rest, inst.settings["receiver"])))


def _receiver_args(rest: list[str], receiver: dict[str, Any]) -> list[str]:
    """Fill the receiver's --port, --db and --token from [receiver] when not given."""
    given = {arg.split("=", 1)[0] for arg in rest}
    defaults = {"--port": str(receiver["port"]), "--db": receiver["db"], "--token": receiver["token"]}
    extra = [
        item for flag, value in defaults.items() if flag not in given and value for item in (flag, value)
    ]
    return [*extra, *rest]


HANDLERS: dict[str, Callable[[argparse.Namespace, Instance], int]] = {
    "init": cmd_init,
    "serve": cmd_serve,
    "user": cmd_user,
    "unit": cmd_unit,
    "demo": cmd_demo,
    "template": cmd_template,
    "audit": cmd_audit,
    "receiver": cmd_delegate,
    "sync": cmd_delegate,
}


def _split_delegated(argv: list[str]) -> tuple[list[str], list[str] | None]:
    """Split off the arguments of `receiver`/`sync`, which argparse would misread as our own options."""
    for i, arg in enumerate(argv):
        if arg in ("receiver", "sync"):
            return argv[: i + 1], argv[i + 1 :]
        if not arg.startswith("-") and (i == 0 or argv[i - 1] != "--config"):
            break
    return argv, None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the crewlog command line; return the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    head, delegated = _split_delegated(list(sys.argv[1:] if argv is None else argv))
    args = build_parser().parse_args(head)
    if delegated is not None:
        args.rest = delegated
    inst: Instance | None = None
    try:
        inst = Instance(config.load_settings(args.config))
        return HANDLERS[args.command](args, inst)
    except (
        CliError,
        config.ConfigError,
        users.UserError,
        units.UnitError,
        template_versions.TemplateVersionError,
    ) as error:
        print(f"crewlog: error: {error}", file=sys.stderr)
        return 1
    finally:
        if inst is not None:
            inst.close()


if __name__ == "__main__":
    sys.exit(main())
