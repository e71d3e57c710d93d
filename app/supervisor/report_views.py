"""Metrics dashboard and CSV exports. Every export is audited; the full one asks for a confirmation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, abort, current_app, render_template, request, stream_with_context
from flask_babel import gettext as _
from flask_login import current_user

from app import audit, dashboard, encounters, exports, template_versions, units
from app.dashboard import ReportRequest
from app.db import get_db
from app.errors import BadRequest
from app.supervisor import bp, dashboard_view, params, report_cache
from sync.status import sync_status

DASHBOARD_DAYS = 28
EXPORT_DAYS = 31
CONFIRM_WORD = "yes"


def _template() -> Any:
    template = template_versions.active(get_db())
    if template is None:
        abort(503)
    return template


def _request(template: Any) -> ReportRequest:
    """Return the dashboard question in the query string, or raise BadRequest naming what is wrong."""
    start, end = params.date_range(request.args, DASHBOARD_DAYS)
    by = (request.args.get("by") or "").strip() or None
    known = dict(dashboard_view.dimensions(template))
    if by is not None and by not in known:
        raise BadRequest(
            _("Cannot break the metrics down by '%(by)s'. Pick one from the list.", by=by[:40]),
            details={"field": "by"},
        )
    return ReportRequest(
        start, end, params.unit_id(get_db(), request.args), by, request.args.get("exact") == "1"
    )


@bp.get("/metrics")
def metrics() -> tuple[str, int]:
    """Show the template's metrics over a date range, optionally for one unit and by one breakdown."""
    template = _template()
    question = _request(template)
    now = datetime.now(params.zone()).replace(tzinfo=None)
    outcome = report_cache.reports.outcome(
        get_db(), current_app_db(), template, question, encounters.current_context(), now
    )
    report = outcome.report
    html = render_template(
        "supervisor/metrics.html",
        question=question,
        outcome=outcome,
        report=report,
        cards=dashboard_view.cards(template, report, question.by, question.exact) if report else [],
        weekly=dashboard_view.weekly_charts(report, question.exact) if report else None,
        issues=[q for q in report["quality"] if q["not_values"] or q["missing"]] if report else [],
        dimensions=dashboard_view.dimensions(template),
        units=units.list_all(get_db()),
        unit=request.args.get("unit", ""),
        sync=sync_status(get_db()),
    )
    return html, 200 if report else 202


def current_app_db() -> str:
    """Return the database path of the running app (background reports open their own connection)."""
    return str(current_app.config["DATABASE"])


@bp.get("/export.csv")
def state_export() -> Response:
    """Download the de-identified state-shaped records of a date range as CSV (audited)."""
    db = get_db()
    template = _template()
    start, end = params.date_range(request.args, EXPORT_DAYS)
    question = ReportRequest(start, end, params.unit_id(db, request.args))
    dashboard.refresh_payloads(db, encounters.current_context())
    extended = encounters.current_context().extended
    names = exports.header(exports.state_columns(template, extended))
    audit.record(
        db,
        current_user.username,
        "export.state_csv",
        None,
        {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "unit": request.args.get("unit") or None,
            "records": dashboard.count_in_range(db, question),
        },
    )
    rows = exports.state_rows(db, template, question, extended)
    return _download(exports.csv_lines(names, rows), f"crewlog-state-{start}-{end}.csv")


@bp.get("/export/full")
def full_export() -> str:
    """Show the admin's full export form: the range and a confirmation that identifying data leaves."""
    start, end = params.date_range(request.args, EXPORT_DAYS)
    return render_template(
        "supervisor/full_export.html",
        start=start,
        end=end,
        units=units.list_all(get_db()),
        unit=request.args.get("unit", ""),
        problem=None,
    )


@bp.post("/export/full.csv")
def full_export_csv() -> Any:
    """Download every record of the range with identifying fields, once the admin confirmed (audited)."""
    db = get_db()
    template = _template()
    start, end = params.date_range(request.form, EXPORT_DAYS)
    unit_id = params.unit_id(db, request.form)
    if request.form.get("confirm") != CONFIRM_WORD:
        page = render_template(
            "supervisor/full_export.html",
            start=start,
            end=end,
            units=units.list_all(db),
            unit=request.form.get("unit", ""),
            problem=_("Tick the box to confirm you will protect the identifying data."),
        )
        return page, 400
    ctx = encounters.current_context()
    names = exports.header(exports.full_columns(template, ctx.extended), exports.LOCAL_COLUMNS)
    audit.record(
        db,
        current_user.username,
        "export.full_csv",
        None,
        {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "unit": request.form.get("unit") or None,
            "records": exports.count_records(db, start.isoformat(), end.isoformat(), unit_id),
            "confirmed": True,
        },
    )
    rows = exports.full_rows(
        db, template, ctx.keys, start.isoformat(), end.isoformat(), unit_id, ctx.extended
    )
    return _download(exports.csv_lines(names, rows), f"crewlog-full-{start}-{end}.csv")


def _download(lines: Any, filename: str) -> Response:
    response = Response(stream_with_context(lines), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
