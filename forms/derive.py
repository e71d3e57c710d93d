"""Compute the template's [[derived]] values: intervals, local dates, hours and months.

Derived values go to the state instead of the exact times they come from (fields with
`to_state = "derive"`), and metrics read them. A start or end list names fields or
earlier derived values; the first one holding a real value is used. A value is omitted
when a start or end has no real value, when the interval is negative, or when the
derived entry's `when` condition does not hold.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from forms.conditions import Predicate, decode, has_real, parse_instant, template_cached, template_predicate
from forms.model import Derived, Template

log = logging.getLogger(__name__)

INTERVAL_KINDS = ("seconds", "minutes", "hours", "days")
LOCAL_KINDS = ("local_date", "local_hour", "local_month")


def real_value(stored: Any) -> Any:
    """Return the real value inside a stored value, or None when it has none."""
    real = decode(stored)[0]
    return real if has_real(real) else None


def derive_level(
    template: Template,
    level: str,
    values: Mapping[str, Any],
    row: Mapping[str, Any] | None = None,
    outer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the derived values of one level (`encounter` or a group id), in template order.

    `values` are the encounter's answers, `row` the person row for a group level, and
    `outer` the encounter's derived values, which a row's derived values may start from.
    """
    found: dict[str, Any] = {}
    scope = {**values, **(outer or {})}  # what a `when` reads: values derived so far win
    reader = scope if row is None else {**scope, **row}  # what start and end read: the row first
    for entry, when in level_entries(template, level):
        if when is not None and not when(scope, row):
            continue
        value = derive_one(entry, reader)
        if value is not None:
            found[entry.id] = scope[entry.id] = value
            if row is not None and entry.id not in row:
                reader[entry.id] = value
    return found


def level_entries(template: Template, level: str) -> tuple[tuple[Derived, Predicate | None], ...]:
    """Return the derived entries of one level with their compiled `when`, cached on the template."""

    def build() -> tuple[tuple[Derived, Predicate | None], ...]:
        return tuple(
            (d, None if d.when is None else template_predicate(template, d.when))
            for d in template.derived
            if d.level == level
        )

    return template_cached(template, ("derived_level", level), build)


def derive_one(entry: Derived, values: Mapping[str, Any]) -> Any:
    """Return one derived value computed from values, or None when it cannot be computed."""
    start = first_instant(entry.start, values)
    if start is None:
        return None
    if entry.kind in LOCAL_KINDS:
        return local_part(entry.kind, start)
    end = first_instant(entry.end, values)
    if end is None:
        return None
    return interval(entry.kind, start, end)


def first_instant(names: tuple[str, ...], values: Mapping[str, Any]) -> date | None:
    """Return the first of the named values holding a real date or datetime."""
    for name in names:
        stored = values.get(name)
        real = stored if type(stored) is str else real_value(stored)  # plain text: the common case
        if real and isinstance(real, str):
            parsed = _instant(real)
            if parsed is not None:
                return parsed
    return None


@lru_cache(maxsize=4096)
def _instant(text: str) -> date | None:
    """Parse a date or datetime once: a record's times are read by several derived entries."""
    return parse_instant(text)


def local_part(kind: str, moment: date) -> str | int:
    """Return the local date, hour or month of a moment, read in its own UTC offset."""
    if kind == "local_hour":
        return moment.hour if isinstance(moment, datetime) else 0
    day = moment.date() if isinstance(moment, datetime) else moment
    return day.isoformat() if kind == "local_date" else day.isoformat()[:7]


def interval(kind: str, start: date, end: date) -> int | float | None:
    """Return end - start in the unit of `kind`; None when negative or not comparable."""
    seconds = elapsed_seconds(start, end)
    if seconds is None or seconds < 0:
        return None
    if kind == "seconds":
        return seconds
    if kind == "minutes":
        return seconds // 60
    if kind == "days":
        return seconds // 86400
    return (seconds * 10 + 1800) // 3600 / 10  # hours, one decimal, half rounds up


def elapsed_seconds(start: date, end: date) -> int | None:
    """Return whole seconds from start to end; with a plain date on either side, whole days."""
    if isinstance(start, datetime) and isinstance(end, datetime):
        try:
            return int((end - start).total_seconds() // 1)
        except TypeError:  # one has a UTC offset and the other does not
            log.debug("cannot compare %s with %s: mixed offsets", start, end)
            return None
    first = start.date() if isinstance(start, datetime) else start
    last = end.date() if isinstance(end, datetime) else end
    return (last - first).days * 86400
