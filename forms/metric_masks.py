"""Evaluate a condition over every row of a unit at once, leaf by leaf.

`all`, `any` and `not` combine whole-row masks with C-level and/or/not, and named
filters are expanded. Each leaf `{field, op, value}` is compiled with
forms.conditions.compile_condition (so its semantics are exactly the ones the form
uses) and evaluated once per distinct value of its field; every other row is a
dictionary hit. A leaf on an encounter field is evaluated on encounters and copied to
their person rows. Masks are cached by the condition's canonical JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import reduce
from operator import and_, not_, or_
from typing import TYPE_CHECKING, Any

from forms.conditions import compile_condition
from forms.frozen import frozen_in_full
from forms.model import Condition

if TYPE_CHECKING:
    from forms.metric_rows import MetricRows

ENCOUNTER = "encounter"
Test = Callable[[Mapping[str, Any], Mapping[str, Any] | None], bool]


SHAPE_OPS = ("is_set", "is_not_set", "is_true", "is_false")
MANY_VALUES = 256
_STAND_INS: dict[type, Any] = {str: "x", int: 1, float: 1.5}


def _shape(value: Any) -> Any:
    """Return what an is_set/is_true-style leaf can tell apart: a non-empty text or number by its type."""
    kind = type(value)
    return kind if kind in _STAND_INS and value != "" else value


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
    """Per-unit boolean masks of conditions over a MetricRows table."""

    def __init__(self, rows: MetricRows) -> None:
        self.rows = rows
        self.template = rows.template
        self._cache: dict[tuple[str, str], list[bool]] = {}

    def mask(self, unit: str, cond: Condition | None) -> list[bool]:
        """Return, per row of the unit, whether the condition holds (all True without one)."""
        if cond is None:
            return [True] * self.rows.size(unit)
        key = (unit, json.dumps(cond, sort_keys=True, default=str))
        if key not in self._cache:
            self._cache[key] = self._evaluate(unit, cond)
        return self._cache[key]

    def _evaluate(self, unit: str, cond: Condition) -> list[bool]:
        size = self.rows.size(unit)
        if "all" in cond:
            parts = [self.mask(unit, c) for c in cond["all"]]
            return reduce(lambda a, b: list(map(and_, a, b)), parts) if parts else [True] * size
        if "any" in cond:
            parts = [self.mask(unit, c) for c in cond["any"]]
            return reduce(lambda a, b: list(map(or_, a, b)), parts) if parts else [False] * size
        if "not" in cond:
            return list(map(not_, self.mask(unit, cond["not"])))
        if "use" in cond and cond["use"] in self.template.filters:
            return self.mask(unit, self.template.filters[cond["use"]])
        return self._leaf(unit, cond)

    def _leaf(self, unit: str, cond: Condition) -> list[bool]:
        """Return a leaf's mask, evaluating it once per distinct value of its field."""
        template, rows = self.template, self.rows
        test = compile_condition(cond, template, filters=template.filters, params=template.parameters)
        name = str(cond.get("field"))
        in_row = name in rows.person_names
        if unit == ENCOUNTER and in_row:
            return [test(e, None) for e in rows.encounters]  # holds in some person row
        if unit != ENCOUNTER and not in_row and name in rows.encounter_names:
            return rows.expand(self.mask(ENCOUNTER, cond))
        memo = _LeafMemo(test, name, unit != ENCOUNTER, rows.thaw)
        try:
            frozen = rows.frozen(unit, name)
            if cond.get("op") in SHAPE_OPS and len(set(frozen)) > MANY_VALUES:  # e.g. a person key
                return list(map(memo.__getitem__, map(_shape, frozen)))
            return list(map(memo.__getitem__, frozen))
        except TypeError:  # a list holding lists or objects
            return list(map(memo.__getitem__, frozen_in_full(rows.column(unit, name))))
