"""The metrics dashboard: shaped payloads kept per encounter, reports over them, and a report cache.

Every finalized record version is shaped once into the de-identified payload the state
receives (the same `finalize.state_payload` the outbox gets) and kept in
`metric_records`. A trigger marks an encounter in `metric_stale` in the very transaction
that gives it a new record version; `refresh_payloads` re-shapes those from the latest
finalized revision. The kept payloads are held as columns in memory
(app.held_records: a forms.metric_store.ColumnStore brought up to date before each
report), and reports run the state's own code over them (`forms.metrics.compute_held`);
app.supervisor.report_cache keeps and schedules the reports.

A report stays quick: the weekly series and the quality table read the same store, and
each weekly metric is counted once with the week as its cells.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import compress, repeat
from operator import not_
from typing import Any

import sqlite_utils

from app import template_versions
from app.crypto import open_answers
from app.db import write_transaction
from app.finalize import RecordContext, state_payload
from app.held_records import UNIT_TAG, parse_payload
from forms.breakdown_cells import PERIOD_DATE, Split
from forms.figures import percent
from forms.frozen import is_frozen_object, thaw
from forms.metric_kinds import KINDS
from forms.metric_masks import either
from forms.metric_rows import MetricRows
from forms.metric_store import ENCOUNTER, ColumnStore
from forms.metrics import collector_paused, compute_held, min_period_age_h
from forms.model import Field, Metric
from forms.suppression import DEFAULT_SUPPRESS_BELOW, suppress

log = logging.getLogger(__name__)

FINALIZED = ("final", "amended", "approved", "voided")  # revision statuses a kept payload is shaped from
WEEKLY_METRICS = ("encounter_volume", "response_time")  # normative metric ids (standard template 6.2)
QUALITY_LEVELS = ("M", "R", "Rec")
REFRESH_BATCH = 200
FEW_VALUES = 256  # a field with fewer distinct values is counted value by value in the quality table
_NO_CODE = object()  # an answer object without an `nv` code

Report = dict[str, Any]


@dataclass(frozen=True)
class ReportRequest:
    """What a dashboard shows: a date range, optionally one unit, one breakdown, exact small cells."""

    start: date
    end: date
    unit_id: int | None = None
    by: str | None = None
    exact: bool = False

    def key(self) -> tuple[Any, ...]:
        """Return the cache key of the question (without the data version)."""
        return (self.start.isoformat(), self.end.isoformat(), self.unit_id, self.by, self.exact)


def stale_count(db: sqlite_utils.Database) -> int:
    """Return how many encounters wait to be re-shaped."""
    return int(db.execute("SELECT count(*) FROM metric_stale").fetchone()[0])


def data_version(db: sqlite_utils.Database) -> int:
    """Return a number that changes whenever a kept payload changes."""
    return int(db.execute("SELECT coalesce(max(seq), 0) FROM metric_records").fetchone()[0])


def refresh_payloads(db: sqlite_utils.Database, ctx: RecordContext, limit: int | None = None) -> int:
    """Shape the encounters marked stale into metric_records; return how many were shaped."""
    done = 0
    while limit is None or done < limit:
        ids = [r[0] for r in db.execute("SELECT encounter_id FROM metric_stale LIMIT ?", [REFRESH_BATCH])]
        if not ids:
            break
        shaped = [_shape(db, encounter_id, ctx) for encounter_id in ids]
        with write_transaction(db):
            for encounter_id, entry in zip(ids, shaped, strict=True):
                _keep(db, encounter_id, entry)
        done += len(ids)
    return done


def _shape(db: sqlite_utils.Database, encounter_id: str, ctx: RecordContext) -> dict[str, Any] | None:
    """Return the kept row of an encounter's latest finalized revision, or None when there is none."""
    row = db.execute(
        "SELECT e.record_version, e.unit_id, e.encounter_date, e.template_id,"
        " e.template_version, r.answers, r.revision FROM encounters e"
        " JOIN encounter_revisions r ON r.encounter_id = e.id"
        f" WHERE e.id = ? AND r.status IN ({', '.join('?' * len(FINALIZED))})"
        " ORDER BY r.revision DESC LIMIT 1",
        [encounter_id, *FINALIZED],
    ).fetchone()
    template = template_versions.get(db, row[3], row[4]) if row else None
    if row is None or template is None:
        return None
    try:
        payload = state_payload(template, open_answers(json.loads(row[5]), ctx.keys, encounter_id), ctx)
    except ValueError:
        log.exception("encounter %s could not be shaped for the dashboard", encounter_id)
        return None
    return {
        "record_version": row[0],
        "revision": row[6],
        "unit_id": row[1],
        "encounter_date": row[2],
        "payload": json.dumps(payload, separators=(",", ":")),
    }


def _keep(db: sqlite_utils.Database, encounter_id: str, entry: dict[str, Any] | None) -> None:
    """Store a shaped payload unless a newer version or revision was saved meanwhile (it stays marked).

    An approval adds a revision to the same version: a shaping that read the revision before
    it must not consume the mark the approval set.
    """
    current = db.execute(
        "SELECT record_version, (SELECT max(revision) FROM encounter_revisions WHERE encounter_id = ?"
        f" AND status IN ({', '.join('?' * len(FINALIZED))})) FROM encounters WHERE id = ?",
        [encounter_id, *FINALIZED, encounter_id],
    ).fetchone()
    if entry is not None and (
        current is None or tuple(current) != (entry["record_version"], entry["revision"])
    ):
        return
    db.execute("DELETE FROM metric_stale WHERE encounter_id = ?", [encounter_id])
    if entry is None:
        return
    db.execute(
        "INSERT INTO metric_records (encounter_id, record_version, unit_id, encounter_date, payload, seq)"
        " VALUES (?, ?, ?, ?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM metric_records))"
        " ON CONFLICT(encounter_id) DO UPDATE SET record_version = excluded.record_version,"
        " unit_id = excluded.unit_id, encounter_date = excluded.encounter_date, payload = excluded.payload,"
        " seq = excluded.seq",
        [encounter_id, entry["record_version"], entry["unit_id"], entry["encounter_date"], entry["payload"]],
    )


def _range_sql(request: ReportRequest) -> tuple[str, list[Any]]:
    where = "encounter_date BETWEEN ? AND ?"
    params: list[Any] = [request.start.isoformat(), request.end.isoformat()]
    if request.unit_id is not None:
        where, params = where + " AND unit_id = ?", [*params, request.unit_id]
    return where, params


def count_in_range(db: sqlite_utils.Database, request: ReportRequest) -> int:
    """Return how many kept payloads fall in the request's range and unit."""
    where, params = _range_sql(request)
    return int(db.execute(f"SELECT count(*) FROM metric_records WHERE {where}", params).fetchone()[0])


def load_payloads(db: sqlite_utils.Database, request: ReportRequest) -> list[dict[str, Any]]:
    """Return the kept payloads in the request's range and unit, oldest first."""
    where, params = _range_sql(request)
    rows = db.execute(f"SELECT payload FROM metric_records WHERE {where} ORDER BY encounter_date", params)
    with collector_paused():
        return [parse_payload(r[0]) for r in rows]


def build_report(store: ColumnStore, request: ReportRequest, now: datetime) -> Report:
    """Return the metrics, the weekly series and the data-quality table over a store's payloads."""
    tags = {} if request.unit_id is None else {UNIT_TAG: request.unit_id}
    with collector_paused():
        metrics = compute_held(
            store,
            start=request.start,
            end=request.end,
            now=now,
            suppress=not request.exact,
            unit_field=request.by,
            tags=tags,
        )
        rows = MetricRows(store, store.base(request.start, request.end, **tags))
        weekly, quality = weekly_series(rows, request, now), field_quality(rows)
    return {
        "computed_at": now.isoformat(timespec="seconds"),
        "records": metrics["period"]["encounters"],
        "metrics": metrics,
        "weekly": weekly,
        "quality": quality,
    }


def prepare(store: ColumnStore, now: datetime) -> None:
    """Derive what every report reads from the store (masks, codes, seconds) ahead of the first report."""
    with collector_paused():
        compute_held(store, now=now)
        field_quality(MetricRows(store, store.base()))


def weekly_series(rows: MetricRows, request: ReportRequest, now: datetime) -> list[dict[str, Any]]:
    """Return, per ISO week of the range, the template's volume and response-time figures.

    Each metric is counted once over the whole range with the week as breakdown cell
    (forms.metric_kinds, the code compute_metrics runs), then every week is suppressed on
    its own as a separate report of that week would be. Metrics with a waiting period or
    of the completeness kind fall back to one computation per week.
    """
    template = rows.template
    chosen = [m for m in template.metrics if m.id in WEEKLY_METRICS]
    if not chosen:
        return []
    weeks = _week_split(rows, request)
    below = None if request.exact else int(template.parameters.get("suppress_below", DEFAULT_SUPPRESS_BELOW))
    series: dict[date, dict[str, Any]] = {w: {"week": w.isoformat()} for w in weeks[ENCOUNTER].universe if w}
    for metric in chosen:
        if metric.kind not in KINDS or min_period_age_h(template, metric) is not None:
            _weekly_one_by_one(rows.store, metric, series, request, now)
            continue
        unit = ENCOUNTER if metric.unit == ENCOUNTER else "person"
        cells = KINDS[metric.kind](rows, unit, metric).by_cells(weeks[unit])
        head = {"id": metric.id, "label": metric.label, "kind": metric.kind, "unit": metric.unit}
        for monday, week in series.items():
            figures = cells[monday]
            shown = (
                {**figures, "suppressed": False} if below is None else suppress(metric.kind, figures, below)
            )
            week[metric.id] = {**head, **shown, "breakdowns": {}}
    return [series[w] for w in sorted(series)]


def _week_split(rows: MetricRows, request: ReportRequest) -> dict[str, Split]:
    """Return, per unit, the Monday of each row's encounter date (None when dated by month only)."""
    dates = rows.column(ENCOUNTER, PERIOD_DATE)
    mondays: dict[Any, date | None] = {}
    for day in set(dates):
        mondays[day] = _monday(date.fromisoformat(day)) if isinstance(day, str) else None
    values = list(map(mondays.__getitem__, dates))
    found = set(compress(values, rows.base[ENCOUNTER]))
    universe: list[date | None] = [*sorted({*_mondays(request.start, request.end), *filter(None, found)})]
    universe += [None] if None in found else []
    split = {ENCOUNTER: Split(values, False, universe)}
    if rows.group is not None:
        split["person"] = Split(rows.expand(values), False, universe)
    return split


def _weekly_one_by_one(
    store: ColumnStore,
    metric: Metric,
    series: dict[date, dict[str, Any]],
    request: ReportRequest,
    now: datetime,
) -> None:
    """Add one metric to every week by computing it over that week alone."""
    tags = {} if request.unit_id is None else {UNIT_TAG: request.unit_id}
    for monday, week in series.items():
        result = compute_held(
            store, start=monday, end=monday + timedelta(days=6), now=now, suppress=not request.exact,
            tags=tags, metric_ids=(metric.id,),
        )  # fmt: skip
        week[metric.id] = result["metrics"][metric.id]


def field_quality(rows: MetricRows) -> list[dict[str, Any]]:
    """Return per M, R and Rec field seen in payloads: rows in scope, NOT values, blank recommended ones.

    A row is in scope when the field is relevant there or holds an answer anyway. A field
    with few distinct values is counted once per value (`MetricRows.tally`), any other
    with C-level list counts, so a year of a large program stays quick.
    """
    found = []
    for f in rows.template.fields.values():
        if f.usage not in QUALITY_LEVELS or f.to_state not in ("send", "generalize"):
            continue
        unit = ENCOUNTER if f.group is None else "person"
        output = f.generalize.output if f.generalize else f.id
        counts = _answer_counts(rows, unit, output)
        size = rows.count(unit)
        if not f.core and counts.absent == size:
            continue  # an extended field this program does not collect
        scope = size
        if f.relevant:
            relevant_or_held = either(rows.mask(unit, f.relevant), rows.present(unit, output))
            scope = rows.within(unit, relevant_or_held).count(1)
        found.append(_quality_row(f, counts, scope, counts.absent - (size - scope)))
    return found


@dataclass(frozen=True)
class AnswerCounts:
    """Over the base rows: how many lack the field, hold it blank ("" or []), and hold each NOT value."""

    absent: int
    blank: int
    nots: Counter[str]


def _answer_counts(rows: MetricRows, unit: str, output: str) -> AnswerCounts:
    """Count one field's absent, blank and NOT-value answers over the base rows."""
    coded = rows.codes(unit, output, number=False)
    if coded is not None and len(coded.distinct) < FEW_VALUES:
        tally = rows.tally(unit, output)
        nots: Counter[str] = Counter()
        for value, count in tally.items():
            answer = thaw(value) if is_frozen_object(value) else None
            if isinstance(answer, dict) and "value" not in answer and "nv" in answer:
                nots[answer["nv"]] += count
        return AnswerCounts(tally.get(None, 0), tally.get("", 0) + tally.get((), 0), nots)
    values = rows.values(unit, output)
    answers = list(compress(values, map(isinstance, values, repeat(dict))))
    bare = compress(answers, map(not_, map(dict.__contains__, answers, repeat("value"))))
    found: Counter[Any] = Counter(map(dict.get, bare, repeat("nv"), repeat(_NO_CODE)))
    found.pop(_NO_CODE, None)
    return AnswerCounts(values.count(None), values.count("") + values.count([]), found)


def _quality_row(f: Field, counts: AnswerCounts, scope: int, absent: int) -> dict[str, Any]:
    """Return one field's data-quality figures."""
    nots = sum(counts.nots.values())
    recommended = f.usage == "Rec"
    missing = absent + counts.blank if recommended else 0
    return {
        "field": f.id,
        "label": f.label,
        "usage": f.usage,
        "n": scope,
        "not_values": nots,
        "not_percent": percent(nots, scope),
        "codes": dict(counts.nots.most_common()),
        "missing": missing,
        "missing_percent": percent(missing, scope) if recommended else None,
    }


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _mondays(start: date, end: date) -> list[date]:
    first, last = _monday(start), _monday(end)
    return [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]
