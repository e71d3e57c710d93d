"""The base set as metrics read it: encounter rows and person rows, as columns.

Metrics read two kinds of rows: encounters, and person rows (one per person, reading
its encounter's values too). Each kind is walked once (forms/metric_read.py): its key
signatures and every field the metrics need come out as columns; a person row's
encounter values are copied by index. A field nobody asked for is read on demand.
Conditions become masks in forms/metric_masks.py, breakdown cells in
forms/breakdown_cells.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain, repeat
from typing import Any

from forms.breakdown_cells import Split, split
from forms.frozen import frozen_column, thaw
from forms.metric_masks import Mask, Masks
from forms.metric_read import Walked, walk
from forms.model import Condition, Template

ENCOUNTER = "encounter"

Row = Mapping[str, Any]


class MetricError(ValueError):
    """A metric cannot be computed as defined (unknown unit, field or breakdown)."""


class MetricRows:
    """The base set as encounter rows and person rows, with cached columns, masks and cells."""

    def __init__(
        self,
        template: Template,
        encounters: Walked | Sequence[Row],
        group: str | None,
        person_fields: Iterable[str] = (),
    ) -> None:
        """Lay out walked encounters (or plain encounter payloads, read on demand) and their person rows."""
        if not isinstance(encounters, Walked):
            encounters = walk([e for e in encounters if isinstance(e, Mapping)], [group] if group else [])
        self.template = template
        self.walked = {ENCOUNTER: encounters}
        self.encounters = encounters.rows
        self.group = group
        self.person_names = {n for n, g in template.row_groups.items() if g == group}
        self.encounter_names = encounter_names(template)
        groups: list[Any] = self.column(ENCOUNTER, group) if group else [None] * len(self.encounters)
        lists: list[list[Any]] = (
            groups if set(map(type, groups)) <= {list} else [r if isinstance(r, list) else [] for r in groups]
        )
        persons: list[Row] = list(chain.from_iterable(lists))
        self.owner: list[int] = list(chain.from_iterable(map(repeat, range(len(lists)), map(len, lists))))
        if not set(map(type, persons)) <= {dict}:  # drop rows that are not objects
            persons, self.owner = _rows_with_owner(lists)
        self.walked["person"] = walk(persons, set(person_fields) & self.person_names)
        self.persons = persons
        self._columns: dict[tuple[str, str], list[Any]] = {}
        self._frozen: dict[tuple[str, str, str], list[Any]] = {}
        self.masks = Masks(self)
        self._cells: dict[tuple[str, str], Split] = {}

    def size(self, unit: str) -> int:
        """Return the number of rows of a unit."""
        return len(self.encounters) if unit == ENCOUNTER else len(self.persons)

    def rows(self, unit: str) -> list[Row]:
        """Return the rows of a unit."""
        return self.encounters if unit == ENCOUNTER else self.persons

    def column(self, unit: str, name: str) -> list[Any]:
        """Return each row's stored value of a field (a person row reads its encounter too)."""
        walked = self.walked[unit].columns.get(name)
        if walked is not None:
            return walked
        key = (unit, name)
        if key not in self._columns:
            self._columns[key] = self._column(unit, name)
        return self._columns[key]

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

    def mask(self, unit: str, cond: Condition | None) -> Mask:
        """Return, per row of the unit, whether the condition holds (all True without one)."""
        return self.masks.mask(unit, cond)

    def holding(self, unit: str, name: str) -> Mask:
        """Return, per row, whether the row holds the field id at all (from key signatures)."""
        return self.walked[unit].holding(name)

    def holding_count(self, unit: str, name: str) -> int:
        """Return how many rows hold the field id."""
        return self.walked[unit].holding_count(name)

    def split(self, unit: str, dim: str) -> Split:
        """Return the breakdown cells of a dimension for the rows of a unit (cached)."""
        key = (unit, dim)
        if key not in self._cells:
            self._cells[key] = split(self, unit, dim)
        return self._cells[key]

    def cells(self, unit: str, dim: str) -> list[tuple[Any, ...]]:
        """Return, per row of a unit, the tuple of breakdown cells it counts under."""
        found = self.split(unit, dim)
        return list(found.values) if found.multi else list(zip(found.values))


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
