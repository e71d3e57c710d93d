"""Evaluate template conditions (relevance, rules, metric filters) without eval.

A condition is plain data (see docs/template-format.md "Conditions"). It is compiled once
into nested closures so that metrics can run it over many records quickly; `evaluate`
compiles and calls. The same closures read stored answers and de-identified payload
records: multi_enum semantics follow the shape of the value (a list means "contains").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

from forms.leaves import UNARY, ConditionError, Predicate, in_some_row, member_of, ordered
from forms.model import Condition, Template
from forms.stored import MISSING, decode, has_real, is_set, lookup, parse_instant

__all__ = [
    "MISSING",
    "ConditionError",
    "Predicate",
    "compile_condition",
    "decode",
    "evaluate",
    "has_real",
    "is_set",
    "lookup",
    "parse_instant",
    "template_cached",
    "template_predicate",
]

Record = Mapping[str, Any]
T = TypeVar("T")

LEAF_OPS = (
    "eq", "ne", "in", "not_in", "lt", "le", "gt", "ge", "is_true", "is_false", "is_set", "is_not_set",
)  # fmt: skip
VALUE_OPS = ("eq", "ne", "in", "not_in", "lt", "le", "gt", "ge")
LIST_OPS = ("in", "not_in")
ORDER_OPS = ("lt", "le", "gt", "ge")

MEMO_LIMIT = 4096  # compiled conditions kept per template


def evaluate(
    cond: Condition,
    values: Mapping[str, Any],
    template: Template | None = None,
    row: Mapping[str, Any] | None = None,
    *,
    filters: Mapping[str, Condition] | None = None,
    params: Mapping[str, Any] | None = None,
) -> bool:
    """Return whether the condition holds for an encounter's values (and a person row)."""
    if template is not None and filters is None and params is None:
        return _cached(template, cond)(values, row)
    return compile_condition(cond, template, filters=filters, params=params)(values, row)


def _cached(template: Template, cond: Condition) -> Predicate:
    """Return the compiled condition from the template's cache, keyed by its JSON text.

    A condition of the template itself that template_predicate() compiled already is found
    by identity first, which spares turning it into JSON on every call.
    """
    entry = template.memo.get(("condition", id(cond)))
    if entry is not None and entry[0] is cond:
        return entry[1]  # type: ignore[no-any-return]
    try:
        key = ("json", json.dumps(cond, sort_keys=True))
    except (TypeError, ValueError):
        return compile_condition(cond, template)
    compiled = template.memo.get(key)
    if compiled is None:
        if len(template.memo) > MEMO_LIMIT:
            template.memo.clear()
        compiled = template.memo[key] = compile_condition(cond, template)
    return compiled


def compile_condition(
    cond: Condition,
    template: Template | None = None,
    *,
    filters: Mapping[str, Condition] | None = None,
    params: Mapping[str, Any] | None = None,
) -> Predicate:
    """Return a fast predicate `(values, row) -> bool` for the condition."""
    compiler = _Compiler(
        filters if filters is not None else (template.filters if template else {}),
        params if params is not None else (template.parameters if template else {}),
        frozenset(template.not_values) if template is not None else None,
        template.row_groups if template is not None else {},
    )
    return compiler.compile(cond)


class _Compiler:
    """Turn condition data into closures, resolving named filters and parameters."""

    def __init__(
        self,
        filters: Mapping[str, Condition],
        params: Mapping[str, Any],
        nv_codes: frozenset[str] | None,
        row_groups: Mapping[str, str],
    ) -> None:
        self.filters = filters
        self.params = params
        self.nv_codes = nv_codes
        self.row_groups = row_groups
        self.using: list[str] = []
        self.done: dict[str, Predicate] = {}

    def compile(self, cond: Any) -> Predicate:
        """Compile one condition node."""
        if not isinstance(cond, Mapping):
            raise ConditionError(f"a condition must be a table, got {cond!r}")
        if "all" in cond:
            return _all([self.compile(c) for c in _as_list(cond["all"], "all")])
        if "any" in cond:
            return _any([self.compile(c) for c in _as_list(cond["any"], "any")])
        if "not" in cond:
            inner = self.compile(cond["not"])
            return lambda v, r: not inner(v, r)
        if "use" in cond:
            return self._use(str(cond["use"]))
        if "field" in cond:
            return self._leaf(cond)
        raise ConditionError(f"a condition needs field, all, any, not or use, got {sorted(cond)}")

    def _use(self, name: str) -> Predicate:
        if name in self.done:
            return self.done[name]
        if name not in self.filters:
            raise ConditionError(f"unknown named filter '{name}'")
        if name in self.using:
            raise ConditionError(f"named filter '{name}' uses itself ({' -> '.join([*self.using, name])})")
        self.using.append(name)
        try:
            compiled = self.compile(self.filters[name])
        finally:
            self.using.pop()
        self.done[name] = compiled
        return compiled

    def resolve(self, value: Any) -> Any:
        """Replace `{param: name}` (also inside a list) with the parameter's value."""
        if isinstance(value, Mapping) and set(value) == {"param"}:
            name = str(value["param"])
            if name not in self.params:
                raise ConditionError(f"unknown parameter '{name}'")
            return self.params[name]
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def _leaf(self, cond: Mapping[str, Any]) -> Predicate:
        leaf = self._plain_leaf(cond)
        group = self.row_groups.get(str(cond["field"]))
        return leaf if group is None else in_some_row(group, leaf)

    def _plain_leaf(self, cond: Mapping[str, Any]) -> Predicate:
        name, op = str(cond["field"]), cond.get("op")
        if op not in LEAF_OPS:
            raise ConditionError(f"unknown op {op!r} (allowed: {', '.join(LEAF_OPS)})")
        if op in VALUE_OPS and "value" not in cond:
            raise ConditionError(f"op '{op}' needs a value")
        value = self.resolve(cond.get("value"))
        if op in ORDER_OPS:
            return ordered(name, op, value)
        if op in LIST_OPS:
            if not isinstance(value, list):
                raise ConditionError(f"op '{op}' needs a list value, got {value!r}")
            member = member_of(name, value, self._codes(value))
            return member if op == "in" else (lambda v, r: not member(v, r))
        if op in ("eq", "ne"):
            member = member_of(name, [value], self._codes([value]))
            return member if op == "eq" else (lambda v, r: not member(v, r))
        return UNARY[op](name)

    def _codes(self, values: Sequence[Any]) -> frozenset[str]:
        """Return the compared values that are NOT/PN codes (all strings when no template)."""
        strings = {v for v in values if isinstance(v, str)}
        return frozenset(strings if self.nv_codes is None else strings & self.nv_codes)


def _as_list(items: Any, key: str) -> list[Any]:
    if not isinstance(items, list):
        raise ConditionError(f"'{key}' needs a list of conditions")
    return items


def _all(preds: list[Predicate]) -> Predicate:
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        first, second = preds
        return lambda v, r: first(v, r) and second(v, r)

    def every(values: Record, row: Record | None) -> bool:
        for pred in preds:  # noqa: SIM110 - a plain loop is faster than all() over a generator
            if not pred(values, row):
                return False
        return True

    return every


def _any(preds: list[Predicate]) -> Predicate:
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        first, second = preds
        return lambda v, r: first(v, r) or second(v, r)

    def some(values: Record, row: Record | None) -> bool:
        for pred in preds:  # noqa: SIM110 - a plain loop is faster than any() over a generator
            if pred(values, row):
                return True
        return False

    return some


def template_cached(template: Template, key: Hashable, build: Callable[[], T]) -> T:
    """Return what build() returns for this template, computed once and kept in its memo."""
    try:
        found: T = template.memo[key]
    except KeyError:
        found = template.memo[key] = build()
    return found


def template_predicate(template: Template, cond: Condition) -> Predicate:
    """Return the compiled predicate of a condition, cached on the template."""
    key = ("condition", id(cond))
    entry = template.memo.get(key)
    if entry is not None and entry[0] is cond:
        return entry[1]  # type: ignore[no-any-return]
    compiled = compile_condition(cond, template)
    template.memo[key] = (cond, compiled)  # holding cond keeps its id from being reused
    return compiled
