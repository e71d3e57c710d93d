"""Flask extensions, created once and bound to the app by the factory with init_app."""

from __future__ import annotations

import threading
from typing import Any

from flask import current_app, g, request, session
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect, same_origin

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
REMEMBERED_TOKENS = 4096


class CsrfProtect(CSRFProtect):  # type: ignore[misc]  # flask-wtf ships no type hints
    """CSRFProtect that remembers the tokens it has verified against a session's token.

    A tablet sends the same signed token with every API request. With no time limit on
    tokens (WTF_CSRF_TIME_LIMIT = None: the session's timeouts bound them), whether a token
    is valid depends only on the token, the session's raw token and the key, so a token
    verified once for that pair is not verified again. Anything else takes the full check.
    """

    def __init__(self) -> None:
        super().__init__()
        self._verified: set[tuple[Any, str, str]] = set()
        self._lock = threading.Lock()

    def protect(self, apply_exemptions: bool = False) -> None:
        """Validate CSRF on the current request (as CSRFProtect does)."""
        if request.method not in current_app.config["WTF_CSRF_METHODS"]:
            return
        key = self._pair(self._get_csrf_token())
        if key is None or key not in self._verified:
            super().protect(apply_exemptions)  # raises CSRFError when the token is not valid
            if key is not None and g.get("csrf_valid"):
                self._remember(key)
            return
        if apply_exemptions and (not request.endpoint or self._is_exempt()):
            return
        if request.is_secure and current_app.config["WTF_CSRF_SSL_STRICT"]:
            if not request.referrer:
                self._error_response("The referrer header is missing.")
            if not same_origin(request.referrer, f"https://{request.host}/"):
                self._error_response("The referrer does not match the host.")
        g.csrf_valid = True

    def _get_csrf_token(self) -> str | None:
        """Return the request's token: from the form for a form post, else from the headers."""
        if request.mimetype in FORM_TYPES:
            token: str | None = super()._get_csrf_token()
            return token
        for header in current_app.config["WTF_CSRF_HEADERS"]:
            found = request.headers.get(header)
            if found:
                return found
        return None

    def _pair(self, token: str | None) -> tuple[Any, str, str] | None:
        """Return what decides the token's validity, or None when it must be checked in full."""
        config = current_app.config
        stored = session.get(config["WTF_CSRF_FIELD_NAME"])
        if not token or not isinstance(stored, str) or config["WTF_CSRF_TIME_LIMIT"] is not None:
            return None
        return config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key, token, stored

    def _remember(self, key: tuple[Any, str, str]) -> None:
        with self._lock:
            if len(self._verified) >= REMEMBERED_TOKENS:
                self._verified.clear()
            self._verified.add(key)


login_manager = LoginManager()
csrf = CsrfProtect()
babel = Babel()
