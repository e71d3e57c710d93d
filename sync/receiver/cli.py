"""Command line of the reference receiver (`crewlog receiver` / `python -m sync.receiver`)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from sync.faults import FaultError, FaultSettings

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the receiver's options to a parser (shared with the app's CLI)."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8090, help="port to listen on; 0 picks a free one")
    parser.add_argument("--db", required=True, help="SQLite file where the receiver keeps what it holds")
    parser.add_argument(
        "--token",
        action="append",
        required=True,
        metavar="TOKEN[:AGENCY]",
        help="accepted bearer token, bound to one agency id (repeatable; no agency = any)",
    )
    parser.add_argument(
        "--template",
        action="append",
        default=[],
        metavar="FILE",
        help="template file(s) accepted; the first is current (default: the shipped one)",
    )
    parser.add_argument("--max-records", type=int, default=500, help="records per batch (GET /v1/limits)")
    parser.add_argument("--max-bytes", type=int, default=5_000_000, help="bytes per request (GET /v1/limits)")
    parser.add_argument(
        "--enforce-max-bytes",
        type=int,
        default=None,
        help="refuse bodies above this size even if /v1/limits says more (fault)",
    )
    parser.add_argument("--threads", type=int, default=8, help="waitress worker threads")
    parser.add_argument("--fail-rate", type=float, default=0.0, help="fraction of requests answering 500/503")
    parser.add_argument("--timeout-rate", type=float, default=0.0, help="fraction of requests that hang")
    parser.add_argument("--reset-rate", type=float, default=0.0, help="fraction closed without an answer")
    parser.add_argument("--throttle-rate", type=float, default=0.0, help="fraction answering 429")
    parser.add_argument("--slow-ms", type=int, default=0, help="delay added to every request")
    parser.add_argument("--hang-s", type=float, default=5.0, help="how long a 'timeout' fault hangs")
    parser.add_argument("--seed", type=int, default=None, help="seed of the fault generator")
    parser.add_argument(
        "--allow-fault-control",
        action="store_true",
        help="allow POST /_faults and POST /_template (tests only)",
    )


def parse_tokens(values: Sequence[str]) -> dict[str, str]:
    """Return {token: agency} from TOKEN[:AGENCY] arguments ("*" when no agency is named)."""
    tokens = {}
    for value in values:
        token, _, agency = value.partition(":")
        if not token:
            raise ValueError(f"--token {value!r}: the token is empty")
        tokens[token] = agency or "*"
    return tokens


def run(args: argparse.Namespace) -> int:
    """Start the receiver from parsed arguments; return the exit code."""
    from waitress import create_server

    from forms.loader import TemplateError, load_shipped_template, load_template
    from sync.receiver.app import create_receiver

    try:
        templates = [load_template(path) for path in args.template] or [load_shipped_template()]
        faults = FaultSettings(
            args.fail_rate,
            args.timeout_rate,
            args.reset_rate,
            args.throttle_rate,
            args.slow_ms,
            args.hang_s,
            False,
            args.seed,
        ).checked()
        app = create_receiver(
            args.db,
            parse_tokens(args.token),
            templates,
            faults,
            limits={"max_records": args.max_records, "max_bytes": args.max_bytes},
            allow_fault_control=args.allow_fault_control,
            enforce_max_bytes=args.enforce_max_bytes,
        )
    except (TemplateError, FaultError, ValueError, OSError) as exc:
        print(f"receiver: {exc}", file=sys.stderr)
        return 2
    server = create_server(app, host=args.host, port=args.port, threads=args.threads)
    port = getattr(server, "effective_port", args.port)
    print(f"receiver listening on http://{args.host}:{port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    return 0


def main(argv: Sequence[str] | None = None, settings: Mapping[str, Any] | None = None) -> int:
    """Parse the command line and run the receiver; the app's [receiver] settings give defaults."""
    parser = argparse.ArgumentParser(prog="crewlog receiver", description="Reference state receiver")
    add_arguments(parser)
    configured = dict((settings or {}).get("receiver", {}))
    if configured:
        token = configured.get("token")
        parser.set_defaults(
            port=configured.get("port", 8090),
            db=configured.get("db") or None,
            token=[token] if token else None,
        )
        for action in parser._actions:
            if action.dest in ("db", "token") and parser.get_default(action.dest):
                action.required = False
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return run(args)
