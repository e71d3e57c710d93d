"""Hashable stand-ins for JSON values, so that rows can be counted and memoized by value.

A list becomes a tuple and an object a tuple tagged with a private marker (JSON never
holds tuples, so a stand-in cannot be mistaken for a plain value); `thaw` turns a
stand-in back into the value it was made from.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import compress, repeat
from operator import not_
from typing import Any

_HASHABLE = {str, int, float, bool, type(None)}
_OTHER = {dict}  # unhashable JSON values other than lists
_OBJECT = object()  # tags a frozen JSON object; never equal to anything in JSON


def freeze(value: Any) -> Any:
    """Return a hashable stand-in for a JSON value (a list becomes a tuple, an object a tagged tuple)."""
    kind = type(value)
    if kind in _HASHABLE:
        return value
    if kind is list:
        flat = tuple(value)
        return flat if _hashable(flat) else tuple(map(freeze, value))
    if kind is dict:
        items = (_OBJECT, *value.items())
        return items if _hashable(items) else (_OBJECT, *((k, freeze(v)) for k, v in value.items()))
    return (_OBJECT, ("", repr(value)))


def frozen_column(column: list[Any]) -> list[Any]:
    """Return a column with every list and object frozen, touching as few rows as it can.

    Lists become tuples at C speed; the other rows needing work (objects, and the rows
    that are not lists in a column of lists) are patched one by one. A list holding lists
    or objects stays unhashable here: `frozen_in_full` is the slow, complete fallback.
    """
    types = set(map(type, column))
    if types <= _HASHABLE:
        return column
    if list not in types:
        return _patch(column, list(column), map(_OTHER.__contains__, map(type, column)))
    odd = list(map(not_, map(isinstance, column, repeat(list))))
    work = list(column)
    for index in compress(range(len(column)), odd):
        work[index] = ()
    return _patch(column, list(map(tuple, work)), odd)


def frozen_in_full(column: list[Any]) -> list[Any]:
    """Return a column with every value frozen recursively."""
    return list(map(freeze, column))


def _patch(column: list[Any], out: list[Any], marks: Iterable[bool]) -> list[Any]:
    """Freeze the marked rows of `column` into `out`."""
    for index in compress(range(len(column)), marks):
        out[index] = freeze(column[index])
    return out


def _hashable(value: tuple[Any, ...]) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def is_frozen_object(value: Any) -> bool:
    """Return whether a frozen value stands for a JSON object."""
    return type(value) is tuple and bool(value) and value[0] is _OBJECT


def thaw(value: Any) -> Any:
    """Return the JSON value a frozen stand-in was made from (JSON never holds tuples)."""
    if type(value) is not tuple:
        return value
    if value and value[0] is _OBJECT:
        return {k: thaw(v) for k, v in value[1:]}
    return [thaw(v) for v in value]
