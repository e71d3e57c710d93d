"""JSON API views: thin wrappers around the encounter service and the template store."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response, current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from app import audit, encounter_store, encounters, template_versions
from app.api import bp, health_bp
from app.db import get_db
from app.errors import BadRequest, NotFound


@health_bp.get("/healthz")
def healthz() -> Any:
    """Report that the server is up and its database answers."""
    get_db().execute("SELECT 1").fetchone()
    return jsonify(status="ok")


@bp.get("/csrf")
def csrf() -> Any:
    """Return a fresh CSRF token for the next state-changing request."""
    return jsonify(csrf_token=generate_csrf())


@bp.get("/template")
def template() -> Any:
    """Return the active template as JSON, with the extended fields this program collects."""
    active = template_versions.active(get_db())
    if active is None:
        raise NotFound(_("No template is active on this server. Ask an admin to import one."))
    body = dict(active.to_json())
    body["enabled_extended"] = current_app.config["SETTINGS"]["template"]["extended_fields"]
    return jsonify(body)


@bp.post("/encounters")
def save_encounter() -> Any:
    """Save a draft or finalize an encounter; 201 when created, 200 when updated or resent."""
    result = encounters.save(get_db(), current_user._get_current_object(), _json_body())
    body = orjson.dumps(result.to_json(), default=str, option=orjson.OPT_SORT_KEYS)
    return Response(body, status=201 if result.created else 200, mimetype="application/json")


def _json_body() -> Any:
    """Return the request's JSON body (strict JSON: no NaN or Infinity), or raise BadRequest."""
    if not request.is_json:
        raise BadRequest(_("The body must be JSON (Content-Type: application/json)."))
    try:
        return orjson.loads(request.get_data(cache=False))
    except orjson.JSONDecodeError as error:
        raise BadRequest(
            _("The body must be JSON (Content-Type: application/json): %(problem)s.", problem=str(error))
        ) from None


@bp.get("/encounters/<encounter_id>")
def get_encounter(encounter_id: str) -> Any:
    """Return one encounter to its author, supervisors and admins (404 to anyone else)."""
    db = get_db()
    encounter = encounters.get(db, encounter_id)
    if encounter is None or not encounters.visible_to(current_user, encounter):
        raise NotFound(_("No such encounter."))
    audit.record(db, current_user.username, "encounter.view", encounter.id)
    return jsonify(
        id=encounter.id,
        status=encounter.status,
        revision=encounter.revision,
        record_version=encounter.record_version,
        template_id=encounter.template_id,
        template_version=encounter.template_version,
        answers=encounter.answers,
        updated_at=encounter.updated_at,
        notes=encounter_store.notes(db, encounter.id),
    )


@bp.get("/encounters")
def list_encounters() -> Any:
    """Return the user's drafts and returned records (?mine=1)."""
    if request.args.get("mine", "1") not in ("1", "true"):
        raise BadRequest(_("Only ?mine=1 is supported: the list of your drafts and returned records."))
    return jsonify(encounters=encounters.list_mine(get_db(), current_user))
