"""The error catalogue: one class per kind of failure, each with a stable errno.

API and /healthz answers use the shape {code, errno, error, message, details}; pages show
templates/errors/error.html with the same message. Messages say what to do next.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l

if TYPE_CHECKING:
    from flask import Flask


class CrewlogError(Exception):
    """Base of every error a user can be shown."""

    code = 500
    errno = 999
    error = "internal"
    default_message: Any = _l(
        "Something went wrong on the server. Try again; if it keeps happening, tell your admin."
    )

    def __init__(self, message: str | None = None, details: Any = None, **extra: Any) -> None:
        self.message = str(message or self.default_message)  # translated now, in the request's language
        super().__init__(self.message)
        self.details = details
        self.extra = extra

    def to_json(self) -> dict[str, Any]:
        """Return the JSON body of this error."""
        body = {
            "code": self.code,
            "errno": self.errno,
            "error": self.error,
            "message": self.message,
            "details": self.details,
        }
        body.update(self.extra)
        return body


class BadRequest(CrewlogError):
    """The request body is malformed or misses something required."""

    code, errno, error = 400, 101, "bad_request"
    default_message: Any = _l("The request could not be read.")


class CsrfFailed(CrewlogError):
    """The CSRF token is missing or wrong."""

    code, errno, error = 400, 102, "csrf"
    default_message: Any = _l("The security token is missing or expired. Reload the page and try again.")


class NotLoggedIn(CrewlogError):
    """No one is logged in, or the session ended."""

    code, errno, error = 401, 104, "unauthorized"
    default_message: Any = _l("You are not logged in. Log in and try again; your unsent work is kept.")


class Forbidden(CrewlogError):
    """The user's role does not allow this."""

    code, errno, error = 403, 110, "forbidden"
    default_message: Any = _l("Your role does not allow this. Ask an admin if you need access.")


class NotFound(CrewlogError):
    """The thing asked for does not exist (or is not visible to this user)."""

    code, errno, error = 404, 111, "not_found"
    default_message: Any = _l("Not found. Check the address.")


class MethodNotAllowed(CrewlogError):
    """The address exists but not for this HTTP method."""

    code, errno, error = 405, 115, "method_not_allowed"
    default_message: Any = _l("This address does not accept that kind of request.")


class Conflict(CrewlogError):
    """The record changed since the client last saw it."""

    code, errno, error = 409, 120, "conflict"
    default_message: Any = _l(
        "This record was changed elsewhere. Reload it, check the changes, and save again."
    )


class RecordLocked(CrewlogError):
    """The record is finalized (or approved, voided) and cannot be edited here."""

    code, errno, error = 409, 121, "locked"
    default_message: Any = _l("This record is finalized. Ask a supervisor to return it for correction.")


class PayloadTooLarge(CrewlogError):
    """The request body is larger than [security] max_body_kb."""

    code, errno, error = 413, 130, "too_large"
    default_message: Any = _l("The request is too large.")


class ValidationFailed(CrewlogError):
    """The answers do not pass the template's checks."""

    code, errno, error = 422, 140, "validation"
    default_message: Any = _l("Some answers need attention before this can be saved.")


class UnknownTemplate(CrewlogError):
    """The record names a template id/version this server does not hold."""

    code, errno, error = 422, 141, "unknown_template"
    default_message: Any = _l("This server does not know the record's template version.")


class ServiceUnavailable(CrewlogError):
    """The database is busy beyond the wait limit."""

    code, errno, error = 503, 150, "busy"
    default_message: Any = _l("The server is busy. Try again in a moment; nothing was lost.")


CATALOGUE: tuple[type[CrewlogError], ...] = (
    BadRequest,
    CsrfFailed,
    NotLoggedIn,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    RecordLocked,
    PayloadTooLarge,
    ValidationFailed,
    UnknownTemplate,
    ServiceUnavailable,
    CrewlogError,
)
BY_STATUS: dict[int, type[CrewlogError]] = {
    400: BadRequest,
    401: NotLoggedIn,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    413: PayloadTooLarge,
    422: ValidationFailed,
    503: ServiceUnavailable,
}


def wants_json() -> bool:
    """Return whether this request is answered in JSON (the API and the health check)."""
    from flask import request

    return request.path.startswith("/api/") or request.path == "/healthz"


def respond(error: CrewlogError) -> Any:
    """Return the JSON body or the error page for an error."""
    from flask import jsonify, render_template

    if wants_json():
        return jsonify(error.to_json()), error.code
    return render_template("errors/error.html", error=error), error.code


def register_handlers(app: Flask) -> None:
    """Register handlers for catalogue errors, HTTP errors, CSRF failures and anything unexpected."""
    import logging
    import sqlite3

    from flask_wtf.csrf import CSRFError
    from werkzeug.exceptions import HTTPException

    log = logging.getLogger(__name__)

    @app.errorhandler(CrewlogError)
    def catalogue_error(error: CrewlogError) -> Any:
        """Answer a catalogue error."""
        return respond(error)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Any:
        """Answer a missing or wrong CSRF token."""
        return respond(CsrfFailed(details={"reason": error.description}))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        """Answer an HTTP error in the catalogue's shape."""
        kind = BY_STATUS.get(error.code or 500, CrewlogError)
        message = None
        if error.code == 413:
            limit = app.config["SETTINGS"]["security"]["max_body_kb"]
            message = _l("The request is larger than this server accepts (%(limit)s KiB).", limit=limit)
        if kind is CrewlogError:
            return respond(_Passthrough(error))
        return respond(kind(message))

    @app.errorhandler(sqlite3.OperationalError)
    def database_busy(error: sqlite3.OperationalError) -> Any:
        """Answer a database error: 503 when it is only busy."""
        log.exception("database error")
        return respond(ServiceUnavailable() if "locked" in str(error) else CrewlogError())

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:
        """Log anything unexpected and answer a generic 500."""
        log.exception("unexpected error")
        return respond(CrewlogError())


class _Passthrough(CrewlogError):
    """An HTTP error outside the catalogue (e.g. 418), kept with its own status."""

    def __init__(self, error: Any) -> None:
        super().__init__(str(error.description))
        self.code = error.code or 500
        self.error = str(error.name).lower().replace(" ", "_")
