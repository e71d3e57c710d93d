"""Compute one metric's figures, for the whole base set and per breakdown cell.

Each kind reads cached masks and columns from MetricRows, restricted to the report's
base rows (`rows.within`), and counts with C-level
helpers (list.count, compress, Counter) so that 100,000 encounters take well under a
second. `total()` returns the figures of the whole set; `by_cells(split)` returns the
figures of every cell of a breakdown (forms/breakdown_cells.py), zero cells included.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from itertools import compress, repeat
from operator import is_not, not_
from typing import Any, cast

from forms.breakdown_cells import Split
from forms.derive import elapsed_seconds, first_instant
from forms.figures import AGGREGATIONS, count_figures, duration_figures, number, rate_figures
from forms.frozen import freeze
from forms.metric_masks import Mask, both
from forms.metric_rows import MetricError, MetricRows
from forms.model import Metric

Figures = dict[str, Any]
Restriction = Mask | list[bool] | None
_PLAIN_NUMBERS = {int, float, type(None)}
_PLAIN_KEYS = {str, int, type(None)}


def _present(values: Iterable[int | float | None]) -> list[int | float]:
    """Return the values that are not None (C-level filter)."""
    found = list(values)
    return cast(list[int | float], list(compress(found, map(is_not, found, repeat(None)))))


def _restrict(mask: Mask, within: Restriction) -> Mask:
    return mask if within is None else both(mask, within)


def key_of(value: Any) -> Hashable | None:
    """Return the hashable real value used for distinct counts, or None without one."""
    if isinstance(value, dict):
        value = value.get("value")
    if value is None or value == "" or value == []:
        return None
    return freeze(value)  # type: ignore[no-any-return]


def keys(rows: MetricRows, unit: str, name: str) -> list[Hashable | None]:
    """Return the distinct-count key of every row (plain strings pass straight through), cached."""
    cache = rows.masks.keys
    if (unit, name) not in cache:
        cache[(unit, name)] = _keys(rows.column(unit, name))
    return cache[(unit, name)]


def _keys(column: list[Any]) -> list[Hashable | None]:
    if set(map(type, column)) <= _PLAIN_KEYS and "" not in column:
        return column
    found: list[Hashable | None] = list(column)
    for index in compress(range(len(column)), map(not_, map(_PLAIN_KEYS.__contains__, map(type, column)))):
        found[index] = key_of(column[index])
    return [None if k == "" else k for k in found] if "" in found else found


def numbers(rows: MetricRows, unit: str, name: str) -> list[int | float | None]:
    """Return the real number of every row, or None (plain numbers pass straight through)."""
    column = rows.column(unit, name)
    if set(map(type, column)) <= _PLAIN_NUMBERS:
        return column
    return [v if type(v) in _PLAIN_NUMBERS else number(v) for v in column]


class Count:
    """Rows matching `filter`, distinct values of `distinct`, or the sum of `sum`."""

    def __init__(self, rows: MetricRows, unit: str, metric: Metric, within: Restriction = None) -> None:
        spec = metric.spec
        self.mask = _restrict(rows.within(unit, rows.mask(unit, spec.get("filter"))), within)
        self.keys = keys(rows, unit, spec["distinct"]) if "distinct" in spec else None
        self.numbers = numbers(rows, unit, spec["sum"]) if "sum" in spec else None

    def total(self) -> Figures:
        """Return the figures over all rows."""
        if self.keys is not None:
            return count_figures(len(set(compress(self.keys, self.mask)) - {None}))
        if self.numbers is not None:
            found = _present(compress(self.numbers, self.mask))
            return count_figures(sum(found), len(found))
        return count_figures(self.mask.count(True))

    def by_cells(self, cells: Split) -> dict[Any, Figures]:
        """Return the figures of every cell."""
        if self.keys is not None:
            distinct = cells.distinct(self.keys, self.mask)
            return {c: count_figures(distinct[c]) for c in cells.universe}
        if self.numbers is not None:
            found = cells.lists(self.numbers, self.mask)
            return {c: count_figures(sum(found[c]), len(found[c])) for c in cells.universe}
        counts = cells.tally(self.mask)
        return {c: count_figures(counts[c]) for c in cells.universe}


class Rate:
    """Denominator rows, and those of them also matching the numerator (distinct keys if asked)."""

    def __init__(self, rows: MetricRows, unit: str, metric: Metric, within: Restriction = None) -> None:
        spec = metric.spec
        self.den = _restrict(rows.within(unit, rows.mask(unit, spec["denominator"])), within)
        self.num = both(self.den, rows.mask(unit, spec["numerator"]))
        self.keys = keys(rows, unit, spec["distinct"]) if "distinct" in spec else None

    def total(self) -> Figures:
        """Return the figures over all rows."""
        if self.keys is not None:
            num = set(compress(self.keys, self.num)) - {None}
            den = set(compress(self.keys, self.den)) - {None}
            return rate_figures(len(num), len(den))
        return rate_figures(self.num.count(True), self.den.count(True))

    def by_cells(self, cells: Split) -> dict[Any, Figures]:
        """Return the figures of every cell."""
        if self.keys is not None:
            nums, dens = cells.distinct(self.keys, self.num), cells.distinct(self.keys, self.den)
        else:
            nums, dens = cells.tally(self.num), cells.tally(self.den)
        return {c: rate_figures(nums[c], dens[c]) for c in cells.universe}


class Duration:
    """Seconds per matching row, from a payload value or from start/end fields with fallbacks.

    The seconds of every row do not depend on the report: they are kept in the store's memo.
    """

    def __init__(self, rows: MetricRows, unit: str, metric: Metric, within: Restriction = None) -> None:
        spec = metric.spec
        if "value" not in spec and not ("start" in spec and "end" in spec):
            raise MetricError(f"metric '{metric.id}': a duration needs `value` or `start` and `end`")
        self.aggregations = tuple(spec.get("aggregations") or AGGREGATIONS)
        self.mask = _restrict(rows.within(unit, rows.mask(unit, spec.get("filter"))), within)
        self.seconds = rows.memo(("seconds", unit, metric.id), lambda: _row_seconds(rows, unit, spec))

    def total(self) -> Figures:
        """Return the figures over all rows."""
        found = _present(compress(self.seconds, self.mask))
        return duration_figures(found, self.aggregations)

    def by_cells(self, cells: Split) -> dict[Any, Figures]:
        """Return the figures of every cell."""
        found = cells.lists(self.seconds, self.mask)
        return {c: duration_figures(found[c], self.aggregations) for c in cells.universe}


def _row_seconds(rows: MetricRows, unit: str, spec: Mapping[str, Any]) -> list[Any]:
    """Return the seconds of every row (None where there are none)."""
    if "value" in spec:
        return _non_negative(numbers(rows, unit, spec["value"]))
    return _intervals(rows, unit, tuple(spec["start"]), tuple(spec["end"]))


def _seconds(value: int | float | None) -> int | float | None:
    return value if value is not None and value >= 0 else None


def _non_negative(seconds: list[int | float | None]) -> list[int | float | None]:
    """Return the durations with negative ones (never valid) dropped to None."""
    if min(_present(seconds), default=0) >= 0:
        return seconds
    return [_seconds(s) for s in seconds]


def _intervals(rows: MetricRows, unit: str, start: tuple[str, ...], end: tuple[str, ...]) -> list[Any]:
    """Return end - start in seconds per row, reading ISO times (None when either is missing)."""
    names = list(dict.fromkeys((*start, *end)))
    seconds: list[Any] = []
    for held in zip(*(rows.column(unit, n) for n in names), strict=True):
        values = dict(zip(names, held, strict=True))
        first, last = first_instant(start, values), first_instant(end, values)
        between = elapsed_seconds(first, last) if first is not None and last is not None else None
        seconds.append(_seconds(between))
    return seconds


KINDS: dict[str, type[Count] | type[Rate] | type[Duration]] = {
    "count": Count,
    "rate": Rate,
    "duration": Duration,
}
