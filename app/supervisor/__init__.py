"""Supervisor pages (placeholder: review, approval and metrics land later)."""

from __future__ import annotations

from flask import Blueprint
from flask_babel import gettext as _

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")


@bp.get("/")
def index() -> str:
    """Render the supervisor start page."""
    return "<!doctype html><title>Crewlog</title><h1>" + _("Supervisor") + "</h1>"
