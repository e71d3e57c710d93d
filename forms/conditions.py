"""Evaluate template conditions (relevance, rules, metric filters) without eval.

A condition is plain data (see docs/template-format.md "Conditions"). It is compiled once
into nested closures so that metrics can run it over many records quickly; `evaluate`
compiles and calls. The same closures read stored answers and de-identified payload
records: multi_enum semantics follow the shape of the value (a list means "contains").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from forms.model import Condition, Template

Record = Mapping[str, Any]
Predicate = Callable[[Record, Record | None], bool]

LEAF_OPS = (
    "eq", "ne", "in", "not_in", "lt", "le", "gt", "ge", "is_true", "is_false", "is_set", "is_not_set",
)  # fmt: skip
VALUE_OPS = ("eq", "ne", "in", "not_in", "lt", "le", "gt", "ge")
LIST_OPS = ("in", "not_in")
ORDER_OPS = ("lt", "le", "gt", "ge")

_MISSING: Any = object()


class ConditionError(ValueError):
    """A condition cannot be compiled (unknown op, filter or parameter)."""


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
    return compile_condition(cond, template, filters=filters, params=params)(values, row)


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


def decode(stored: Any) -> tuple[Any, str | None, str | None]:
    """Split a stored value into (real value or _MISSING, NOT value code, PN code)."""
    if isinstance(stored, dict):
        nv, pn = stored.get("nv"), stored.get("pn")
        real = stored.get("value", _MISSING)
        return (real if has_real(real) else _MISSING), _code(nv), _code(pn)
    return (stored if has_real(stored) else _MISSING), None, None


def has_real(value: Any) -> bool:
    """Return whether a decoded value counts as a real value (not blank, not missing)."""
    return value is not _MISSING and value is not None and value != "" and value != []


def is_set(stored: Any) -> bool:
    """Return whether a stored value holds a real value (a qualifying PN still counts)."""
    return decode(stored)[0] is not _MISSING


def _code(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def lookup(name: str, values: Record, row: Record | None) -> Any:
    """Return a field's stored value: the person row first, then the encounter."""
    if row is not None and name in row:
        return row[name]
    return values.get(name)


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
        return leaf if group is None else _in_some_row(group, leaf)

    def _plain_leaf(self, cond: Mapping[str, Any]) -> Predicate:
        name, op = str(cond["field"]), cond.get("op")
        if op not in LEAF_OPS:
            raise ConditionError(f"unknown op {op!r} (allowed: {', '.join(LEAF_OPS)})")
        if op in VALUE_OPS and "value" not in cond:
            raise ConditionError(f"op '{op}' needs a value")
        value = self.resolve(cond.get("value"))
        if op in ORDER_OPS:
            return _ordered(name, op, value)
        if op in LIST_OPS:
            if not isinstance(value, list):
                raise ConditionError(f"op '{op}' needs a list value, got {value!r}")
            member = _member(name, value, self._codes(value))
            return member if op == "in" else (lambda v, r: not member(v, r))
        if op in ("eq", "ne"):
            member = _member(name, [value], self._codes([value]))
            return member if op == "eq" else (lambda v, r: not member(v, r))
        return _UNARY[op](name)

    def _codes(self, values: Sequence[Any]) -> frozenset[str]:
        """Return the compared values that are NOT/PN codes (all strings when no template)."""
        strings = {v for v in values if isinstance(v, str)}
        return frozenset(strings if self.nv_codes is None else strings & self.nv_codes)


def _as_list(items: Any, key: str) -> list[Any]:
    if not isinstance(items, list):
        raise ConditionError(f"'{key}' needs a list of conditions")
    return items


def _in_some_row(group: str, leaf: Predicate) -> Predicate:
    """Read a row field from encounter level: the leaf holds when it holds for some row."""

    def in_some_row(values: Record, row: Record | None) -> bool:
        if row is not None:
            return leaf(values, row)
        rows = values.get(group)
        return isinstance(rows, list) and any(leaf(values, r) for r in rows if isinstance(r, Mapping))

    return in_some_row


def _all(preds: list[Predicate]) -> Predicate:
    return lambda v, r: all(p(v, r) for p in preds)


def _any(preds: list[Predicate]) -> Predicate:
    return lambda v, r: any(p(v, r) for p in preds)


def _member(name: str, targets: list[Any], codes: frozenset[str]) -> Predicate:
    """Return a predicate: the value is (or, for a list, contains) one of targets."""
    wanted = [t for t in targets if isinstance(t, str | int | float | bool)]

    def member(values: Record, row: Record | None) -> bool:
        real, nv, pn = decode(lookup(name, values, row))
        if codes and ((nv is not None and nv in codes) or (pn is not None and pn in codes)):
            return True
        if real is _MISSING:
            return False
        if isinstance(real, list):
            return any(_same(item, t) for item in real for t in wanted)
        return any(_same(real, t) for t in wanted)

    return member


def _same(a: Any, b: Any) -> bool:
    """Compare like JSON does: a boolean never equals a number."""
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _ordered(name: str, op: str, value: Any) -> Predicate:
    """Return a predicate comparing numbers, dates or datetimes (as instants)."""
    target = _comparable(value)
    if target is None:
        raise ConditionError(f"op '{op}' needs a number, date or datetime value, got {value!r}")
    test = _ORDER_TESTS[op]

    def ordered(values: Record, row: Record | None) -> bool:
        real = decode(lookup(name, values, row))[0]
        left = _comparable(real)
        if left is None:
            return False
        return _compare(left, target, test)

    return ordered


def _comparable(value: Any) -> float | date | datetime | None:
    """Return a number, date or datetime for ordering, or None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        return parse_instant(value)
    return None


def parse_instant(text: str) -> date | datetime | None:
    """Parse an ISO date (YYYY-MM-DD) or datetime; return None when it is neither."""
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _compare(left: Any, right: Any, test: Callable[[Any, Any], bool]) -> bool:
    number = (int, float)
    if isinstance(left, number) != isinstance(right, number):
        return False
    if isinstance(left, datetime) != isinstance(right, datetime):
        left = left.date() if isinstance(left, datetime) else left
        right = right.date() if isinstance(right, datetime) else right
    try:
        return test(left, right)
    except TypeError:  # naive against aware datetimes: not comparable
        return False


_ORDER_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "lt": lambda a, b: bool(a < b),
    "le": lambda a, b: bool(a <= b),
    "gt": lambda a, b: bool(a > b),
    "ge": lambda a, b: bool(a >= b),
}


def _is_true(name: str) -> Predicate:
    return lambda v, r: decode(lookup(name, v, r))[0] is True


def _is_false(name: str) -> Predicate:
    def is_false(values: Record, row: Record | None) -> bool:
        real, _nv, pn = decode(lookup(name, values, row))
        return real is False or (real is _MISSING and pn is not None)

    return is_false


def _is_set(name: str) -> Predicate:
    return lambda v, r: decode(lookup(name, v, r))[0] is not _MISSING


def _is_not_set(name: str) -> Predicate:
    return lambda v, r: decode(lookup(name, v, r))[0] is _MISSING


_UNARY: dict[str, Callable[[str], Predicate]] = {
    "is_true": _is_true,
    "is_false": _is_false,
    "is_set": _is_set,
    "is_not_set": _is_not_set,
}


def template_predicate(template: Template, cond: Condition) -> Predicate:
    """Return the compiled predicate of a condition, cached on the template."""
    key = ("condition", id(cond))
    entry = template.memo.get(key)
    if entry is not None and entry[0] is cond:
        return entry[1]  # type: ignore[no-any-return]
    compiled = compile_condition(cond, template)
    template.memo[key] = (cond, compiled)  # holding cond keeps its id from being reused
    return compiled
