"""Compute the template's [[derived]] values: intervals, local dates, hours and months.

Derived values go to the state instead of the exact times they come from (fields with
`to_state = "derive"`), and metrics read them. A start or end list names fields or
earlier derived values; the first one holding a real value is used. A value is omitted
when a start or end has no real value, when the interval is negative, or when the
derived entry's `when` condition does not hold.
"""

from __future__ import annotations

import logging
from collections import ChainMap
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from forms.conditions import decode, evaluate, has_real, parse_instant
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
    scope = ChainMap(found, dict(outer or {}), dict(values))
    for entry in template.derived:
        if entry.level != level:
            continue
        if entry.when is not None and not evaluate(entry.when, scope, template, row):
            continue
        value = derive_one(entry, _reader(scope, row))
        if value is not None:
            found[entry.id] = value
    return found


def _reader(scope: Mapping[str, Any], row: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """Return a lookup reading the person row first, then derived values and the encounter."""
    return scope if row is None else ChainMap(dict(row), dict(scope))


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
        real = real_value(values.get(name))
        if isinstance(real, str):
            parsed = parse_instant(real)
            if parsed is not None:
                return parsed
    return None


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
