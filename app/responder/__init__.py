"""Responder pages: home, shifts, and the encounter form (roles are checked by app.roles)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_babel import get_locale

bp = Blueprint("responder", __name__)


@bp.app_context_processor
def page_language() -> dict[str, Any]:
    """Give every page its language code for <html lang>."""
    return {"page_lang": str(get_locale() or "en")}


from app.responder import views  # noqa: E402,F401  (registers the routes on bp)
