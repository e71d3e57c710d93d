"""Supervisor views: start page with sync health, shift log, shift page, encounter review and its actions.

Thin: parse, call a query or a review service, render. Every view of an encounter is audited.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app import audit, dashboard, encounter_store, encounters, review, template_versions, units
from app import sign_off as shift_sign_off
from app.db import get_db
from app.errors import CrewlogError
from app.roles import REVIEWERS
from app.supervisor import bp, params, report_cache, shift_log
from app.supervisor.record_view import Reader, answer_blocks, local_time, revision_history
from sync.status import sync_status

PII_ROLES = REVIEWERS  # who may reveal identifying answers on the review page
SHIFT_LOG_DAYS = 14

Page = str | Response | tuple[str, int]


def _user() -> Any:
    return current_user._get_current_object()


def _lang() -> str:
    return str(get_locale() or "en")


def _refresh_payloads() -> None:
    db = get_db()
    if 0 < dashboard.stale_count(db) <= report_cache.INLINE_STALE:
        dashboard.refresh_payloads(db, encounters.current_context())


@bp.get("/")
def index() -> str:
    """Show what waits for review and the sync queue: waiting, quarantined, delivered."""
    db = get_db()
    return render_template(
        "supervisor/index.html",
        waiting=shift_log.waiting_for_review(db),
        sync=sync_status(db),
        when=_when,
        epoch=_from_epoch,
    )


def _when(iso: str | None) -> str:
    return local_time(iso, params.zone(), _lang())


def _from_epoch(ts: float | None) -> str:
    return "—" if ts is None else _when(datetime.fromtimestamp(ts, UTC).isoformat())


@bp.get("/shifts")
def shifts() -> str:
    """List shifts by date and unit with encounter counts, incomplete records and overdue drafts."""
    db = get_db()
    start, end = params.date_range(request.args, SHIFT_LOG_DAYS)
    unit = params.unit_id(db, request.args)
    hours = params.overdue_hours(request.args)
    _refresh_payloads()
    rows = shift_log.list_shifts(db, start, end, unit, params.zone(), hours, datetime.now(UTC))
    return render_template(
        "supervisor/shifts.html",
        shifts=rows,
        start=start,
        end=end,
        hours=hours,
        units=units.list_all(db),
        unit=request.args.get("unit", ""),
        reader=_reader(False),
    )


@bp.get("/shifts/<int:shift_id>")
def shift(shift_id: int) -> Page:
    """Show one shift: its crew, sign-off, and its encounters in call order."""
    return _shift_page(shift_id)


def _shift_page(shift_id: int, problem: str | None = None, code: int = 200) -> Page:
    db = get_db()
    header = shift_log.shift_header(db, shift_id)
    if header is None:
        abort(404)
    template = _active()
    hours = params.overdue_hours(request.args)
    rows = shift_log.shift_encounters(db, template, shift_id, hours, datetime.now(UTC))
    html = render_template(
        "supervisor/shift.html",
        shift=header,
        encounters=rows,
        reader=_reader(False),
        template=template,
        waiting=shift_sign_off.unapproved_in_shift(db, shift_id),
        problem=problem,
        hours=hours,
    )
    return html, code


@bp.post("/shifts/<int:shift_id>/sign-off")
def sign_off(shift_id: int) -> Page:
    """Sign off a shift once every encounter in it is approved or voided."""
    try:
        shift_sign_off.sign_off_shift(get_db(), _user(), shift_id)
    except CrewlogError as refused:
        return _shift_page(shift_id, refused.message, refused.code)
    flash(_("Shift signed off."), "ok")
    return redirect(url_for("supervisor.shift", shift_id=shift_id))


@bp.get("/encounters/<encounter_id>")
def encounter(encounter_id: str) -> Page:
    """Show every answer in template order, the notes, the revisions with their changes, and the actions."""
    return _encounter_page(encounter_id)


def _encounter_page(encounter_id: str, problem: str | None = None, code: int = 200) -> Page:
    db = get_db()
    ctx = encounters.current_context()
    record = encounter_store.get(db, encounter_id, keys=ctx.keys)
    if record is None:
        abort(404)
    template = template_versions.get(db, record.template_id, record.template_version)
    if template is None:
        abort(404)
    show_pii = request.args.get("pii") == "1" and _user().role in PII_ROLES
    audit.record(db, _user().username, "encounter.view", record.id, {"pii": show_pii, "page": "review"})
    reader = Reader(template, params.zone(), _lang(), show_pii)
    html = render_template(
        "supervisor/encounter.html",
        record=record,
        blocks=answer_blocks(reader, record.answers),
        history=revision_history(db, reader, ctx.keys, record.id),
        notes=encounter_store.notes(db, record.id),
        unit=units.get(db, record.unit_id),
        show_pii=show_pii,
        may_see_pii=_user().role in PII_ROLES,
        problem=problem,
        reviewable=record.status in review.REVIEWABLE,
        amendable=record.status in review.AMENDABLE,
        reader=reader,
    )
    return html, code


def _act(encounter_id: str, action: Any, done: str) -> Page:
    """Run a review action; on refusal show the page again with the reason and its status code."""
    try:
        action()
    except CrewlogError as refused:
        return _encounter_page(encounter_id, refused.message, refused.code)
    flash(done, "ok")
    return redirect(url_for("supervisor.encounter", encounter_id=encounter_id))


@bp.post("/encounters/<encounter_id>/return")
def return_encounter(encounter_id: str) -> Page:
    """Return a finalized record to its author with a required note."""
    note = request.form.get("note", "")
    return _act(
        encounter_id,
        lambda: review.return_for_correction(get_db(), _user(), encounter_id, note),
        _("Returned to the crew with your note."),
    )


@bp.post("/encounters/<encounter_id>/approve")
def approve_encounter(encounter_id: str) -> Page:
    """Approve a finalized record (it is then locked)."""
    note = request.form.get("note", "")
    return _act(encounter_id, lambda: review.approve(get_db(), _user(), encounter_id, note), _("Approved."))


@bp.post("/encounters/<encounter_id>/void")
def void_encounter(encounter_id: str) -> Page:
    """Void a record with a required reason."""
    reason = request.form.get("reason", "")
    return _act(encounter_id, lambda: review.void(get_db(), _user(), encounter_id, reason), _("Voided."))


def _active() -> Any:
    template = template_versions.active(get_db())
    if template is None:
        abort(503)
    return template


def _reader(show_pii: bool) -> Reader:
    return Reader(_active(), params.zone(), _lang(), show_pii)
