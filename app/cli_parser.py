"""The argument parser of the `crewlog` command."""

from __future__ import annotations

import argparse


def build_parser() -> argparse.ArgumentParser:
    """Return the parser for every crewlog subcommand."""
    parser = argparse.ArgumentParser(prog="crewlog", description="Crewlog encounter log server.")
    parser.add_argument("--config", metavar="FILE", help="settings file (default: $CREWLOG_CONFIG)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("init", help="create the instance folder, keys and database")
    serve = commands.add_parser("serve", help="run the web server (waitress)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, help="serving processes (default: [server] workers)")
    _user_commands(commands.add_parser("user", help="manage user accounts"))
    _unit_commands(commands.add_parser("unit", help="manage units"))
    demo = commands.add_parser("demo", help="create demo users, units and encounters")
    demo.add_argument("--encounters", type=int, default=40, metavar="N")
    demo.add_argument("--seed", type=int, default=2026)
    _template_commands(commands.add_parser("template", help="check and manage template versions"))
    audit = commands.add_parser("audit", help="check the audit log")
    audit.add_subparsers(dest="audit_command", required=True).add_parser(
        "verify", help="verify the hash chain"
    )
    for name, text in (("receiver", "run the reference state receiver"), ("sync", "sync with the state")):
        delegate = commands.add_parser(name, help=text, add_help=False)
        delegate.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def _user_commands(user: argparse.ArgumentParser) -> None:
    actions = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a user (prints a generated password)")
    add.add_argument("username")
    add.add_argument("--role", required=True, help="responder, supervisor or admin")
    add.add_argument("--team-role", help="the user's role on a crew (staff_role code list)")
    add.add_argument("--display-name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    actions.add_parser("list", help="list users")
    for name in ("disable", "enable"):
        actions.add_parser(name, help=f"{name} a user").add_argument("username")
    reset = actions.add_parser(
        "reset-password", help="set a new password (prints it unless --password-stdin)"
    )
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true")


def _unit_commands(unit: argparse.ArgumentParser) -> None:
    actions = unit.add_subparsers(dest="unit_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a unit")
    add.add_argument("call_sign")
    add.add_argument("--program-model")
    add.add_argument("--home-county")
    actions.add_parser("list", help="list units")


def _template_commands(template: argparse.ArgumentParser) -> None:
    actions = template.add_subparsers(dest="template_command", required=True, metavar="ACTION")
    actions.add_parser("validate", help="check a template file").add_argument("file")
    imp = actions.add_parser("import", help="store a template version")
    imp.add_argument("file")
    imp.add_argument("--activate", action="store_true", help="also make it the active version")
    actions.add_parser("list", help="list held template versions")
    activate = actions.add_parser("activate", help="make a held version active")
    activate.add_argument("id")
    activate.add_argument("version")
