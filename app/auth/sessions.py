"""Sessions: loading the user for flask-login, and the idle and absolute timeouts.

The login time and the last-seen time are stamped in the (signed) session cookie and
checked on every request. An expired API request gets 401 JSON, never a redirect, so an
offline replay keeps its data; an expired page visit goes to the login page with a note.

The cookie is re-signed only when the session changes (SESSION_REFRESH_EACH_REQUEST is
off): the last-seen time moves at most every SEEN_RESOLUTION_S seconds, which is what
keeps an active session from idling out. `SessionCookies` remembers the cookies it has
verified, since a tablet sends the same cookie with every request.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Flask, Request, current_app, flash, redirect, request, session, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from itsdangerous import BadSignature

from app import users
from app.db import get_db
from app.errors import NotLoggedIn, wants_json
from app.users import User

LOGIN_AT = "login_at"
SEEN_AT = "seen_at"
SEEN_RESOLUTION_S = 30
REMEMBERED_COOKIES = 4096
PLAIN_TYPES = (str, int, float, bool, type(None))


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, remembering what the cookies verified lately hold.

    A cookie's text, under the same key, always verifies to the same data; only its age
    changes, and that is still checked against the session lifetime on every request.
    Sessions holding anything but plain values (flashed messages) are not remembered.
    """

    def __init__(self) -> None:
        self._known: dict[tuple[Any, str], tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """Return the request's session: from the remembered cookies, or verified and decoded."""
        text = request.cookies.get(self.get_cookie_name(app))
        if not text or not app.secret_key:
            return super().open_session(app, request)
        max_age = int(app.permanent_session_lifetime.total_seconds())
        known = self._known.get((app.secret_key, text))
        if known is not None and 0 <= time.time() - known[0] <= max_age:
            return self.session_class(known[1])  # building the serializer alone costs more than this
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        try:
            data, signed = serializer.loads(text, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if all(isinstance(v, PLAIN_TYPES) for v in data.values()):
            self._remember((app.secret_key, text), signed.timestamp(), data)
        return self.session_class(data)

    def _remember(self, key: tuple[Any, str], signed: float, data: dict[str, Any]) -> None:
        with self._lock:
            if len(self._known) >= REMEMBERED_COOKIES:
                self._known.clear()
            self._known[key] = (signed, dict(data))


def load_user(user_id: str) -> User | None:
    """Return the logged-in user for flask-login; a disabled account counts as logged out."""
    user = users.get(get_db(), user_id)
    return user if user is not None and user.is_active else None


def begin(user: User) -> None:
    """Log the user in and stamp the session with the login time."""
    session.clear()
    login_user(user)
    session.permanent = True
    now = time.time()
    session[LOGIN_AT] = now
    session[SEEN_AT] = now


def end() -> None:
    """Log out and forget everything in the session."""
    logout_user()
    session.clear()


def expired_reason(now: float | None = None) -> str | None:
    """Return why the current session has expired, or None when it is still valid."""
    now = time.time() if now is None else now
    security = current_app.config["SETTINGS"]["security"]
    login_at = session.get(LOGIN_AT, 0.0)
    if now - login_at > security["session_absolute_hours"] * 3600:
        return str(_("Your session reached its time limit. Please log in again."))
    if now - session.get(SEEN_AT, 0.0) > security["session_idle_minutes"] * 60:
        return str(_("You were logged out after a period of inactivity. Please log in again."))
    return None


def check_timeouts() -> Any:
    """End an expired session before the request runs (registered as before_app_request)."""
    if request.endpoint == "static" or not current_user.is_authenticated:
        return None
    now = time.time()
    reason = expired_reason(now)
    if reason is None:
        if now - session.get(SEEN_AT, 0.0) > SEEN_RESOLUTION_S:
            session[SEEN_AT] = now  # re-signing the cookie on every request is wasted work
        return None
    end()
    if wants_json():
        raise NotLoggedIn(reason, details={"reason": "session_expired"})
    if request.endpoint in ("auth.login", "auth.logout"):
        return None
    flash(reason, "warning")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
