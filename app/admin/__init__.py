"""Admin pages: users and units, sync health, template versions."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from app.admin import sync_views, template_views, views  # noqa: E402,F401  (registers the routes)
