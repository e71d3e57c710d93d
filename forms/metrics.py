"""Compute the template's metrics over de-identified payload records.

The program's dashboard and the state's receiver call the same function on the same
payloads (what forms.payload.shape_payload returns), so they publish identical numbers.

Base set: the latest `record_version` of each `encounter_id`, kept when its
`record_status` is `final` or `amended` (a voided latest version retracts the
encounter); period by `encounter_date` (or `encounter_month`, kept when the month
overlaps the period). A person-unit metric has one row per person, reading its
encounter's values too.

Result (JSON-able)::

    {"period": {"start": "2026-03-01" | None, "end": ..., "now": iso datetime,
                "records": n read, "skipped_records": n not readable, "encounters": n in
                the base set, "persons": n person rows, "suppress_below": 11,
                "suppressed": bool (suppression applied)},
     "metrics": {metric_id: {
         "id", "label", "kind", "unit",
         ...figures...,
         "suppressed": bool,
         "breakdowns": {dimension: [{"value": cell, ...figures..., "suppressed": bool}]}}}}

Figures by kind:

- count: `count` (rows, distinct values, or the sum; a sum also has `rows`);
- rate: `numerator`, `denominator`, `percent` (one decimal; None without a denominator);
- duration: `n`, and per aggregation `median_s`/`median_min`, `p90_s`/`p90_min`,
  `mean_s`/`mean_min` (seconds, and minutes with one decimal for display);
- completeness: `numerator`, `denominator`, `percent` summed over the fields, and
  `fields`: [{"field", "label", "numerator", "denominator", "percent", "suppressed"}].

Suppression (forms/suppression.py) turns small counts into "<11" and removes derived
figures. `breakdowns` is empty unless asked for; the dimensions are the metric's
breakdown sets expanded (`month` = YYYY-MM, a payload field, or a named filter with
cells true/false); a multi_enum value counts under each of its codes, a NOT/PN value
under its code, a missing value under None. `unit_field` adds a breakdown by that
payload field (e.g. `unit_key`, or `agency_id` at the state) to every metric.

A metric with `min_period_age_h` (follow-up completion: the window must have passed)
is `"pending": true`, its figures left out and `"available_after"` set, when the period
ended less than that long before `now`; otherwise `"pending": false`. Without a period
end, it covers the encounters up to the last day that ended that long ago (`"through"`).

How it stays fast (100,000 encounters): records are laid out as columns once
(forms/metric_store.py: a program's dashboard keeps its store between reports and adds
what changed; `compute_metrics` builds one for its records); conditions are compiled
once with forms.conditions.compile_condition and each leaf runs once per distinct value
of its field (forms/metric_masks.py); counting uses C-level list and bytes operations.
Pieces: metric_store (columns), metric_base (base set), metric_rows (a report's rows),
metric_kinds (count, rate, duration), completeness, breakdown_cells, suppression, figures.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any

from forms.breakdown_cells import MONTH, PERIOD_DATE, PERIOD_MONTH
from forms.completeness import Completeness, measured_fields
from forms.metric_base import Window
from forms.metric_kinds import KINDS
from forms.metric_masks import leaf_fields
from forms.metric_rows import MetricError, MetricRows
from forms.metric_store import ColumnStore, person_group
from forms.model import Metric, Template
from forms.suppression import DEFAULT_SUPPRESS_BELOW, suppress, suppress_cells

__all__ = [
    "ColumnStore",
    "MetricError",
    "collector_paused",
    "compute_held",
    "compute_metrics",
    "person_group",
]

log = logging.getLogger(__name__)

DIMENSION_ALIASES = {"agency": "agency_id"}
FIELD_DIMENSION = "field"

Figures = dict[str, Any]


def compute_metrics(
    template: Template,
    records: Iterable[Mapping[str, Any]],
    *,
    start: date | None = None,
    end: date | None = None,
    now: datetime | None = None,
    suppress: bool = True,
    breakdowns: bool = False,
    unit_field: str | None = None,
) -> dict[str, Any]:
    """Return every metric of the template over payload records (see the module docstring)."""
    with collector_paused():
        dated = breakdowns or (end is None and any(min_period_age_h(template, m) for m in template.metrics))
        store = ColumnStore(template, needed_fields(template, breakdowns, unit_field, dated))
        store.add(records)
        return _compute(store, store.base(start, end), start, end, now, suppress, breakdowns, unit_field)


def compute_held(
    store: ColumnStore,
    *,
    start: date | None = None,
    end: date | None = None,
    now: datetime | None = None,
    suppress: bool = True,
    breakdowns: bool = False,
    unit_field: str | None = None,
    tags: Mapping[str, Any] | None = None,
    metric_ids: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Return the metrics (all, or those named) over the records a store holds, in a period, with tags."""
    missing = needed_fields(store.template, breakdowns, unit_field, True) - store.names
    if missing:
        raise MetricError(f"the store does not hold the fields {', '.join(sorted(missing))}")
    with collector_paused():
        base = store.base(start, end, **(tags or {}))
        only = None if metric_ids is None else set(metric_ids)
        return _compute(store, base, start, end, now, suppress, breakdowns, unit_field, only)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector, restoring it after (nested uses are fine).

    Parsed payloads and the columns are many small dicts, lists and tuples, none of them
    cyclic, and every full collection would walk each of them: a third of the time otherwise.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _compute(
    store: ColumnStore,
    base: bytes,
    start: date | None,
    end: date | None,
    now: datetime | None,
    suppress: bool,
    breakdowns: bool,
    unit_field: str | None,
    only: set[str] | None = None,
) -> dict[str, Any]:
    template = store.template
    moment = now or datetime.now()
    below = int(template.parameters.get("suppress_below", DEFAULT_SUPPRESS_BELOW))
    rows = MetricRows(store, base)
    period = {
        "start": start.isoformat() if start else None, "end": end.isoformat() if end else None,
        "now": moment.isoformat(), "records": store.records, "skipped_records": store.unreadable,
        "encounters": rows.count("encounter"), "persons": rows.count("person"),
        "suppress_below": below, "suppressed": suppress,
    }  # fmt: skip
    context = _Context(template, rows, below if suppress else None, breakdowns, unit_field)
    results = {}
    for metric in template.metrics:
        if only is not None and metric.id not in only:
            continue
        last_usable = _last_usable_day(template, metric, moment)
        if last_usable is None:
            results[metric.id] = context.compute(metric)
        elif end is not None and end <= last_usable:
            results[metric.id] = {**context.compute(metric), "pending": False}
        else:
            results[metric.id] = _waiting(context, metric, end, last_usable)
    return {"period": period, "metrics": results}


class _Context:
    """What every metric of one computation shares: rows, suppression, breakdown choice."""

    def __init__(
        self,
        template: Template,
        rows: MetricRows,
        below: int | None,
        breakdowns: bool,
        unit_field: str | None,
    ) -> None:
        self.template = template
        self.rows = rows
        self.below = below
        self.breakdowns = breakdowns
        self.unit_field = unit_field

    def compute(self, metric: Metric, through: list[bool] | None = None) -> dict[str, Any]:
        """Return one metric's result (over the encounters marked in `through`, when given)."""
        head = {"id": metric.id, "label": metric.label, "kind": metric.kind, "unit": metric.unit}
        if metric.kind == "completeness":
            return {**head, **self._completeness(metric)}
        if metric.unit != "encounter" and self.rows.group is None:
            raise MetricError(f"metric '{metric.id}': unit '{metric.unit}' needs a repeat group")
        unit = metric.unit if metric.unit == "encounter" else "person"
        within = through if through is None or unit == "encounter" else self.rows.expand(through)
        kind = KINDS[metric.kind](self.rows, unit, metric, within)
        split = {}
        for dim in self.dimensions(metric):
            split[dim] = self._cells(metric.kind, kind.by_cells(self.rows.split(unit, dim)))
        return {**head, **self._one(metric.kind, kind.total()), "breakdowns": split}

    def _completeness(self, metric: Metric) -> dict[str, Any]:
        measure = Completeness(self.rows, self.template)
        total = measure.total()
        fields = total.pop("fields")
        split = {dim: self._cells("completeness", measure.by_dim(dim)) for dim in self.dimensions(metric)}
        if self.below is not None:
            fields = suppress_cells("completeness", fields, self.below)
        return {**self._one("completeness", total), "fields": fields, "breakdowns": split}

    def dimensions(self, metric: Metric) -> list[str]:
        """Return the metric's breakdown dimensions to compute (none unless asked for)."""
        return dimensions(self.template, metric, self.breakdowns, self.unit_field)

    def _one(self, kind: str, figures: Figures) -> Figures:
        return (
            suppress(kind, figures, self.below)
            if self.below is not None
            else {**figures, "suppressed": False}
        )

    def _cells(self, kind: str, cells: Mapping[Any, Figures]) -> list[Figures]:
        listed = [{"value": value, **figures} for value, figures in cells.items()]
        if self.below is None:
            return [{**c, "suppressed": False} for c in listed]
        return suppress_cells(kind, listed, self.below)


def dimensions(template: Template, metric: Metric, breakdowns: bool, unit_field: str | None) -> list[str]:
    """Return a metric's breakdown dimensions to compute (none unless asked for, plus unit_field)."""
    names = expand_breakdowns(template, metric.breakdowns) if breakdowns else []
    if unit_field:
        names.append(unit_field)
    return list(dict.fromkeys(DIMENSION_ALIASES.get(n, n) for n in names if n != FIELD_DIMENSION))


def needed_fields(template: Template, breakdowns: bool, unit_field: str | None, dated: bool) -> set[str]:
    """Return every payload field the metrics will read, so that each row is walked once."""
    filters = template.filters
    wanted = {PERIOD_DATE, PERIOD_MONTH} if dated else set()
    for metric in template.metrics:
        spec = metric.spec
        for key in ("filter", "numerator", "denominator"):
            wanted |= leaf_fields(spec.get(key), filters)
        wanted |= {str(spec[k]) for k in ("distinct", "sum", "value") if k in spec}
        for dim in dimensions(template, metric, breakdowns, unit_field):
            if dim in filters:
                wanted |= leaf_fields({"use": dim}, filters)
            elif dim != MONTH:
                wanted.add(dim)
    for item in measured_fields(template):
        wanted |= leaf_fields(item.field.relevant, filters)
        wanted.add(item.output)
    return wanted


def expand_breakdowns(
    template: Template, names: Iterable[str], seen: frozenset[str] = frozenset()
) -> list[str]:
    """Return breakdown dimensions with named sets (e.g. PER = ENC + ...) expanded, in order."""
    found: list[str] = []
    for name in names:
        if name in template.breakdowns and name not in seen:
            found += expand_breakdowns(template, template.breakdowns[name], seen | {name})
        elif name not in template.breakdowns:
            found.append(name)
    return list(dict.fromkeys(found))


def min_period_age_h(template: Template, metric: Metric) -> int | None:
    """Return the metric's `min_period_age_h`, or None when it has none."""
    hours = metric.spec.get("min_period_age_h")
    return None if hours is None else int(hours)


def _last_usable_day(template: Template, metric: Metric, now: datetime) -> date | None:
    """Return the last day that ended at least `min_period_age_h` before now (None: no such rule)."""
    hours = min_period_age_h(template, metric)
    if hours is None:
        return None
    cutoff = now.replace(tzinfo=None) - timedelta(hours=hours)
    return cutoff.date() - timedelta(days=1)


def _waiting(context: _Context, metric: Metric, end: date | None, last_usable: date) -> dict[str, Any]:
    """Return a metric whose window has not passed: pending for a set period, else cut short."""
    if end is not None:
        hours = min_period_age_h(context.template, metric) or 0
        available = datetime.combine(end + timedelta(days=1), time()) + timedelta(hours=hours)
        head = {"id": metric.id, "label": metric.label, "kind": metric.kind, "unit": metric.unit}
        return {**head, "pending": True, "available_after": available.isoformat(), "suppressed": False,
                "breakdowns": {}}  # fmt: skip
    dates, months = (
        context.rows.column("encounter", PERIOD_DATE),
        context.rows.column("encounter", PERIOD_MONTH),
    )
    through = Window("", last_usable.isoformat()).mask(dates, months)
    return {**context.compute(metric, through), "pending": False, "through": last_usable.isoformat()}
