"""Admin template page: versions held locally, versions fetched from the state, import and activate.

Importing never activates: the admin chooses when. Records keep the version they were captured with.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length

from app import audit, template_versions
from app.admin import bp
from app.admin.sync_views import epoch_time, refused
from app.db import get_db
from forms.loader import TemplateError
from sync.status import fetched_templates

log = logging.getLogger(__name__)


class ActivateForm(FlaskForm):  # type: ignore[misc]
    """A held template version to make active."""

    template_id = HiddenField(validators=[DataRequired(), Length(max=100)])
    version = HiddenField(validators=[DataRequired(), Length(max=100)])


class ImportForm(FlaskForm):  # type: ignore[misc]
    """A version fetched from the state to import."""

    version = HiddenField(validators=[DataRequired(), Length(max=100)])


def _fetched_source(version: str) -> Any:
    """Return the newest fetched source of a version (parsed JSON), or None when none was fetched."""
    sql = "SELECT source FROM sync_templates WHERE version = ? ORDER BY fetched_at DESC LIMIT 1"
    row = get_db().execute(sql, [version]).fetchone()
    return None if row is None else json.loads(row[0])


def _template_id(source: Any) -> str:
    header = source.get("template") if isinstance(source, dict) else None
    return str(header.get("id", "")) if isinstance(header, dict) else ""


def _not_imported(held: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the fetched versions that are not held yet, newest first, one per version."""
    have = {(h["id"], h["version"]) for h in held}
    result: dict[str, dict[str, Any]] = {}
    for item in fetched_templates(get_db()):
        template_id = _template_id(_fetched_source(item["version"]))
        if (template_id, item["version"]) not in have and item["version"] not in result:
            result[item["version"]] = {**item, "id": template_id}
    return list(result.values())


@bp.get("/templates", endpoint="templates")
def templates_page() -> str:
    """List held template versions (the active one marked) and fetched ones not yet imported."""
    held = template_versions.list_all(get_db())
    return render_template(
        "admin/templates.html",
        held=held,
        fetched=_not_imported(held),
        activate_form=ActivateForm(),
        import_form=ImportForm(),
        when=epoch_time,
    )


@bp.post("/templates/activate")
def activate_template() -> Response:
    """Make a held template version the one new records use."""
    form = ActivateForm()
    if not form.validate_on_submit():
        return refused("admin.templates")
    template_id, version = form.template_id.data or "", form.version.data or ""
    db = get_db()
    try:
        template_versions.activate(db, template_id, version)
    except template_versions.TemplateVersionError as error:
        flash(_("Could not activate: %(error)s", error=str(error)), "error")
        return redirect(url_for("admin.templates"))
    audit.record(db, current_user.username, "template.activate", f"{template_id} {version}")
    flash(_("Template %(id)s %(v)s is now active for new records. Drafts keep their own version.",
            id=template_id, v=version), "info")  # fmt: skip
    return redirect(url_for("admin.templates"))


@bp.post("/templates/import-fetched")
def import_fetched() -> Response:
    """Check a template version fetched from the state and store it (not active)."""
    form = ImportForm()
    if not form.validate_on_submit():
        return refused("admin.templates")
    version = form.version.data or ""
    source = _fetched_source(version)
    if source is None:
        flash(_("No template version %(v)s was fetched from the state.", v=version), "error")
        return redirect(url_for("admin.templates"))
    _import(source, version)
    return redirect(url_for("admin.templates"))


def _import(source: Any, version: str) -> None:
    """Load, check and store one fetched source; flash the outcome."""
    db = get_db()
    try:
        template = template_versions.load_data(source, f"state template {version}")
        added = template_versions.import_template(db, template)
    except TemplateError as error:
        shown = "; ".join(error.errors[:5]) + (" …" if len(error.errors) > 5 else "")
        flash(_("The state's template %(v)s is not valid: %(errors)s", v=version, errors=shown), "error")
        return
    except template_versions.TemplateVersionError as error:
        flash(_("Could not import: %(error)s", error=str(error)), "error")
        return
    audit.record(db, current_user.username, "template.import", f"{template.id} {template.version}")
    if added:
        flash(_("Template %(id)s %(v)s imported. Activate it when you are ready.",
                id=template.id, v=template.version), "info")  # fmt: skip
    else:
        flash(_("Template %(id)s %(v)s was already held.", id=template.id, v=template.version), "info")
