"""Who may use which route: one role check per blueprint, and the declared route matrix.

`protect_blueprints` installs the check once per blueprint (never per view).
ROLE_MATRIX declares, for every endpoint, which personas may reach it; a test walks the
app's url_map and fails on any endpoint missing here or answering otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import Forbidden, NotLoggedIn, wants_json

ANONYMOUS = "anonymous"
RESPONDER, SUPERVISOR, ADMIN = "responder", "supervisor", "admin"
EVERYONE = frozenset({ANONYMOUS, RESPONDER, SUPERVISOR, ADMIN})
LOGGED_IN = frozenset({RESPONDER, SUPERVISOR, ADMIN})
REVIEWERS = frozenset({SUPERVISOR, ADMIN})
ADMINS = frozenset({ADMIN})

BLUEPRINT_ROLES: dict[str, frozenset[str]] = {
    "responder": LOGGED_IN,
    "supervisor": REVIEWERS,
    "admin": ADMINS,
    "api": LOGGED_IN,
}

ROLE_MATRIX: dict[str, frozenset[str]] = {
    "static": EVERYONE,
    "health.healthz": EVERYONE,
    "auth.login": EVERYONE,
    "auth.logout": EVERYONE,
    "pwa.service_worker": EVERYONE,
    "pwa.manifest": EVERYONE,
    "pwa.offline": EVERYONE,
    "pwa.template_json": EVERYONE,
    "responder.home": LOGGED_IN,
    "responder.start_shift": LOGGED_IN,
    "responder.end_shift": LOGGED_IN,
    "responder.new_encounter": LOGGED_IN,
    "responder.edit_encounter": LOGGED_IN,
    "supervisor.index": REVIEWERS,
    "admin.index": ADMINS,
    "admin.users": ADMINS,
    "admin.add_user": ADMINS,
    "admin.set_user_active": ADMINS,
    "admin.units": ADMINS,
    "admin.add_unit": ADMINS,
    "admin.sync": ADMINS,
    "admin.resume_sync": ADMINS,
    "admin.requeue_record": ADMINS,
    "admin.reconcile_record": ADMINS,
    "admin.templates": ADMINS,
    "admin.activate_template": ADMINS,
    "admin.import_fetched": ADMINS,
    "api.csrf": LOGGED_IN,
    "api.template": LOGGED_IN,
    "api.save_encounter": LOGGED_IN,
    "api.get_encounter": LOGGED_IN,
    "api.list_encounters": LOGGED_IN,
}


def persona(user: Any) -> str:
    """Return the persona of a user: their role, or anonymous."""
    return str(user.role) if user.is_authenticated else ANONYMOUS


def require_roles(roles: Iterable[str]) -> Callable[[], Any]:
    """Return a before_request hook refusing anyone whose role is not in roles."""
    allowed = frozenset(roles)

    def check_role() -> Any:
        """Let the request through, or refuse it (401/redirect when anonymous, 403 otherwise)."""
        if persona(current_user) in allowed:
            return None
        if current_user.is_authenticated:
            raise Forbidden(_("Your role does not allow this page. Ask an admin if you need access."))
        if wants_json():
            raise NotLoggedIn(_("You are not logged in. Log in and try again; your unsent work is kept."))
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

    return check_role


def protect_blueprints(app: Flask) -> None:
    """Install the role check of each protected blueprint, once per blueprint."""
    for name, roles in BLUEPRINT_ROLES.items():
        blueprint = app.blueprints.get(name)
        if blueprint is not None:
            app.before_request_funcs.setdefault(name, []).append(require_roles(roles))
