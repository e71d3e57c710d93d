"""Lay out payload records as columns for metrics: encounter rows and person rows.

Metrics read two kinds of rows: encounters, and person rows (one per person, reading
its encounter's values too). Records are large dicts scattered in memory, so reading
one field of every record costs far more than scanning a list: each field is read once
per unit with C-level iteration (map over dict.get) and cached; a person row's
encounter values are copied by index; which fields a record holds is learnt from its
key signature in one pass per unit. Conditions become masks in forms/metric_masks.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain, repeat
from operator import attrgetter, itemgetter
from typing import Any

from forms.breakdown_cells import Split, split
from forms.frozen import frozen_column, thaw
from forms.metric_masks import Masks
from forms.model import Condition, Template

ENCOUNTER = "encounter"

Row = Mapping[str, Any]

_GET = attrgetter("get")


class MetricError(ValueError):
    """A metric cannot be computed as defined (unknown unit, field or breakdown)."""


class _Numbering(dict[int, int]):
    """Number each distinct key signature (the hash of the field ids a record holds) on first sight."""

    def __missing__(self, key: int) -> int:
        self[key] = number = len(self)
        return number


class MetricRows:
    """The base set as encounter rows and person rows, with cached columns, masks and cells.

    Records are large dicts scattered in memory, so reading one field of every record
    costs far more than scanning a list: each field is read once per unit with C-level
    iteration (map over dict.get), a person row's encounter values are copied by index,
    and which fields a record holds is learnt from its key signature, one pass per unit.
    """

    def __init__(self, template: Template, encounters: list[Row], group: str | None) -> None:
        self.template = template
        self.encounters = encounters
        self.group = group
        self.person_names = {n for n, g in template.row_groups.items() if g == group}
        self.encounter_names = encounter_names(template)
        groups: list[Any] = read_field(encounters, group) if group else [None] * len(encounters)
        lists: list[list[Any]] = (
            groups if set(map(type, groups)) <= {list} else [r if isinstance(r, list) else [] for r in groups]
        )
        self.persons: list[Row] = list(chain.from_iterable(lists))
        self.owner: list[int] = list(chain.from_iterable(map(repeat, range(len(lists)), map(len, lists))))
        if not set(map(type, self.persons)) <= {dict}:  # drop rows that are not objects
            self.persons, self.owner = _rows_with_owner(lists)
        self._columns: dict[tuple[str, str], list[Any]] = {}
        self._frozen: dict[tuple[str, str, str], list[Any]] = {}
        self.masks = Masks(self)
        self._cells: dict[tuple[str, str], Split] = {}
        self._signatures: dict[str, tuple[list[int], list[frozenset[str]], list[int]]] = {}

    def size(self, unit: str) -> int:
        """Return the number of rows of a unit."""
        return len(self.encounters) if unit == ENCOUNTER else len(self.persons)

    def rows(self, unit: str) -> list[Row]:
        """Return the rows of a unit."""
        return self.encounters if unit == ENCOUNTER else self.persons

    def column(self, unit: str, name: str) -> list[Any]:
        """Return each row's stored value of a field (a person row reads its encounter too)."""
        key = (unit, name)
        if key not in self._columns:
            self._columns[key] = self._column(unit, name)
        return self._columns[key]

    def prefetch(self, unit: str, names: Iterable[str]) -> None:
        """Read several fields of every row in one pass (each record is visited once, while hot).

        Fields are read in the first record's key order, so each record's entries are walked
        front to back.
        """
        rows = self.encounters if unit == ENCOUNTER else self.persons
        order = {name: index for index, name in enumerate(rows[0])} if rows else {}
        order_keys = {name: name for name in order}
        wanted = sorted(
            {n for n in names if (unit, n) not in self._columns}, key=lambda n: (order.get(n, 1 << 30), n)
        )
        if len(wanted) < 2 or not set(map(type, rows)) <= {dict}:
            return
        keys = [order_keys.get(n, n) for n in wanted]  # the records' own key objects compare fastest
        table = list(map(tuple, map(map, map(_GET, rows), repeat(keys))))
        for index, name in enumerate(wanted):
            self._columns[(unit, name)] = list(map(itemgetter(index), table))

    def _column(self, unit: str, name: str) -> list[Any]:
        if unit == ENCOUNTER:
            return read_field(self.encounters, name)
        if name in self.person_names:
            return read_field(self.persons, name)
        if name in self.encounter_names:
            return self.expand(self.column(ENCOUNTER, name))
        return [p[name] if name in p else self.encounters[i].get(name) for p, i in self._pairs()]

    def _pairs(self) -> Iterator[tuple[Row, int]]:
        return zip(self.persons, self.owner, strict=True)

    def expand(self, per_encounter: list[Any]) -> list[Any]:
        """Return an encounter-level list repeated for each of the encounter's person rows."""
        return list(map(per_encounter.__getitem__, self.owner))

    def frozen(self, unit: str, name: str) -> list[Any]:
        """Return a column with hashable values (lists and objects frozen), cached."""
        key = (unit, "\0frozen", name)
        if key not in self._frozen:
            self._frozen[key] = frozen_column(self.column(unit, name))
        return self._frozen[key]

    thaw = staticmethod(thaw)

    def mask(self, unit: str, cond: Condition | None) -> list[bool]:
        """Return, per row of the unit, whether the condition holds (all True without one)."""
        return self.masks.mask(unit, cond)

    def holding(self, unit: str, name: str) -> list[bool]:
        """Return, per row, whether the row holds the field id at all (from key signatures)."""
        numbers, keysets, _ = self._signature(unit)
        held = [name in keys for keys in keysets]
        return list(map(held.__getitem__, numbers))

    def holding_count(self, unit: str, name: str) -> int:
        """Return how many rows hold the field id."""
        _, keysets, counts = self._signature(unit)
        return sum(n for keys, n in zip(keysets, counts, strict=True) if name in keys)

    def _signature(self, unit: str) -> tuple[list[int], list[frozenset[str]], list[int]]:
        """Return each row's signature number, the key set and the row count of each signature.

        Signatures are told apart by the hash of the key tuple, which saves comparing every
        key of every record; two different key sets sharing a 64-bit hash is not a concern.
        """
        if unit not in self._signatures:
            rows = self.rows(unit)
            hashes = list(map(hash, map(tuple, rows)))
            numbering = _Numbering()
            numbers = list(map(numbering.__getitem__, hashes))
            examples = dict(zip(hashes, rows, strict=True))
            counts = Counter(numbers)
            keysets = [frozenset(examples[h]) for h in numbering]
            self._signatures[unit] = (numbers, keysets, [counts[i] for i in range(len(keysets))])
        return self._signatures[unit]

    def cells(self, unit: str, dim: str) -> Split:
        """Return the breakdown cells of a dimension for the rows of a unit (cached)."""
        key = (unit, dim)
        if key not in self._cells:
            self._cells[key] = split(self, unit, dim)
        return self._cells[key]


def encounter_names(template: Template) -> set[str]:
    """Return the payload names read from the encounter: its fields, their outputs, derived values."""
    names = {d.id for d in template.derived if d.level == ENCOUNTER}
    for f in template.fields.values():
        if f.group is None:
            names.add(f.id)
            if f.generalize is not None:
                names.add(f.generalize.output)
    return names


def read_field(rows: Sequence[Row], name: str) -> list[Any]:
    """Return one field of every row (C-level iteration for plain dicts)."""
    if set(map(type, rows)) <= {dict}:
        return list(map(dict.get, rows, repeat(name)))  # type: ignore[arg-type]
    return [r.get(name) for r in rows]


def _rows_with_owner(lists: list[list[Any]]) -> tuple[list[Row], list[int]]:
    persons: list[Row] = []
    owner: list[int] = []
    for index, rows in enumerate(lists):
        for row in rows:
            if isinstance(row, Mapping):
                persons.append(row)
                owner.append(index)
    return persons, owner
