"""Login, logout, lockout and session timeouts."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("auth", __name__)

from app.auth import views  # noqa: E402,F401  (registers the routes on bp)
from app.auth.sessions import check_timeouts  # noqa: E402

bp.before_app_request(check_timeouts)
