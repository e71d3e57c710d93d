"""Leaf predicates of conditions: one field compared with a value by one operator."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from forms.stored import MISSING, Record, decode, lookup, parse_instant

Predicate = Callable[[Record, Record | None], bool]


class ConditionError(ValueError):
    """A condition cannot be compiled (unknown op, filter or parameter)."""


def in_some_row(group: str, leaf: Predicate) -> Predicate:
    """Read a row field from encounter level: the leaf holds when it holds for some row."""

    def in_some_row(values: Record, row: Record | None) -> bool:
        if row is not None:
            return leaf(values, row)
        rows = values.get(group)
        return isinstance(rows, list) and any(leaf(values, r) for r in rows if isinstance(r, Mapping))

    return in_some_row


def member_of(name: str, targets: list[Any], codes: frozenset[str]) -> Predicate:
    """Return a predicate: the value is (or, for a list, contains) one of targets."""
    strings = frozenset(t for t in targets if isinstance(t, str))
    others = [t for t in targets if isinstance(t, int | float | bool)]

    def member(values: Record, row: Record | None) -> bool:
        stored = row[name] if row is not None and name in row else values.get(name)
        if type(stored) is str:
            return stored in strings
        real, nv, pn = decode(stored)
        if codes and (nv in codes or pn in codes):
            return True
        if real is MISSING:
            return False
        if isinstance(real, list):
            return any(_matches(item, strings, others) for item in real)
        return _matches(real, strings, others)

    return member


def _matches(value: Any, strings: frozenset[str], others: list[Any]) -> bool:
    if isinstance(value, str):
        return value in strings
    return any(_same(value, t) for t in others)


def _same(a: Any, b: Any) -> bool:
    """Compare like JSON does: a boolean never equals a number."""
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def ordered(name: str, op: str, value: Any) -> Predicate:
    """Return a predicate comparing numbers, dates or datetimes (as instants)."""
    target = comparable(value)
    if target is None:
        raise ConditionError(f"op '{op}' needs a number, date or datetime value, got {value!r}")
    test = _ORDER_TESTS[op]

    def ordered(values: Record, row: Record | None) -> bool:
        real = decode(lookup(name, values, row))[0]
        left = comparable(real)
        if left is None:
            return False
        return _compare(left, target, test)

    return ordered


def comparable(value: Any) -> float | date | datetime | None:
    """Return a number, date or datetime for ordering, or None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        return parse_instant(value)
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
        return real is False or (real is MISSING and pn is not None)

    return is_false


def _is_set(name: str) -> Predicate:
    return lambda v, r: decode(lookup(name, v, r))[0] is not MISSING


def _is_not_set(name: str) -> Predicate:
    return lambda v, r: decode(lookup(name, v, r))[0] is MISSING


UNARY: dict[str, Callable[[str], Predicate]] = {
    "is_true": _is_true,
    "is_false": _is_false,
    "is_set": _is_set,
    "is_not_set": _is_not_set,
}
