"""Payload records held as columns: the latest version of each encounter, kept current record by record.

Metrics read payloads field by field, never record by record, so records are laid out
once as columns: one list per payload field for encounter rows, and one per field for
person rows (each knowing its encounter row). Every report after that reads columns.

- `add` takes many records at once (C-level passes over them). A record of an encounter
  the store does not hold yet is appended; one with a higher `record_version` than the
  held one replaces its values and its person rows in place; an older or equal version
  is ignored (unless `replace=True`: the caller's records are already the current ones).
- Whether the held version counts (`final` or `amended`; a voided latest version
  retracts the encounter) is one flag per encounter row; `base` turns the flags, a
  period and optional tags (e.g. the local unit) into the rows of a report.
- A field a report reads is numbered on first use: a code per row and its distinct
  values by code, kept current as records arrive after that, so a condition leaf runs
  once per distinct value and is applied to every row with one C-level call
  (`Coded.rows_where`; forms/metric_masks.py).

A program's dashboard keeps one store and adds what changed since its last look; a
single computation builds a store for its records and drops it after.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import date
from itertools import accumulate, chain, compress, islice, repeat
from operator import and_, eq, is_not, itemgetter, not_
from typing import Any, TypeAlias

from forms.frozen import frozen_column, frozen_in_full, thaw
from forms.metric_base import COUNTED_STATUSES, Window, latest_versions
from forms.metric_read import read_columns
from forms.model import Template

ENCOUNTER = "encounter"
PERSON = "person"
PERIOD_DATE = "encounter_date"
PERIOD_MONTH = "encounter_month"
BASE_FIELDS = ("encounter_id", "record_version", "record_status", PERIOD_DATE, PERIOD_MONTH)
SMALL = 256  # distinct values that fit one-byte codes
LARGE = 4096  # more distinct values than this: not numbered (e.g. durations, person keys)

Row = Mapping[str, Any]


class _Numbering(dict[Any, int]):
    """Number each distinct value on first sight."""

    def __missing__(self, key: Any) -> int:
        self[key] = number = len(self)
        return number


Codes: TypeAlias = "bytearray | array[int]"


def picker(indices: Sequence[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """Return a function taking the items at `indices` of a sequence, as a tuple, at C speed."""
    if len(indices) >= 2:
        return itemgetter(*indices)
    return lambda items: tuple(map(items.__getitem__, indices))


class Coded:
    """A numbered column as a report reads it: a code per row and the distinct (frozen) values by code."""

    def __init__(self, codes: Codes, distinct: list[Any]) -> None:
        self.codes = codes
        self.distinct = distinct
        self._pick: Callable[[Sequence[Any]], tuple[Any, ...]] | None = None

    def rows_where(self, table: bytes) -> bytes:
        """Return, per row, the byte of `table` at the row's code (a mask when the table holds 0/1)."""
        if isinstance(self.codes, bytearray):
            return bytes(self.codes.translate(table.ljust(SMALL, b"\x00")))
        if self._pick is None:
            self._pick = picker(self.codes)
        return bytes(self._pick(table))

    def spread(self, pick: Callable[[Sequence[Any]], tuple[Any, ...]]) -> Coded:
        """Return the codes picked by `pick` (e.g. an encounter's code for each of its person rows)."""
        picked = pick(self.codes)
        return Coded(
            bytearray(picked) if isinstance(self.codes, bytearray) else array("H", picked), self.distinct
        )


class Column:
    """One field's value per row; numbered on first use (`number`) and kept numbered after.

    Codes are a bytearray while the field has at most 256 distinct values (a condition
    over them is one `bytes.translate`), then 16-bit codes; a field with more than 4,096
    distinct values (durations, person keys) is not worth numbering and stays as it is.
    Once numbered, equal values are held as one object (what `thaw` makes of the frozen
    value), which keeps a large program's payloads small in memory. A field holding both
    booleans and numbers is never numbered (True and 1 would share a code).
    """

    __slots__ = ("canon", "codes", "kinds", "numbered", "numbering", "values")

    def __init__(self) -> None:
        self.values: list[Any] = []
        self.codes: Codes | None = None
        self.numbering = _Numbering()
        self.canon: list[Any] = []  # the value held for each code
        self.kinds: set[type] = set()
        self.numbered = False

    @property
    def distinct(self) -> list[Any]:
        """Return the frozen distinct values by code."""
        return list(self.numbering)

    def number(self) -> Codes | None:
        """Return the code of every row, numbering the field on first use (None: too many values)."""
        if not self.numbered:
            self.numbered = True
            frozen = self._numberable(self.values)
            if frozen is not None and len(set(frozen)) <= LARGE:
                self.codes = self._append_codes(frozen, bytearray())
                self.values = list(map(self.canon.__getitem__, self.codes or ()))
        return self.codes

    def extend(self, values: list[Any]) -> None:
        """Append values."""
        if self.codes is not None and values:
            frozen = self._numberable(values)
            self.codes = None if frozen is None else self._append_codes(frozen, self.codes)
            if self.codes is not None:
                values = list(map(self.canon.__getitem__, self.codes[-len(values) :]))
        self.values += values

    def set(self, index: int, value: Any) -> None:
        """Replace one row's value."""
        if self.codes is not None:
            frozen = self._numberable([value])
            self.codes = None if frozen is None else self._append_codes(frozen, self.codes, index)
            if self.codes is not None:
                value = self.canon[self.codes[index]]
        self.values[index] = value

    def _numberable(self, values: list[Any]) -> list[Any] | None:
        """Return the values frozen for numbering, or None when the field cannot be numbered."""
        self.kinds |= set(map(type, values))
        if bool in self.kinds and self.kinds & {int, float}:
            return None
        return _frozen(values)

    def _append_codes(self, frozen: list[Any], codes: Codes, at: int | None = None) -> Codes | None:
        """Return `codes` with the codes of frozen values appended (or put at `at`); None past the limit."""
        numbers = list(map(self.numbering.__getitem__, frozen))
        if len(self.numbering) > LARGE:
            return None
        self.canon += map(thaw, islice(self.numbering, len(self.canon), None))
        if isinstance(codes, bytearray) and len(self.numbering) > SMALL:
            codes = array("H", iter(codes))  # from a bytes-like object, array would read raw bytes
        if at is not None:
            codes[at] = numbers[0]
        elif isinstance(codes, bytearray):
            codes += bytes(numbers)
        else:
            codes += array("H", numbers)
        return codes


def _frozen(values: list[Any]) -> list[Any]:
    try:
        return frozen_column(values)
    except TypeError:  # lists holding lists or objects
        return frozen_in_full(values)


class Table:
    """Rows of one kind as columns."""

    def __init__(self, names: Iterable[str]) -> None:
        self.columns = {name: Column() for name in dict.fromkeys(names)}
        self.size = 0

    def extend(self, columns: Mapping[str, list[Any]], count: int) -> None:
        """Append `count` rows given as columns (a name not given reads None)."""
        for name, column in self.columns.items():
            given = columns.get(name)
            column.extend(given if given is not None else [None] * count)
        self.size += count

    def set_row(self, index: int, columns: Mapping[str, list[Any]], source: int) -> None:
        """Replace row `index` with row `source` of the given columns."""
        for name, column in self.columns.items():
            given = columns.get(name)
            column.set(index, given[source] if given is not None else None)


def person_group(template: Template) -> str | None:
    """Return the repeat group whose rows are the `person` unit."""
    for name in ("person", "persons"):
        if name in template.groups:
            return name
    return next(iter(template.groups), None)


def payload_names(template: Template) -> set[str]:
    """Return every payload name a record of this template can carry, at either level."""
    names = set(BASE_FIELDS) | set(template.row_groups)
    names |= {d.id for d in template.derived if d.level == ENCOUNTER}
    for f in template.fields.values():
        if f.group is None:
            names |= {f.id, *([f.generalize.output] if f.generalize is not None else [])}
    return names


class ColumnStore:
    """Payload records of one template as encounter and person columns (see the module docstring)."""

    def __init__(
        self, template: Template, names: Iterable[str] | None = None, tags: Iterable[str] = ()
    ) -> None:
        self.template = template
        self.group = person_group(template)
        held = set(payload_names(template) if names is None else names) | set(BASE_FIELDS)
        self.person_names = {n for n, g in template.row_groups.items() if g == self.group}
        self.encounters = Table(sorted(held - self.person_names - {self.group}))
        self.persons = Table(sorted(held & self.person_names))
        self.names = frozenset(self.encounters.columns) | frozenset(self.persons.columns)
        self.tags: dict[str, list[Any]] = {tag: [] for tag in tags}
        self.slots: dict[Hashable, int] = {}
        self.versions: list[int] = []
        self.counted = bytearray()
        self.owner: list[int] = []  # person row -> encounter row
        self.live = bytearray()  # person row belongs to its encounter's held version
        self.first: list[int] = []  # encounter row -> its first person row
        self.count: list[int] = []  # encounter row -> how many person rows
        self.records = 0  # records offered
        self.unreadable = 0  # not objects, or without a string encounter_id and integer record_version
        self.changes = 0  # bumped by every add
        self.memo: dict[
            tuple[Any, ...], Any
        ] = {}  # what reports derive from the columns (forms/metric_rows.py)

    @property
    def tables(self) -> dict[str, Table]:
        """Return the tables by unit."""
        return {ENCOUNTER: self.encounters, PERSON: self.persons}

    def add(
        self,
        records: Iterable[Row],
        *,
        replace: bool = False,
        tags: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        """Take payload records (see the module docstring); `tags` give each record's local tags."""
        given = records if isinstance(records, list) else list(records)
        rows = given if set(map(type, given)) <= {dict} else [r for r in given if isinstance(r, Mapping)]
        marks = {
            tag: [v for v, r in zip(values, given, strict=True) if isinstance(r, Mapping)]
            for tag, values in (tags or {}).items()
        }
        self.records += len(given)
        self.unreadable += len(given) - len(rows)
        columns = read_columns(rows, [*self.encounters.columns, *([self.group] if self.group else [])])
        ids, versions = columns["encounter_id"], columns["record_version"]
        readable = _readable(ids, versions)
        self.unreadable += readable.count(False)
        keep = list(map(and_, readable, latest_versions(ids, versions, readable)))
        held = list(map(self.slots.__contains__, ids)) if self.slots else [False] * len(ids)
        new = list(map(and_, keep, map(not_, held)))
        self._append(columns, new, marks)
        for index in compress(range(len(ids)), map(and_, keep, held)):
            if replace or self.versions[self.slots[ids[index]]] < versions[index]:
                self._replace(self.slots[ids[index]], columns, index, marks)
        self.changes += 1
        self.memo.clear()

    def _append(self, columns: dict[str, list[Any]], new: list[bool], marks: dict[str, list[Any]]) -> None:
        start, count = self.encounters.size, new.count(True)
        everything = count == len(new)
        chosen = (
            columns if everything else {name: list(compress(values, new)) for name, values in columns.items()}
        )
        self.encounters.extend(chosen, count)
        for tag, values in marks.items():
            self.tags[tag] += compress(values, new)
        for tag in self.tags.keys() - marks.keys():
            self.tags[tag] += [None] * count
        self.slots.update(zip(chosen["encounter_id"], range(start, start + count), strict=True))
        self.versions += chosen["record_version"]
        self.counted += bytes(map(COUNTED_STATUSES.__contains__, chosen["record_status"]))
        groups = chosen[self.group] if self.group else [None] * count
        self._add_persons(range(start, start + count), groups)

    def _replace(
        self, slot: int, columns: dict[str, list[Any]], index: int, marks: dict[str, list[Any]]
    ) -> None:
        self.encounters.set_row(slot, columns, index)
        for tag, values in marks.items():
            self.tags[tag][slot] = values[index]
        self.versions[slot] = columns["record_version"][index]
        self.counted[slot] = columns["record_status"][index] in COUNTED_STATUSES
        first, count = self.first[slot], self.count[slot]
        self.live[first : first + count] = bytes(count)
        self._add_persons([slot], [columns[self.group][index]] if self.group else [None])

    def _add_persons(self, slots: range | list[int], groups: list[Any]) -> None:
        """Append the person rows of encounter rows (a group value that is not a list holds none)."""
        lists = (
            groups if set(map(type, groups)) <= {list} else [g if isinstance(g, list) else [] for g in groups]
        )
        persons = list(chain.from_iterable(lists))
        if not set(map(type, persons)) <= {dict}:
            lists = [[r for r in rows if isinstance(r, Mapping)] for rows in lists]
            persons = list(chain.from_iterable(lists))
        sizes = list(map(len, lists))
        firsts = list(accumulate(sizes, initial=self.persons.size))[:-1]
        if isinstance(slots, range):  # new encounter rows, at the end
            self.first += firsts
            self.count += sizes
        else:
            for slot, first, size in zip(slots, firsts, sizes, strict=True):
                self.first[slot], self.count[slot] = first, size
        self.persons.extend(read_columns(persons, self.persons.columns), len(persons))
        self.owner += chain.from_iterable(map(repeat, slots, sizes))
        self.live += b"\x01" * len(persons)

    def number_all(self) -> None:
        """Number every column now (a background warm-up), so that the next report does not."""
        for table in self.tables.values():
            for column in table.columns.values():
                column.number()

    def base(self, start: date | None = None, end: date | None = None, **tags: Any) -> bytes:
        """Return, per encounter row, whether it counts in a period (and has the given tag values)."""
        mask = bytes(self.counted)
        if start is not None or end is not None:
            window = Window(start.isoformat() if start else "", end.isoformat() if end else "9999-12-31")
            dates = self.encounters.columns[PERIOD_DATE]
            codes = dates.number()
            if codes is None or None in dates.numbering:
                inside = bytes(window.mask(dates.values, self.encounters.columns[PERIOD_MONTH].values))
            else:
                inside = Coded(codes, dates.distinct).rows_where(
                    bytes(map(window.__getitem__, dates.numbering))
                )
            mask = _both(mask, inside)
        for tag, value in tags.items():
            mask = _both(mask, bytes(map(eq, self.tags[tag], repeat(value))))
        return mask

    def person_base(self, base: bytes) -> bytes:
        """Return, per person row, whether it is live and its encounter row is in `base`."""
        return _both(bytes(self.live), bytes(map(base.__getitem__, self.owner)))


def _readable(ids: list[Any], versions: list[Any]) -> list[bool]:
    """Return, per record, whether it has a string encounter_id and an integer record_version."""
    if set(map(type, ids)) <= {str} and set(map(type, versions)) <= {int}:
        return [True] * len(ids)
    return [type(i) is str and type(v) is int for i, v in zip(ids, versions, strict=True)]


def _both(first: bytes, second: bytes) -> bytes:
    return (int.from_bytes(first, "little") & int.from_bytes(second, "little")).to_bytes(len(first), "little")


def present(column: list[Any]) -> bytes:
    """Return, per row, whether the value is there (not None)."""
    return bytes(map(is_not, column, repeat(None)))
