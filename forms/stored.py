"""Stored answer values: plain, a NOT value, a pertinent negative, or a qualified value.

`{"nv": code}` and `{"pn": code}` hold no real value; `{"value": v, "pn": code}` holds v.
Blank (None, "" or []) is no value either.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

Record = Mapping[str, Any]

MISSING: Any = object()  # "no real value", distinct from any stored value


def decode(stored: Any) -> tuple[Any, str | None, str | None]:
    """Split a stored value into (real value or MISSING, NOT value code, PN code)."""
    if type(stored) is str:  # the common case first: metrics run this over many records
        return (stored if stored else MISSING), None, None
    if isinstance(stored, dict):
        nv, pn = stored.get("nv"), stored.get("pn")
        real = stored.get("value", MISSING)
        return (real if has_real(real) else MISSING), _code(nv), _code(pn)
    return (stored if has_real(stored) else MISSING), None, None


def has_real(value: Any) -> bool:
    """Return whether a decoded value counts as a real value (not blank, not missing)."""
    return value is not MISSING and value is not None and value != "" and value != []


def is_set(stored: Any) -> bool:
    """Return whether a stored value holds a real value (a qualifying PN still counts)."""
    return decode(stored)[0] is not MISSING


def _code(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def lookup(name: str, values: Record, row: Record | None) -> Any:
    """Return a field's stored value: the person row first, then the encounter."""
    if row is not None and name in row:
        return row[name]
    return values.get(name)


def parse_instant(text: str) -> date | datetime | None:
    """Parse an ISO date (YYYY-MM-DD) or datetime; return None when it is neither."""
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text)
    except ValueError:
        return None
