"""Serve the service worker (stamped with the shell version), the manifest, the offline page, the template."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from flask import Response, current_app, jsonify, render_template, url_for

from app import template_versions
from app.db import get_db
from app.errors import NotFound
from app.pwa import bp
from app.pwa.strings import offline_strings
from forms.phrases import CATALOGUES

STATIC = Path(__file__).resolve().parents[2] / "static"
# The app shell: what the service worker stores at install so the form opens offline.
SHELL_STATIC = (
    "css/app.css",
    "js/conditions.js",
    "js/form.js",
    "js/rows.js",
    "js/validation.js",
    "js/offline/main.js",
    "js/offline/store.js",
    "js/offline/replay.js",
    "js/offline/encounter.js",
    "js/offline/finalize.js",
    "js/offline/drafts.js",
    "js/offline/answers.js",
    "icons/icon.svg",
    "icons/icon-192.png",
    "icons/icon-512.png",
)
SHELL_PAGES = ("pwa.manifest", "pwa.offline", "pwa.template_json")
BUILD_MARKER = '{"version": "dev", "shell": [], "pages": []}'
OFFLINE_PAGES = ("responder.new_encounter",)  # the blank form; never a page showing someone's data


@bp.app_context_processor
def pwa_context() -> dict[str, Any]:
    """Give every page the offline scripts' words."""
    return {"offline_strings": offline_strings}


@bp.get("/sw.js")
def service_worker() -> Response:
    """Return the service worker with this deploy's version and shell list written in."""
    build = {"version": shell_version(), "shell": shell_urls(), "pages": [url_for(e) for e in OFFLINE_PAGES]}
    source = (STATIC / "sw.js").read_text(encoding="utf-8").replace(BUILD_MARKER, json.dumps(build), 1)
    response = Response(source, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/manifest.webmanifest")
def manifest() -> Response:
    """Return the web app manifest."""
    body = (STATIC / "manifest.webmanifest").read_bytes()
    return Response(body, mimetype="application/manifest+json")


@bp.get("/offline")
def offline() -> str:
    """Show the page the service worker falls back to when a page is not available offline."""
    return render_template("pwa/offline.html")


@bp.get("/template.json")
def template_json() -> Any:
    """Return the active template (no one's data in it) with the extended fields this program collects
    and the wording of validation messages in each language (forms.phrases), for the browser's validator."""
    active = template_versions.active(get_db())
    if active is None:
        raise NotFound("No template is active on this server. Ask an admin to import one.")
    body = dict(active.to_json())
    body["enabled_extended"] = current_app.config["SETTINGS"]["template"]["extended_fields"]
    body["message_phrases"] = CATALOGUES
    return jsonify(body)


def shell_urls() -> list[str]:
    """Return the URLs the service worker stores at install."""
    return [url_for("static", filename=name) for name in SHELL_STATIC] + [url_for(e) for e in SHELL_PAGES]


def shell_version() -> str:
    """Return a version that changes whenever a shell file, the active template or the build id changes."""
    digest = hashlib.sha256(str(current_app.config.get("PWA_BUILD_ID", "")).encode())
    for name in SHELL_STATIC + ("sw.js", "manifest.webmanifest"):
        digest.update(name.encode() + b"\0" + (STATIC / name).read_bytes())
    active = template_versions.active(get_db())
    digest.update(f"{active.id} {active.version}".encode() if active else b"-")
    digest.update(json.dumps(CATALOGUES, sort_keys=True).encode())  # /template.json carries them
    digest.update((Path(current_app.root_path).parent / "templates" / "pwa" / "offline.html").read_bytes())
    return digest.hexdigest()[:16]
