"""The language of the person making the request, for text built outside Flask-Babel (forms/)."""

from __future__ import annotations

from flask import has_request_context
from flask_babel import get_locale

DEFAULT = "en"


def request_language() -> str:
    """Return the request's language code (Flask-Babel's locale), or English outside a request."""
    if not has_request_context():
        return DEFAULT
    locale = get_locale()
    return locale.language if locale is not None else DEFAULT
