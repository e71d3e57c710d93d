"""The reference receiver as a Flask app: the state's side of the sync contract v1."""

from __future__ import annotations

import hmac
import json
import logging
import socket
import struct
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from forms.model import Template
from sync.canonical import body_hash
from sync.faults import Fault, FaultError, Faults, FaultSettings
from sync.receiver.ingest import TemplateCatalog, ingest_batch
from sync.receiver.store import ReceiverStore, versions_held
from sync.receiver.summary import register_summary

log = logging.getLogger(__name__)
ANY_AGENCY = "*"
DEFAULT_LIMITS = {"max_records": 500, "max_bytes": 5_000_000}
ERRNO = {400: 103, 401: 101, 403: 102, 404: 106, 405: 107, 413: 105, 429: 108, 500: 110, 503: 109}


def error(
    status: int,
    name: str,
    text: str,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Return the contract's error body {code, errno, error, message, details}."""
    body = {
        "code": status,
        "errno": ERRNO.get(status, 199),
        "error": name,
        "message": text,
        "details": dict(details or {}),
    }
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def json_response(body: Any, status: int = 200) -> Response:
    """Return a JSON response."""
    return Response(json.dumps(body), status=status, mimetype="application/json")


def create_receiver(
    db_path: str | Path,
    tokens: Mapping[str, str],
    template: Template | Sequence[Template],
    faults: Faults | FaultSettings | None = None,
    *,
    limits: Mapping[str, int] | None = None,
    allow_fault_control: bool = False,
    enforce_max_bytes: int | None = None,
) -> Flask:
    """Return the receiver app; `tokens` maps bearer token -> agency id ("*" accepts any agency).

    `enforce_max_bytes` refuses bodies above a size other than the advertised limit, to play a
    state that lowered its limit without saying so (the client must then halve its batches).
    """
    app = Flask(__name__)
    state = ReceiverState(db_path, tokens, template, faults, limits)
    app.config["MAX_CONTENT_LENGTH"] = enforce_max_bytes or state.limits["max_bytes"]
    app.extensions["crewlog_receiver"] = state
    register_faults(app, state, allow_fault_control)
    register_contract(app, state)
    register_summary(app, state.store, state.catalog)
    register_errors(app, state)
    return app


class ReceiverState:
    """Everything the receiver's views share."""

    def __init__(
        self,
        db_path: str | Path,
        tokens: Mapping[str, str],
        template: Template | Sequence[Template],
        faults: Faults | FaultSettings | None,
        limits: Mapping[str, int] | None,
    ) -> None:
        self.store = ReceiverStore(db_path)
        self.tokens = dict(tokens)
        self.catalog = TemplateCatalog([template] if isinstance(template, Template) else list(template))
        self.faults = faults if isinstance(faults, Faults) else Faults(faults)
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}

    def agency(self) -> str | None:
        """Return the agency of the request's bearer token, or None."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        for known, agency in self.tokens.items():
            if hmac.compare_digest(known.encode(), token.strip().encode()):
                return agency
        return None

    def template_etag(self) -> str:
        """Return the current template's strong ETag."""
        return '"' + body_hash(self.catalog.current.to_json())[:32] + '"'


def register_contract(app: Flask, state: ReceiverState) -> None:
    """Add the /v1 endpoints."""

    @app.before_request
    def authenticate() -> Response | None:
        if not request.path.startswith("/v1/"):
            return None
        g.agency = state.agency()
        if g.agency is None:
            return error(
                401,
                "unauthorized",
                "send Authorization: Bearer <agency token>",
                headers={"WWW-Authenticate": 'Bearer realm="state"'},
            )
        return None

    @app.post("/v1/submissions")
    def submissions() -> Response:
        body = _parse_batch(state)
        if isinstance(body, Response):
            return body
        results = ingest_batch(state.store, state.catalog, body["agency_id"], body["records"])
        return json_response({"results": results})

    @app.get("/v1/submissions/<encounter_id>")
    def submission(encounter_id: str) -> Response:
        agency = None if g.agency == ANY_AGENCY else g.agency
        db = state.store.connect()
        held = None
        for candidate in [agency] if agency else _agencies_of(db, encounter_id):
            held = held or versions_held(db, encounter_id, candidate)
        if held is None:
            return error(404, "not_found", f"no record {encounter_id} is held for this agency")
        return json_response(held)

    @app.get("/v1/limits")
    def limits() -> Response:
        return json_response(state.limits)

    @app.get("/v1/template/current")
    def template_current() -> Response:
        etag = state.template_etag()
        if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
            return Response(status=304, headers={"ETag": etag})
        response = json_response(state.catalog.current.to_json())
        response.headers["ETag"] = etag
        return response


def _agencies_of(db: Any, encounter_id: str) -> list[str]:
    rows = db.execute("SELECT DISTINCT agency_id FROM submissions WHERE encounter_id = ?", [encounter_id])
    return [row[0] for row in rows.fetchall()]


def _parse_batch(state: ReceiverState) -> dict[str, Any] | Response:
    try:
        body = json.loads(request.get_data(cache=False))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        return error(400, "bad_request", f"the body is not valid JSON: {str(exc)[:200]}")
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        return error(400, "bad_request", 'the body must be {"agency_id": "...", "records": [...]}')
    if not isinstance(body.get("agency_id"), str) or not body["agency_id"]:
        return error(400, "bad_request", "agency_id must be a non-empty string")
    if g.agency not in (ANY_AGENCY, body["agency_id"]):
        return error(403, "forbidden", f"this token may not submit for agency {body['agency_id']}")
    if len(body["records"]) > state.limits["max_records"]:
        return error(
            413, "too_large", f"at most {state.limits['max_records']} records per batch", details=state.limits
        )
    return body


def register_faults(app: Flask, state: ReceiverState, allow_control: bool) -> None:
    """Misbehave on /v1 requests as the fault settings say; optionally allow POST /_faults."""

    @app.before_request
    def inject_before() -> Response | None:
        if not request.path.startswith("/v1/"):
            return None
        if state.faults.settings.slow_ms:
            time.sleep(state.faults.settings.slow_ms / 1000)
        fault = g.fault = state.faults.draw()
        return None if fault is None or fault.after else _misbehave(fault, state)

    @app.after_request
    def inject_after(response: Response) -> Response:
        fault: Fault | None = g.get("fault")
        if fault is not None and fault.after:
            return _misbehave(fault, state) or response
        return response

    @app.route("/_faults", methods=["GET", "POST"])
    def fault_control() -> Response:
        if not allow_control:
            return error(404, "not_found", "fault control is off (start with --allow-fault-control)")
        if request.method == "POST":
            try:
                state.faults.update(request.get_json(force=True, silent=True) or {})
            except (FaultError, TypeError) as exc:
                return error(400, "bad_request", str(exc))
        return json_response(state.faults.to_json())

    @app.post("/_template")
    def publish_template() -> Response:
        if not allow_control:
            return error(404, "not_found", "template control is off (start with --allow-fault-control)")
        from forms.loader import TemplateError, load_template_data

        try:
            template = load_template_data(request.get_json(force=True, silent=True) or {}, "posted template")
        except TemplateError as exc:
            return error(400, "bad_request", "the template is invalid", details={"errors": exc.errors})
        state.catalog.publish(template)
        return json_response({"id": template.id, "version": template.version, "etag": state.template_etag()})


def _misbehave(fault: Fault, state: ReceiverState) -> Response | None:
    if fault.kind == "throttle":
        return error(429, "throttled", "too many requests; retry later", headers={"Retry-After": "1"})
    if fault.kind == "timeout":
        time.sleep(state.faults.settings.hang_s)
        return error(503, "unavailable", "the receiver stalled") if not fault.after else None
    if fault.kind == "reset":
        _reset_connection()
        return error(503, "unavailable", "connection reset")
    if fault.kind == "down":
        return error(503, "unavailable", "the receiver is down")
    return error(fault.status, "server_error" if fault.status == 500 else "unavailable", "injected failure")


def _reset_connection() -> None:
    # Waitress puts a bound method of the request's channel in the environ; its socket is the connection.
    probe = request.environ.get("waitress.client_disconnected")
    sock = getattr(getattr(probe, "__self__", None), "socket", None) or request.environ.get("werkzeug.socket")
    if sock is None:
        raise ConnectionAbortedError("injected connection reset")
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def register_errors(app: Flask, state: ReceiverState) -> None:
    """Answer every error in the contract's JSON error shape; never an HTML 500."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        if status == 413:
            size = app.config["MAX_CONTENT_LENGTH"]
            return error(413, "too_large", f"at most {size} bytes per request", details=state.limits)
        return error(status, (exc.name or "error").lower().replace(" ", "_"), exc.description or "")

    @app.errorhandler(Exception)
    def crash(exc: Exception) -> Response:
        log.exception("receiver error")
        return error(500, "server_error", f"internal error: {type(exc).__name__}")
