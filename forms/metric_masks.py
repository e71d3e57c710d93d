"""Evaluate a condition over every row of a unit at once, leaf by leaf.

`all`, `any` and `not` combine whole-row masks with C-level and/or/not, and named
filters are expanded. Each leaf `{field, op, value}` is compiled with
forms.conditions.compile_condition (so its semantics are exactly the ones the form
uses) and evaluated once per distinct value of its field; every other row is a
dictionary hit. A leaf on an encounter field is evaluated on encounters and copied to
their person rows; at encounter level, a leaf on a person field holds when it holds in
some person row. Masks are cached by the condition's canonical JSON.

A mask is a `bytes` with one byte (0 or 1) per row: it counts with `bytes.count(1)`,
selects with itertools.compress, and combines through big integers (`both`, `either`,
`negate`), which is C speed over a whole column. A field with at most 256 distinct values
is numbered by the store (forms/metric_store.py) into a code per row, and a leaf over it
is a single `bytes.translate` of the leaf's per-code results.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import reduce
from itertools import compress
from typing import TYPE_CHECKING, Any

from forms.conditions import compile_condition
from forms.frozen import frozen_in_full
from forms.model import Condition

if TYPE_CHECKING:
    from forms.metric_rows import MetricRows

ENCOUNTER = "encounter"
Test = Callable[[Mapping[str, Any], Mapping[str, Any] | None], bool]


Mask = bytes
_BYTES = (bytes, bytearray)
SHAPE_OPS = ("is_set", "is_not_set", "is_true", "is_false")
MANY_VALUES = 256
_STAND_INS: dict[type, Any] = {str: "x", int: 1, float: 1.5}
_STAND_KINDS: dict[type, type] = {kind: kind for kind in _STAND_INS}


def _shape(value: Any) -> Any:
    """Return what an is_set/is_true-style leaf can tell apart: a non-empty text or number by its type."""
    kind = type(value)
    return kind if kind in _STAND_INS and value != "" else value


def _shapes(frozen: list[Any]) -> Any:
    """Return `_shape` of every value (C-level unless some value is an empty text)."""
    if "" in frozen:
        return map(_shape, frozen)
    return map(_STAND_KINDS.get, map(type, frozen), frozen)


class _LeafMemo(dict[Any, bool]):
    """A leaf's result per frozen value of its field."""

    def __init__(self, test: Test, name: str, in_row: bool, thaw: Callable[[Any], Any]) -> None:
        super().__init__()
        self.test, self.name, self.in_row, self.thaw = test, name, in_row, thaw

    def __missing__(self, key: Any) -> bool:
        frozen = _STAND_INS[key] if type(key) is type else key
        value = {} if frozen is None else {self.name: self.thaw(frozen)}
        self[key] = held = self.test({}, value) if self.in_row else self.test(value, None)
        return held


def as_mask(flags: Any) -> Mask:
    """Return per-row truth values (bools, 0/1 ints or a mask) as a mask."""
    return flags if type(flags) in _BYTES else bytes(map(bool, flags))


def _int(mask: Any) -> int:
    return int.from_bytes(as_mask(mask), "little")


def both(first: Any, second: Any) -> Mask:
    """Return the rows marked in both masks."""
    return (_int(first) & _int(second)).to_bytes(len(first), "little")


def either(first: Any, second: Any) -> Mask:
    """Return the rows marked in either mask."""
    return (_int(first) | _int(second)).to_bytes(len(first), "little")


def negate(mask: Any) -> Mask:
    """Return the rows not marked in the mask."""
    return (_int(mask) ^ _int(b"\x01" * len(mask))).to_bytes(len(mask), "little")


def leaf_fields(cond: Any, filters: Mapping[str, Condition], seen: frozenset[str] = frozenset()) -> set[str]:
    """Return the field names a condition's leaves read, named filters expanded."""
    if not isinstance(cond, Mapping):
        return set()
    names = {str(cond["field"])} if "field" in cond else set()
    for part in [
        *(cond.get("all") or ()),
        *(cond.get("any") or ()),
        *([cond["not"]] if "not" in cond else ()),
    ]:
        names |= leaf_fields(part, filters, seen)
    use = cond.get("use")
    if isinstance(use, str) and use in filters and use not in seen:
        names |= leaf_fields(filters[use], filters, seen | {use})
    return names


class Masks:
    """Per-unit boolean masks of conditions over every row of a store (kept in its memo)."""

    def __init__(self, rows: MetricRows) -> None:
        self.rows = rows
        self.template = rows.template
        self._cache: dict[tuple[str, str], Mask] = rows.memo(("masks",), dict)
        self.keys: dict[tuple[str, str], list[Any]] = rows.memo(("keys",), dict)  # forms/metric_kinds.py

    def mask(self, unit: str, cond: Condition | None) -> Mask:
        """Return, per row of the unit, whether the condition holds (all set without one)."""
        if cond is None:
            return b"\x01" * self.rows.size(unit)
        key = (unit, json.dumps(cond, sort_keys=True, default=str))
        if key not in self._cache:
            self._cache[key] = self._evaluate(unit, cond)
        return self._cache[key]

    def _evaluate(self, unit: str, cond: Condition) -> Mask:
        size = self.rows.size(unit)
        if "all" in cond:
            parts = [self.mask(unit, c) for c in cond["all"]]
            return reduce(both, parts) if parts else b"\x01" * size
        if "any" in cond:
            parts = [self.mask(unit, c) for c in cond["any"]]
            return reduce(either, parts) if parts else b"\x00" * size
        if "not" in cond:
            return negate(self.mask(unit, cond["not"]))
        if "use" in cond and cond["use"] in self.template.filters:
            return self.mask(unit, self.template.filters[cond["use"]])
        return self._leaf(unit, cond)

    def _leaf(self, unit: str, cond: Condition) -> Mask:
        """Return a leaf's mask, evaluating it once per distinct value of its field."""
        template, rows = self.template, self.rows
        name = str(cond.get("field"))
        if unit == ENCOUNTER and name in rows.person_names:
            return self._in_some_row(cond)
        test = compile_condition(cond, template, filters=template.filters, params=template.parameters)
        memo = _LeafMemo(test, name, unit != ENCOUNTER, rows.thaw)
        try:
            coded = self.rows.codes(unit, name)
            if coded is not None:
                distinct = coded.distinct
                shapes = cond.get("op") in SHAPE_OPS and len(distinct) > MANY_VALUES  # e.g. a person key
                return coded.rows_where(
                    bytes(map(memo.__getitem__, _shapes(distinct) if shapes else distinct))
                )
            frozen = rows.frozen(unit, name)
            if cond.get("op") in SHAPE_OPS and len(set(frozen)) > MANY_VALUES:  # e.g. a person key
                return bytes(map(memo.__getitem__, _shapes(frozen)))
            return bytes(map(memo.__getitem__, frozen))
        except TypeError:  # a list holding lists or objects
            return bytes(map(memo.__getitem__, frozen_in_full(rows.column(unit, name))))

    def _in_some_row(self, cond: Condition) -> Mask:
        """Return, per encounter, whether a leaf on a person field holds in some person row."""
        found = bytearray(self.rows.size(ENCOUNTER))
        for index in compress(self.rows.owner, self.mask("person", cond)):
            found[index] = 1
        return bytes(found)
