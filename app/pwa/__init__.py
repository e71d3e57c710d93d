"""The progressive web app's public files: /sw.js, /manifest.webmanifest, /offline, /template.json.

They carry no one's data, so anyone may fetch them (the service worker installs before login).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pwa", __name__)

from app.pwa import views  # noqa: E402,F401  (registers the routes on bp)
