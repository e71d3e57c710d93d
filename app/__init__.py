"""The Crewlog application factory: settings, extensions, database, blueprints, errors, headers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Response, request

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
LANGUAGES = ("en", "es")


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the Crewlog app; test_config holds Flask keys (UPPER) and setting overrides by section."""
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    register_config(app, test_config or {})
    register_extensions(app)
    register_database(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_security_headers(app)
    register_commands(app)
    return app


def register_config(app: Flask, test_config: Mapping[str, Any]) -> None:
    """Load settings (defaults < file < environment < test overrides) into app.config."""
    from app import config

    overrides = {k: v for k, v in test_config.items() if k in config.SECTIONS}
    settings = config.load_settings(test_config.get("CONFIG_FILE"), overrides=overrides)
    security = settings["security"]
    app.config.update(
        SETTINGS=settings,
        DATABASE=settings["database"]["path"],
        SESSION_COOKIE_SECURE=security["secure_cookies"],
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="crewlog_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=security["session_absolute_hours"]),
        SESSION_REFRESH_EACH_REQUEST=False,  # re-signed when it changes: see app/auth/sessions.py
        MAX_CONTENT_LENGTH=security["max_body_kb"] * 1024,
        WTF_CSRF_TIME_LIMIT=None,  # the session's own timeouts bound a token's life
        WTF_CSRF_HEADERS=["X-CSRFToken", "X-CSRF-Token"],
        BABEL_DEFAULT_LOCALE="en",
        BABEL_DEFAULT_TIMEZONE=settings["agency"]["timezone"],
    )
    app.config.update({k: v for k, v in test_config.items() if k.isupper()})
    app.config["SECRET_KEY"] = _secret_key(app, settings)


def _secret_key(app: Flask, settings: dict[str, dict[str, Any]]) -> bytes:
    from app.config import ConfigError
    from app.crypto import generate_keys

    path = Path(settings["server"]["secret_key_file"])
    if app.config.get("TESTING") and not path.exists():
        generate_keys(Path(settings["server"]["instance_path"]), path)
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        raise ConfigError(
            f"no secret key file at {path}: run `crewlog init` to create the instance folder and its keys"
        ) from None


def register_extensions(app: Flask) -> None:
    """Bind flask-login, CSRF protection and Babel to the app."""
    from app.auth.sessions import SessionCookies, load_user
    from app.extensions import babel, csrf, login_manager

    app.session_interface = SessionCookies()
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.login_view = "auth.login"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=request_locale)


def request_locale() -> Any:
    """Return the request's locale (Accept-Language), one shared Locale object per language."""
    from babel import Locale

    code = request.accept_languages.best_match(LANGUAGES) or "en"
    if code not in _locales:
        _locales[code] = Locale.parse(code)
    return _locales[code]


_locales: dict[str, Any] = {}


def register_database(app: Flask) -> None:
    """Migrate the database, make sure a template is active and load the record keys."""
    from app import db, migrations, template_versions
    from app.crypto import Keys
    from app.finalize import RecordContext

    settings = app.config["SETTINGS"]
    app.extensions["crewlog.pool"] = db.ConnectionPool(app.config["DATABASE"])
    app.teardown_appcontext(db.close_db)
    conn = db.connect(app.config["DATABASE"])
    try:
        migrations.migrate(conn)
        template = template_versions.ensure_active(conn, settings["template"]["path"])
    finally:
        conn.conn.close()
    _check_extended(template, settings["template"]["extended_fields"])
    keys = Keys.load(Path(settings["server"]["instance_path"]))
    app.extensions["crewlog.records"] = RecordContext(settings, keys)


def _check_extended(template: Any, enabled: list[str]) -> None:
    from app.config import ConfigError

    unknown = [f for f in enabled if f not in template.fields or template.fields[f].core]
    if unknown:
        raise ConfigError(
            f"[template] extended_fields: {', '.join(unknown)} are not extended fields of template "
            f"{template.id} {template.version}"
        )


def register_blueprints(app: Flask) -> None:
    """Register the auth, responder, supervisor, admin, API and PWA blueprints and the health check."""
    from app import admin, api, auth, pwa, responder, roles, supervisor

    for blueprint in (auth.bp, responder.bp, supervisor.bp, admin.bp, api.bp, api.health_bp, pwa.bp):
        app.register_blueprint(blueprint)
    roles.protect_blueprints(app)


def register_errorhandlers(app: Flask) -> None:
    """Answer errors as JSON under /api/ and /healthz and as pages elsewhere; never a bare 500."""
    from app.errors import register_handlers

    register_handlers(app)


def register_security_headers(app: Flask) -> None:
    """Add the strict CSP and the other security headers to every response."""

    @app.after_request
    def add_headers(response: Response) -> Response:
        """Set the security headers on one response."""
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.path.startswith("/api/") or request.endpoint not in ("static", None):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def register_commands(app: Flask) -> None:
    """Add `flask init-db` (the same migrations as `crewlog init`) to the Flask CLI."""

    @app.cli.command("init-db")
    def init_db() -> None:
        """Apply database migrations."""
        from app import db, migrations

        conn = db.connect(app.config["DATABASE"])
        applied = migrations.migrate(conn)
        print(f"applied migrations: {applied or 'none (up to date)'}")
