"""Shape checks for the values of a template file: ids, words, numbers, tables, lists.

Each check takes the key and the value and returns what is wrong, or None.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

Check = Callable[[str, Any], "str | None"]


ID_PATTERN = re.compile(r"[a-z][a-z0-9_]*")


RULE_ID_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


TEMPLATE_ID_PATTERN = re.compile(r"[a-z][a-z0-9_.-]*")


DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")


def text(key: str, value: Any) -> str | None:
    """Accept a non-empty string."""
    return None if isinstance(value, str) and value.strip() else f"{key} must be a non-empty string"


def ident(key: str, value: Any) -> str | None:
    """Accept a lowercase id."""
    if isinstance(value, str) and ID_PATTERN.fullmatch(value):
        return None
    return f"{key} {value!r} is not a valid id (lowercase letters, digits and _, starting with a letter)"


def rule_ident(key: str, value: Any) -> str | None:
    """Accept a rule id such as R01 (or a breakdown set name such as ENC)."""
    if isinstance(value, str) and RULE_ID_PATTERN.fullmatch(value):
        return None
    return f"{key} {value!r} is not a valid rule id (letters, digits and _, e.g. R01)"


def template_ident(key: str, value: Any) -> str | None:
    """Accept a template id such as state-standard."""
    if isinstance(value, str) and TEMPLATE_ID_PATTERN.fullmatch(value):
        return None
    return f"{key} {value!r} is not a valid template id (lowercase letters, digits, _, - and .)"


def boolean(key: str, value: Any) -> str | None:
    """Accept true or false."""
    return None if isinstance(value, bool) else f"{key} must be true or false"


def integer(key: str, value: Any) -> str | None:
    """Accept a whole number of zero or more."""
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return None if ok else f"{key} must be a whole number of 0 or more"


def number(key: str, value: Any) -> str | None:
    """Accept any number."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return None if ok else f"{key} must be a number"


def table(key: str, value: Any) -> str | None:
    """Accept a table (TOML) or object (JSON)."""
    return None if isinstance(value, dict) else f"{key} must be a table"


def id_list(key: str, value: Any) -> str | None:
    """Accept a list of ids."""
    ok = isinstance(value, list) and all(isinstance(v, str) and ID_PATTERN.fullmatch(v) for v in value)
    return None if ok else f"{key} must be a list of ids"


def ids(key: str, value: Any) -> str | None:
    """Accept one id or a list of ids (fallbacks in order)."""
    return ident(key, value) if isinstance(value, str) else id_list(key, value)


def text_list(key: str, value: Any) -> str | None:
    """Accept a list of non-empty strings."""
    ok = isinstance(value, list) and all(isinstance(v, str) and v for v in value)
    return None if ok else f"{key} must be a list of strings"


def translations(key: str, value: Any) -> str | None:
    """Accept a table of translations keyed by language code."""
    ok = isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    return None if ok else f'{key} must be a table of strings keyed by language code (e.g. {{ es = "..." }})'


def regex(key: str, value: Any) -> str | None:
    """Accept a valid regular expression."""
    if not isinstance(value, str):
        return f"{key} must be a string"
    try:
        re.compile(value)
    except re.error as exc:
        return f"{key} {value!r} is not a valid regular expression ({exc})"
    return None


def iso_date(key: str, value: Any) -> str | None:
    """Accept a quoted YYYY-MM-DD date."""
    if isinstance(value, str) and DATE_PATTERN.fullmatch(value):
        return None
    return f'{key} must be a quoted date "YYYY-MM-DD", got {value!r}'


def plain(key: str, value: Any) -> str | None:
    """Accept any value (the loader rejects TOML dates and times everywhere)."""
    return None


def one_of(allowed: Sequence[str]) -> Check:
    """Accept one of the allowed words."""

    def check(key: str, value: Any) -> str | None:
        return None if value in allowed else f"unknown {key} {_quote(value)} (allowed: {', '.join(allowed)})"

    return check


def list_of(allowed: Sequence[str]) -> Check:
    """Accept a list of allowed words."""

    def check(key: str, value: Any) -> str | None:
        if not isinstance(value, list):
            return f"{key} must be a list"
        bad = [v for v in value if v not in allowed]
        return f"unknown {key} {_quote(bad[0])} (allowed: {', '.join(allowed)})" if bad else None

    return check


def _quote(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else repr(value)


def with_i18n(spec: dict[str, Check], *keys: str) -> dict[str, Check]:
    """Add the `<key>_i18n` translation tables next to translatable keys."""
    return {**spec, **{f"{k}_i18n": translations for k in keys}}
