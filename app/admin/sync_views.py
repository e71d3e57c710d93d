"""Admin sync page: queue health, quarantined records with "send again", resume, reconciliation.

Every action is CSRF-protected, audited, and answers with a flash message and a redirect.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app, flash, redirect, render_template, session, url_for
from flask_babel import format_datetime, format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from app import audit
from app.admin import bp
from app.db import get_db
from sync import status
from sync.client import SyncFailure
from sync.settings import SyncSettings

log = logging.getLogger(__name__)
REPORT_KEY = "crewlog.reconcile_report"


class ActionForm(FlaskForm):  # type: ignore[misc]
    """A button that only carries the CSRF token."""


class ReconcileForm(FlaskForm):  # type: ignore[misc]
    """The encounter to compare with what the state holds."""

    encounter_id = StringField(_l("Encounter id"), validators=[DataRequired(), Length(max=64)])


def _settings() -> SyncSettings:
    return SyncSettings.from_config(current_app.config["SETTINGS"])


def epoch_time(ts: float | None) -> str:
    """Return a Unix time as a local date and time, or a dash when unknown."""
    return "—" if ts is None else str(format_datetime(datetime.fromtimestamp(ts, UTC)))


def _age(seconds: float | None) -> str:
    return "—" if seconds is None else str(format_timedelta(timedelta(seconds=seconds)))


@bp.get("/sync", endpoint="sync")
def sync_page() -> str:
    """Show queue depth, oldest waiting record, last success and error, pause, quarantine."""
    return render_template(
        "admin/sync.html",
        sync=status.sync_status(get_db()),
        endpoint=_settings().endpoint,
        action_form=ActionForm(),
        reconcile_form=ReconcileForm(),
        report=session.pop(REPORT_KEY, None),
        when=epoch_time,
        age=_age,
    )


def refused(endpoint: str = "admin.sync") -> Response:
    """Flash that a form could not be read (stale CSRF token) and go back to the page."""
    flash(_("The request could not be read (the page may be too old). Reload it and try again."), "error")
    return redirect(url_for(endpoint))


@bp.post("/sync/resume")
def resume_sync() -> Response:
    """Clear a pause and its alert so the worker sends again."""
    if not ActionForm().validate_on_submit():
        return refused()
    db = get_db()
    was_paused = status.resume(db)
    audit.record(db, current_user.username, "sync.resume", None, {"was_paused": was_paused})
    if was_paused:
        flash(_("Sync resumed. The worker sends waiting records at its next run."), "info")
    else:
        flash(_("Sync was not paused; nothing changed."), "info")
    return redirect(url_for("admin.sync"))


@bp.post("/sync/requeue/<int:outbox_id>")
def requeue_record(outbox_id: int) -> Response:
    """Put a quarantined record back in the queue to be sent at the next run."""
    if not ActionForm().validate_on_submit():
        return refused()
    db = get_db()
    row = db.execute("SELECT encounter_id, record_version FROM outbox WHERE id = ?", [outbox_id]).fetchone()
    sent = row is not None and status.requeue(db, outbox_id)
    details = {"outbox_id": outbox_id, "requeued": sent, "record_version": row[1] if row else None}
    audit.record(db, current_user.username, "sync.requeue", row[0] if row else None, details)
    if sent:
        flash(_("Record version %(v)s will be sent again at the next run.", v=row[1]), "info")
    elif row is None:
        flash(_("There is no queued record number %(id)s.", id=outbox_id), "error")
    else:
        flash(_("That record is no longer quarantined (it was sent or is being sent)."), "error")
    return redirect(url_for("admin.sync"))


@bp.post("/sync/reconcile")
def reconcile_record() -> Response:
    """Compare what the state holds for an encounter with what we sent; resend what it lacks."""
    form = ReconcileForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            return refused()
        flash(_("Enter the encounter id to check (at most 64 characters)."), "error")
        return redirect(url_for("admin.sync"))
    encounter_id = (form.encounter_id.data or "").strip()
    settings = _settings()
    if not settings.endpoint:
        flash(_("No state endpoint is configured ([sync] endpoint): nothing to compare with."), "error")
        return redirect(url_for("admin.sync"))
    session[REPORT_KEY] = _checked(encounter_id, settings)
    return redirect(url_for("admin.sync"))


def _checked(encounter_id: str, settings: SyncSettings) -> dict[str, Any] | None:
    """Run the reconciliation, audit it, and return a short report for the page (None on failure)."""
    db = get_db()
    try:
        report = status.reconcile(db, settings, encounter_id)
    except SyncFailure as error:
        log.warning("reconciliation of %s failed: %s", encounter_id, error)
        audit.record(db, current_user.username, "sync.reconcile", encounter_id, {"error": str(error)})
        flash(_("The state could not be asked about this encounter: %(error)s", error=str(error)), "error")
        return None
    short = _short(report)
    audit.record(db, current_user.username, "sync.reconcile", encounter_id, {"versions": short["ours"]})
    flash(_("Reconciliation of %(id)s done.", id=encounter_id), "info")
    return short


def _short(report: dict[str, Any]) -> dict[str, Any]:
    """Return the parts of a reconciliation report the page shows (small enough for the session)."""
    held = report.get("state", {}).get("versions", [])
    keys = ("record_version", "record_status", "status", "times_received", "received_at")
    return {
        "encounter_id": report["encounter_id"],
        "held": [{key: version.get(key) for key in keys} for version in held],
        "ours": report["versions"],
    }
