"""The JSON API (/api/v1) used by the tablet pages and the offline replay, and /healthz."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
health_bp = Blueprint("health", __name__)

from app.api import views  # noqa: E402,F401  (registers the routes)
