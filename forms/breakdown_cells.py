"""Breakdown cells: which cell of a dimension each row counts under, and tallies per cell.

A dimension is `month` (YYYY-MM of encounter_date or encounter_month), a named filter
(cells true/false) or a payload field. A plain value is its own cell; a qualified value
counts under its value, a NOT value or pertinent negative under its code, a missing value
under None, and a multi_enum value under each of its codes (so cells need not add up to
the total). Single-valued dimensions keep one plain cell per row so that tallies run at
C speed; multi-valued ones hold a tuple of cells per row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain, compress, product, repeat
from operator import eq, itemgetter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from forms.metric_rows import MetricRows

MONTH = "month"
PERIOD_DATE = "encounter_date"
PERIOD_MONTH = "encounter_month"
FEW_CELLS = 40
_SCALARS = (str, int, float, bool)
_PLAIN = {str, int, float, bool, type(None)}


@dataclass(frozen=True)
class Split:
    """The cells of one dimension: per row a cell (or, when `multi`, a tuple of cells)."""

    values: list[Any]
    multi: bool
    universe: list[Any]

    def tally(self, mask: bytes | list[bool]) -> Counter[Any]:
        """Return how many masked rows count under each cell."""
        chosen = compress(self.values, mask)
        return Counter(chain.from_iterable(chosen) if self.multi else chosen)

    def distinct(self, keys: list[Any], mask: bytes | list[bool]) -> Counter[Any]:
        """Return how many distinct non-None keys the masked rows hold under each cell."""
        chosen, held = compress(self.values, mask), compress(keys, mask)
        if self.multi:
            pairs = set(chain.from_iterable(map(product, chosen, zip(held))))
        else:
            pairs = set(zip(chosen, held, strict=True))
        pairs -= {(cell, None) for cell in self.universe}
        return Counter(map(itemgetter(0), pairs))

    def lists(self, numbers: list[Any], mask: bytes | list[bool]) -> dict[Any, list[Any]]:
        """Return the non-None numbers of the masked rows, per cell."""
        found: dict[Any, list[Any]] = {cell: [] for cell in self.universe}
        for cells, value in zip(compress(self.values, mask), compress(numbers, mask), strict=True):
            if value is not None:
                for cell in cells if self.multi else (cells,):
                    found[cell].append(value)
        return found

    def sums(self, weights: list[int]) -> Counter[Any]:
        """Return the sum of each row's weight per cell."""
        found: Counter[Any] = Counter()
        if not self.multi and len(self.universe) <= FEW_CELLS:  # a C-level pass per cell
            for cell in self.universe:
                found[cell] = sum(compress(weights, map(eq, self.values, repeat(cell))))
            return found
        for cells, weight in zip(self.values, weights, strict=True):
            for cell in cells if self.multi else (cells,):
                found[cell] += weight
        return found


def split(rows: MetricRows, unit: str, dim: str) -> Split:
    """Return the cells of a dimension for the rows of a unit (its universe: the cells of base rows)."""
    base = rows.base["encounter" if unit == "encounter" else "person"]
    if dim == MONTH:
        months = _Months()
        values = list(map(months.__getitem__, rows.column("encounter", PERIOD_DATE)))
        if None in values:
            months_only = rows.column("encounter", PERIOD_MONTH)
            values = [v or _month(m) for v, m in zip(values, months_only, strict=True)]
        values = values if unit == "encounter" else rows.expand(values)
        return Split(values, False, ordered(set(compress(values, base))))
    if dim in rows.template.filters:
        held = list(map(bool, rows.mask(unit, {"use": dim})))
        return Split(held, False, ordered(set(compress(held, base))))
    column = rows.column(unit, dim)
    if set(map(type, column)) <= _PLAIN:
        return Split(column, False, ordered(set(compress(column, base))))
    cells = [(v,) if type(v) in _PLAIN else cells_of(v) for v in column]
    if all(len(c) == 1 for c in cells):
        single = [c[0] for c in cells]
        return Split(single, False, ordered(set(compress(single, base))))
    return Split(cells, True, ordered(set(chain.from_iterable(compress(cells, base)))))


def cells_of(value: Any) -> tuple[Any, ...]:
    """Return the cells a stored value counts under: each code of a list, a NOT/PN code, or None."""
    if isinstance(value, dict):
        return cells_of(value.get("value", value.get("pn", value.get("nv"))))
    if isinstance(value, list):
        return tuple(dict.fromkeys(v for v in value if isinstance(v, _SCALARS))) or (None,)
    return (value,) if isinstance(value, _SCALARS) else (None,)


def ordered(cells: Iterable[Any]) -> list[Any]:
    """Return cell values sorted for display, None last."""
    return sorted(cells, key=lambda c: (c is None, str(c)))


class _Months(dict[Any, Any]):
    """The YYYY-MM of each encounter date, memoized per date."""

    def __missing__(self, day: Any) -> Any:
        self[day] = month = _month(day)
        return month


def _month(value: Any) -> str | None:
    return value[:7] if isinstance(value, str) and len(value) >= 7 else None
