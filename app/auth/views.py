"""Login and logout pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user

from app import audit
from app.auth import bp, lockout, sessions
from app.auth.forms import LoginForm
from app.db import get_db

HOME_BY_ROLE = {"responder": "responder.home", "supervisor": "supervisor.index", "admin": "admin.index"}


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Show the login form; on a good username and password, start a session."""
    if current_user.is_authenticated:
        return redirect(_next_page(current_user.role))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 400 if request.method == "POST" else 200
    security = current_app.config["SETTINGS"]["security"]
    outcome = lockout.attempt(
        get_db(),
        form.username.data or "",
        form.password.data or "",
        max_failures=security["login_max_failures"],
        lockout_minutes=security["lockout_minutes"],
        address=_client_address(security["trusted_proxies"]),
        address_max_failures=security["address_max_failures"],
    )
    if outcome.user is None:
        flash(_refusal(outcome), "error")
        return render_template("auth/login.html", form=form), 429 if outcome.locked_until else 401
    sessions.begin(outcome.user)
    audit.record(get_db(), outcome.user.username, "login.success", outcome.user.username)
    return redirect(_next_page(outcome.user.role))


def _client_address(trusted_proxies: int) -> str | None:
    """Return the address login throttling counts this request under."""
    forwarded = request.headers.get("X-Forwarded-For") if trusted_proxies else None
    return lockout.client_address(request.remote_addr, forwarded, trusted_proxies)


def _refusal(outcome: lockout.LoginOutcome) -> str:
    if outcome.locked_until is None:
        return str(_("Wrong username or password. Check both and try again."))
    when = format_datetime(outcome.locked_until, "short")
    if outcome.address_locked:
        return str(
            _(
                "Too many failed logins from this network address, whatever the username. "
                "You can try again after %(when)s, or ask an admin.",
                when=when,
            )
        )
    return str(_("Too many failed attempts. You can try again after %(when)s.", when=when))


def _next_page(role: str) -> str:
    target = request.args.get("next", "")
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return url_for(HOME_BY_ROLE.get(role, "responder.home"))


@bp.post("/logout")
def logout() -> Any:
    """End the session and go back to the login page."""
    if current_user.is_authenticated:
        audit.record(get_db(), current_user.username, "logout", current_user.username)
    sessions.end()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))
