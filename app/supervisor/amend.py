"""Amend an approved record: the encounter form, prefilled, plus a required reason.

The form is the responder's own (forms.builder via app.responder.editing), so the same
fields and parsing apply; review.amend validates like a finalize and writes a new
revision and record version with its outbox row.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app import audit, encounter_store, encounters, review, template_versions
from app.db import get_db
from app.errors import CrewlogError
from app.responder import editing
from app.responder.layout import Arranger
from app.supervisor import bp
from forms.builder import answers_from_form
from forms.model import Template
from forms.normalize import normalize

Page = str | Response | tuple[str, int]


@bp.route("/encounters/<encounter_id>/amend", methods=["GET", "POST"])
def amend_encounter(encounter_id: str) -> Page:
    """Show the approved record's form with a reason box, or apply the amendment it sends."""
    db = get_db()
    record = encounter_store.get(db, encounter_id, keys=encounters.current_context().keys)
    if record is None:
        abort(404)
    template = template_versions.get(db, record.template_id, record.template_version)
    if template is None:
        abort(404)
    if record.status not in review.AMENDABLE:
        flash(_("Only approved records are amended; return this one for correction instead."), "error")
        return redirect(url_for("supervisor.encounter", encounter_id=record.id))
    if request.method == "GET":
        audit.record(db, current_user.username, "encounter.view", record.id, {"pii": True, "page": "amend"})
        form = editing.blank_form(template, record.answers, encounter_id=record.id, revision=record.revision)
        return _render(template, form, record)
    return _submit(template, record)


def _submit(template: Template, record: Any) -> Page:
    form = editing.form_class(template)()
    action = editing.submitted_action()
    if action.startswith(("add_row:", "remove_row:")):
        editing.change_rows(form, action)
        return _render(template, form, record)
    if not form.validate():
        return _render(
            template,
            form,
            record,
            code=422,
            problem=_("Some answers could not be read. Fix the fields marked below."),
        )
    base = form.base_revision.data
    try:
        review.amend(
            get_db(),
            current_user._get_current_object(),
            record.id,
            answers_from_form(template, form),
            request.form.get("reason", ""),
            base_revision=int(base) if base else None,
            acknowledged=list(form.acknowledged.data or []),
        )
    except CrewlogError as refused:
        return _render(
            template,
            form,
            record,
            code=refused.code,
            problem=refused.message,
            messages=refused.extra.get("messages", []),
        )
    flash(_("Amended: a new version was saved and queued for the state."), "ok")
    return redirect(url_for("supervisor.encounter", encounter_id=record.id))


def _render(
    template: Template,
    form: Any,
    record: Any,
    *,
    code: int = 200,
    problem: str | None = None,
    messages: list[dict[str, Any]] | None = None,
) -> tuple[str, int]:
    try:
        answers = answers_from_form(template, form)
    except (TypeError, ValueError):
        answers = {}
    answers = normalize(template, answers, extended=editing.extended(), finalize=False)
    page = Arranger(template, answers, messages or [], editing.language()).page(form)
    html = render_template(
        "supervisor/amend.html",
        form=form,
        page=page,
        record=record,
        problem=problem,
        reason=request.form.get("reason", ""),
        acknowledged=list(form.acknowledged.data or []),
    )
    return html, code
