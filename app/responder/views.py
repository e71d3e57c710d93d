"""Responder views: home, start and end shift, new and edit encounter. Thin: parse, call, render."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app import encounter_store, shifts, template_versions, units
from app.db import get_db, write_transaction
from app.errors import CrewlogError
from app.responder import bp, editing
from app.responder.shift_form import crew_from_form, shift_start_form, team_roles

Page = str | Response | tuple[str, int]


def _user() -> Any:
    return current_user._get_current_object()


@bp.get("/")
def home() -> str:
    """Show the open shift with its encounters, and the user's drafts and returned records."""
    db = get_db()
    shift = shifts.open_for_user(db, _user().id)
    mine = encounter_store.list_mine(db, _user())
    notes = {row["id"]: row["return_note"] for row in mine}
    return render_template(
        "responder/home.html",
        shift=shift,
        unit=units.get(db, shift.unit_id) if shift else None,
        started=editing.local_time(shift.started_at, editing.settings()) if shift else "",
        shift_encounters=encounter_store.list_for_shift(db, shift.id) if shift else [],
        mine=mine,
        notes=notes,
        status_label=editing.status_label,
        roles=dict(team_roles(template_versions.active(db))),
        when=lambda iso: editing.local_time(iso, editing.settings()),
    )


@bp.route("/shift/start", methods=["GET", "POST"])
def start_shift() -> Page:
    """Start a shift: pick the unit and who is on the crew with which team role."""
    db = get_db()
    if shifts.open_for_user(db, _user().id):
        flash(_("You are already on an open shift. End it before starting another."), "error")
        return redirect(url_for("responder.home"))
    form = shift_start_form(db, _user(), template_versions.active(db))
    problem = None
    if form.validate_on_submit():
        try:
            with write_transaction(db):
                shifts.start(db, form.unit.data, _user().id, crew_from_form(db, form))
        except shifts.ShiftError as refused:
            problem = _("The shift could not start: %(reason)s.", reason=str(refused))
        else:
            flash(_("Shift started."), "ok")
            return redirect(url_for("responder.home"))
    code = 422 if form.is_submitted() else 200
    return render_template("responder/shift_start.html", form=form, problem=problem), code


@bp.post("/shift/end")
def end_shift() -> Response:
    """End the user's open shift; drafts stay available on the home page."""
    db = get_db()
    shift = shifts.open_for_user(db, _user().id)
    if shift is None:
        flash(_("There is no open shift to end."), "error")
    else:
        with write_transaction(db):
            shifts.end(db, shift.id)
        flash(_("Shift ended. Finish any drafts from the list below."), "ok")
    return redirect(url_for("responder.home"))


@bp.route("/encounters/new", methods=["GET", "POST"])
def new_encounter() -> Page:
    """Show an empty encounter form on the active template, or save what it sends."""
    db = get_db()
    template = template_versions.active(db)
    shift = shifts.open_for_user(db, _user().id)
    if template is None:
        abort(503)
    if shift is None:
        flash(_("Start a shift before logging an encounter."), "error")
        return redirect(url_for("responder.start_shift"))
    if request.method == "GET":
        answers = editing.initial_answers(template, shift, units.get(db, shift.unit_id))
        return editing.render(
            template, editing.blank_form(template, answers, encounter_id=None, revision=None)
        )
    return _submit(template, None)


@bp.route("/encounters/<encounter_id>/edit", methods=["GET", "POST"])
def edit_encounter(encounter_id: str) -> Page:
    """Show a stored encounter in its own template version, or save what the form sends."""
    db = get_db()
    encounter = encounter_store.get(db, encounter_id)
    if encounter is None or encounter.created_by != _user().id:
        abort(404)
    template = template_versions.get(db, encounter.template_id, encounter.template_version)
    if template is None:
        abort(404)
    notes = [n["note"] for n in encounter_store.notes(db, encounter.id) if n["kind"] == "return"][-1:]
    if request.method == "GET":
        form = editing.blank_form(
            template, encounter.answers, encounter_id=encounter.id, revision=encounter.revision
        )
        return editing.render(
            template, form, encounter=encounter, notes=notes if encounter.status == "returned" else []
        )
    return _submit(template, encounter)


def _submit(template: Any, encounter: Any) -> Page:
    """Handle a posted encounter form: row changes, parse errors, draft save or finalize."""
    form = editing.form_class(template)()
    action = editing.submitted_action()
    if action.startswith(("add_row:", "remove_row:")):
        editing.change_rows(form, action)
        return editing.render(template, form, encounter=encounter)
    if not form.validate():
        return editing.render(
            template,
            form,
            code=422,
            encounter=encounter,
            problem=_("Some answers could not be read. Fix the fields marked below."),
        )
    if encounter is not None and str(form.encounter_uuid.data).lower() != encounter.id:
        return editing.render(
            template,
            form,
            code=400,
            encounter=encounter,
            problem=_("This form belongs to another encounter. Reload the page."),
        )
    if action == "finalize":
        return _finalize(template, form, encounter)
    try:
        result = editing.save(template, form, _user(), finalize=False)
    except CrewlogError as refused:
        return _refused(template, form, encounter, refused)
    flash(_("Draft saved."), "ok")
    return redirect(url_for("responder.edit_encounter", encounter_id=result.id))


def _finalize(template: Any, form: Any, encounter: Any) -> Page:
    kept, refused = editing.finalize_or_keep_draft(template, form, _user())
    if refused is None and kept is not None:
        flash(_("Encounter finalized."), "ok")
        return redirect(url_for("responder.home"))
    stored = encounter_store.get(get_db(), kept.id) if kept else encounter
    assert refused is not None
    problem = refused.message + (" " + _("Your answers are saved as a draft.") if kept else "")
    return editing.render(
        template,
        form,
        code=422,
        encounter=stored,
        messages=refused.extra.get("messages", []),
        problem=problem,
    )


def _refused(template: Any, form: Any, encounter: Any, refused: CrewlogError) -> tuple[str, int]:
    messages = refused.extra.get("messages", [])
    return editing.render(
        template, form, code=refused.code, encounter=encounter, messages=messages, problem=refused.message
    )
