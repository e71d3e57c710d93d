"""Check one stored value against its field: type, shape, code, range, pattern, length.

Shared by the loader (defaults, automatic values) and by answer validation. Each check
returns what the crew should do, to be shown after the field's label, or None.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from forms.model import Field, Template

DATETIME_PATTERN = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
DATE_PATTERN = re.compile(r"\d{4}-\d\d-\d\d")
ENCODED_SHAPES = ({"nv"}, {"pn"}, {"value", "pn"})


def is_blank(value: Any) -> bool:
    """Return whether a stored value is blank (no answer at all)."""
    return value is None or value == "" or value == []


def value_problem(field: Field, value: Any, template: Template) -> str | None:
    """Return what to do about a value that does not fit the field, or None when it fits."""
    if not isinstance(value, dict):
        return None if is_blank(value) else plain_problem(field, value, template)
    if set(value) not in ENCODED_SHAPES:
        return "the stored answer is unreadable; answer the question again."
    if "nv" in value:
        return _code_problem(value["nv"], "not", template)
    return _code_problem(value["pn"], "pn", template) or (
        plain_problem(field, value["value"], template) if "value" in value else None
    )


def fitting(field: Field, template: Template) -> Callable[[Any], bool]:
    """Return a fast test: does a plain, non-blank value fit the field (as plain_problem says)?

    Built once per field (validation caches it per template): code sets and patterns are
    looked up here instead of on every value.
    """
    codes = template.code_lists.get(field.code_list or "")
    plain = codes is not None and not codes.external
    code_set = codes.code_set if codes is not None else frozenset()
    if field.type == "enum" and plain:
        return lambda v: isinstance(v, str) and v in code_set
    if field.type == "multi_enum" and plain:
        return lambda v: (
            isinstance(v, list)
            and all(isinstance(c, str) and c in code_set for c in v)
            and (len(set(v)) == len(v))
        )
    if field.type == "text":
        return _text_fits(field)
    if field.type == "boolean":
        return lambda v: isinstance(v, bool)
    if field.type == "integer":
        return lambda v: isinstance(v, int) and not isinstance(v, bool) and _in_range(field, v)
    check = _TYPE_CHECKS[field.type]
    return lambda v: check(field, v, template) is None


def _text_fits(field: Field) -> Callable[[Any], bool]:
    longest, pattern = field.max_length, re.compile(field.pattern) if field.pattern is not None else None
    return lambda v: (
        isinstance(v, str)
        and (longest is None or len(v) <= longest)
        and (pattern is None or pattern.fullmatch(v) is not None)
    )


def _code_problem(code: Any, kind: str, template: Template) -> str | None:
    known = template.not_values.get(code) if isinstance(code, str) else None
    if known is not None and known.kind == kind:
        return None
    what = "reason for a missing value" if kind == "not" else "qualifier (pertinent negative)"
    return f"{code!r} is not a known {what}; choose one from the list."


def plain_problem(field: Field, value: Any, template: Template) -> str | None:
    """Return what to do about a plain (unencoded) value that does not fit the field."""
    return _TYPE_CHECKS[field.type](field, value, template)


def _text(field: Field, value: Any, template: Template) -> str | None:
    if not isinstance(value, str):
        return "enter text."
    if field.max_length is not None and len(value) > field.max_length:
        return f"keep it to {field.max_length} characters or fewer (now {len(value)})."
    if field.pattern is not None and not re.fullmatch(field.pattern, value):
        return f"'{value}' is not in the expected format; check it."
    return None


def _integer(field: Field, value: Any, template: Template) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool)
    return None if ok and _in_range(field, value) else f"enter a whole number{_range_text(field)}."


def _number(field: Field, value: Any, template: Template) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return None if ok and _in_range(field, value) else f"enter a number{_range_text(field)}."


def _in_range(field: Field, value: float) -> bool:
    return (field.min is None or value >= field.min) and (field.max is None or value <= field.max)


def _range_text(field: Field) -> str:
    low, high = _number_text(field.min), _number_text(field.max)
    if low is not None and high is not None:
        return f" from {low} to {high}"
    if low is not None:
        return f" of {low} or more"
    return f" of {high} or less" if high is not None else ""


def _number_text(value: float | None) -> str | None:
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else str(value)


def _boolean(field: Field, value: Any, template: Template) -> str | None:
    return None if isinstance(value, bool) else "answer yes or no."


def _date(field: Field, value: Any, template: Template) -> str | None:
    if isinstance(value, str) and DATE_PATTERN.fullmatch(value):
        try:
            date.fromisoformat(value)
            return None
        except ValueError:
            pass
    return "enter a date as YYYY-MM-DD (e.g. 2026-03-14)."


def _datetime(field: Field, value: Any, template: Template) -> str | None:
    if isinstance(value, str) and DATETIME_PATTERN.fullmatch(value):
        try:
            datetime.fromisoformat(value)
            return None
        except ValueError:
            pass
    return "enter a date and time with seconds and UTC offset (e.g. 2026-03-14T13:17:45-06:00)."


def _enum(field: Field, value: Any, template: Template) -> str | None:
    if isinstance(value, str) and is_code(template, field, value):
        return None
    return f"choose one of the listed options ({_shown(value)} is not one)."


def _multi_enum(field: Field, value: Any, template: Template) -> str | None:
    if not isinstance(value, list):
        return "choose one or more of the listed options."
    bad = [v for v in value if not (isinstance(v, str) and is_code(template, field, v))]
    if bad:
        return f"choose from the listed options ({_shown(bad[0])} is not one)."
    if len(set(value)) != len(value):
        return "choose each option only once."
    return None


def is_code(template: Template, field: Field, value: str) -> bool:
    """Return whether value is a code of the field's list (or fits an external list's pattern)."""
    codes = template.code_lists.get(field.code_list or "")
    if codes is None:
        return False
    if codes.has(value):
        return True
    return codes.external and codes.pattern is not None and re.fullmatch(codes.pattern, value) is not None


def _geo(field: Field, value: Any, template: Template) -> str | None:
    parts = value.split(",") if isinstance(value, str) else []
    try:
        lat, lon = (float(p) for p in parts)
    except ValueError:
        lat = lon = math.nan
    if -90 <= lat <= 90 and -180 <= lon <= 180:
        return None
    return "enter a GPS point as latitude,longitude (e.g. 39.7508,-104.9966)."


def _shown(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else repr(value)


_TYPE_CHECKS: dict[str, Callable[[Field, Any, Template], str | None]] = {
    "text": _text,
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
    "enum": _enum,
    "multi_enum": _multi_enum,
    "geo": _geo,
}
