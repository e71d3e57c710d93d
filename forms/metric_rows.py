"""The rows of one report as metrics read them: a store's rows and the base mask of the report.

Metrics read two kinds of rows: encounters, and person rows (one per person, reading
its encounter's values too). Both are every row of a ColumnStore (forms/metric_store.py);
which of them the report counts is its base mask per unit (`base`): the kinds restrict
every mask to it (`within`), and breakdown cells are the values found in base rows.
Columns, codes and condition masks do not depend on the report, so they are kept in the
store's memo (cleared whenever records arrive) and the next report over other dates
only counts. Conditions become masks in forms/metric_masks.py, breakdown cells in
forms/breakdown_cells.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from itertools import compress
from typing import Any, TypeVar

from forms.breakdown_cells import Split, split
from forms.frozen import frozen_column, thaw
from forms.metric_masks import Mask, Masks, both
from forms.metric_store import ENCOUNTER, PERSON, SMALL, Coded, Column, ColumnStore, picker, present
from forms.model import Condition

T = TypeVar("T")
_SHIFT_UP = bytes(range(1, 256)) + b"\x00"  # code c -> c + 1 (fewer than 256 codes)
_FULL = b"\x00" + b"\xff" * 255  # a mask's 1 -> all bits set


class MetricError(ValueError):
    """A metric cannot be computed as defined (unknown unit, field or breakdown)."""


def _unit(unit: str) -> str:
    return ENCOUNTER if unit == ENCOUNTER else PERSON


class MetricRows:
    """A store's rows with one report's base mask, and cached columns, masks and cells."""

    def __init__(self, store: ColumnStore, base: bytes) -> None:
        """Count the encounter rows marked in `base` and the live person rows of those encounters."""
        self.store = store
        self.template = store.template
        self.group = store.group
        self.person_names = store.person_names
        self.owner = store.owner
        self.base = {ENCOUNTER: base, PERSON: store.person_base(base)}
        self.masks = Masks(self)
        self._cells: dict[tuple[str, str], Split] = {}

    def size(self, unit: str) -> int:
        """Return the number of rows of a unit in the store (the length of every mask)."""
        return len(self.base[_unit(unit)])

    def count(self, unit: str) -> int:
        """Return the number of base rows of a unit: the rows the report counts."""
        return self.base[_unit(unit)].count(1)

    def within(self, unit: str, mask: Any) -> Mask:
        """Return the base rows of a unit that are also marked in `mask`."""
        return both(mask, self.base[_unit(unit)])

    def memo(self, key: tuple[Any, ...], make: Callable[[], T]) -> T:
        """Return a value kept in the store's memo until records arrive, making it on first use."""
        found = self.store.memo.get(key)
        if found is None:
            found = self.store.memo[key] = make()
        return found

    def _held(self, unit: str, name: str) -> tuple[str, Column] | None:
        """Return where a unit's rows read a field (their own table, else the encounter's) and its column."""
        for level in dict.fromkeys((unit, ENCOUNTER)):
            column = self.store.tables[level].columns.get(name)
            if column is not None:
                return level, column
        return None

    def column(self, unit: str, name: str) -> list[Any]:
        """Return each row's stored value of a field (a person row reads its encounter's too)."""
        unit = _unit(unit)
        return self.memo(("column", unit, name), lambda: self._column(unit, name))

    def _column(self, unit: str, name: str) -> list[Any]:
        held = self._held(unit, name)
        if held is None:
            return [None] * self.size(unit)
        level, column = held
        return column.values if level == unit else self.expand(column.values)

    def codes(self, unit: str, name: str, *, number: bool = True) -> Coded | None:
        """Return a field numbered (its code per row, distinct values by code), or None when it is not.

        With `number=False` a field not numbered yet is left so (None): for one pass over
        the values, numbering first would cost more than it saves.
        """
        unit = _unit(unit)
        held = self._held(unit, name)
        if not number and (held is None or not held[1].numbered):
            return None
        return self.memo(("codes", unit, name), lambda: self._codes(unit, name)) or None

    def _codes(self, unit: str, name: str) -> Coded | tuple[()]:
        held = self._held(unit, name)
        codes = None if held is None else held[1].number()
        if held is None or codes is None:
            return ()
        level, column = held
        coded = Coded(codes, column.distinct)
        return coded if level == unit else coded.spread(self.to_persons())

    def to_persons(self) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
        """Return a function giving, for a per-encounter sequence, each person row's item."""
        return self.memo(("to_persons",), lambda: picker(self.owner))

    def expand(self, per_encounter: list[Any]) -> list[Any]:
        """Return an encounter-level list repeated for each of the encounter's person rows."""
        return list(self.to_persons()(per_encounter))

    def frozen(self, unit: str, name: str) -> list[Any]:
        """Return a column with hashable values (lists and objects frozen), cached."""
        unit = _unit(unit)
        return self.memo(("frozen", unit, name), lambda: frozen_column(self.column(unit, name)))

    thaw = staticmethod(thaw)

    def mask(self, unit: str, cond: Condition | None) -> Mask:
        """Return, per row of the unit, whether the condition holds (all set without one)."""
        return self.masks.mask(unit, cond)

    def present(self, unit: str, name: str) -> Mask:
        """Return, per row, whether the row holds the field at all (base or not)."""
        unit = _unit(unit)
        return self.memo(("present", unit, name), lambda: self._present(unit, name))

    def _present(self, unit: str, name: str) -> Mask:
        coded = self.codes(unit, name, number=False)
        if coded is None:
            return present(self.column(unit, name))
        return coded.rows_where(bytes(v is not None for v in coded.distinct))

    def holding(self, unit: str, name: str) -> Mask:
        """Return, per row, whether it is a base row holding the field."""
        return self.within(unit, self.present(unit, name))

    def holding_count(self, unit: str, name: str) -> int:
        """Return how many base rows hold the field."""
        return self.holding(unit, name).count(1)

    def tally(self, unit: str, name: str) -> dict[Any, int]:
        """Return how many base rows hold each distinct value of a field (frozen: lists as tuples)."""
        base = self.base[_unit(unit)]
        coded = self.codes(unit, name)
        if coded is None:
            return dict(Counter(compress(self.frozen(unit, name), base)))
        if isinstance(coded.codes, bytearray) and len(coded.distinct) < SMALL:  # C-level counts per code
            kept = both(coded.codes.translate(_SHIFT_UP), base.translate(_FULL))  # code + 1; 0 off base
            counts = map(kept.count, range(1, len(coded.distinct) + 1))
            return {value: n for value, n in zip(coded.distinct, counts, strict=True) if n}
        found = Counter(compress(coded.codes, base))
        return {coded.distinct[code]: count for code, count in found.items()}

    def values(self, unit: str, name: str) -> list[Any]:
        """Return the values of the base rows only."""
        return list(compress(self.column(unit, name), self.base[_unit(unit)]))

    def split(self, unit: str, dim: str) -> Split:
        """Return the breakdown cells of a dimension for the rows of a unit (cached)."""
        key = (unit, dim)
        if key not in self._cells:
            self._cells[key] = split(self, unit, dim)
        return self._cells[key]
