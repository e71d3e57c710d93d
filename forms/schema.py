"""The keys each part of a template file may hold, and the shape check of one entry.

This module knows only the FORMAT (docs/template-format.md); the content of a template
(its fields, codes and rules) lives in the template file alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from forms.model import FIELD_TYPES, PRIVACY_CLASSES, SEVERITIES, TO_STATE_RULES, USAGE_LEVELS

Check = Callable[[str, Any], "str | None"]

ID_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
RULE_ID_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
TEMPLATE_ID_PATTERN = re.compile(r"[a-z][a-z0-9_.-]*")
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
TIERS = ("core", "extended")
INPUTS = ("auto", "preset", "derived", "tap", "now", "num", "text", "pick", "later")
NOT_KINDS = ("not", "pn")
GENERALIZE_METHODS = ("age_band", "zip3", "hmac", "icd10_category")
HMAC_PURPOSES = ("person", "incident", "unit")
DERIVED_KINDS = ("seconds", "minutes", "hours", "days", "local_date", "local_hour", "local_month")
INTERVAL_KINDS = ("seconds", "minutes", "hours", "days")
RULE_KINDS = ("schema", "order", "not_future", "require", "max_gap", "subset", "exclusive", "rows", "unique")
METRIC_KINDS = ("count", "rate", "duration", "completeness")
METRIC_UNITS = ("encounter", "person")
AGGREGATIONS = ("median", "p90", "mean")


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


TOP_LEVEL: dict[str, Check] = {
    "template": table,
    "parameters": table,
    "not_values": lambda k, v: None if isinstance(v, list) else f"{k} must be an array of tables",
    "sections": lambda k, v: None if isinstance(v, list) else f"{k} must be an array of tables",
    "groups": lambda k, v: None if isinstance(v, list) else f"{k} must be an array of tables",
    "fields": lambda k, v: None if isinstance(v, list) else f"{k} must be an array of tables",
    "code_lists": table,
    "filters": table,
    "derived": lambda k, v: None if isinstance(v, list) else f"{k} must be an array of tables",
    "rules": lambda k, v: None if isinstance(v, list) else f"{k} must be an array of tables",
    "breakdowns": table,
    "metrics": lambda k, v: None if isinstance(v, list) else f"{k} must be an array of tables",
}
TOP_REQUIRED = ("template", "not_values", "sections", "fields", "code_lists")

TEMPLATE = with_i18n(
    {"id": template_ident, "version": text, "title": text, "effective_date": iso_date, "description": text},
    "title",
    "description",
)
TEMPLATE_REQUIRED = ("id", "version", "title", "effective_date")

NOT_VALUE = with_i18n({"code": ident, "label": text, "kind": one_of(NOT_KINDS), "nemsis": text}, "label")
NOT_VALUE_REQUIRED = ("code", "label", "kind")

SECTION = with_i18n({"id": ident, "title": text, "group": ident}, "title")
SECTION_REQUIRED = ("id", "title")

GROUP = with_i18n(
    {
        "id": ident,
        "label": text,
        "relevant": table,
        "min_rows": integer,
        "max_rows": integer,
        "sequence_field": ident,
        "count_field": ident,
        "row_label": text,
    },
    "label",
    "row_label",
)
GROUP_REQUIRED = ("id", "label")

FIELD = with_i18n(
    {
        "id": ident,
        "section": ident,
        "label": text,
        "help": text,
        "type": one_of(FIELD_TYPES),
        "code_list": ident,
        "usage": one_of(USAGE_LEVELS),
        "tier": one_of(TIERS),
        "input": one_of(INPUTS),
        "now_button": boolean,
        "privacy": one_of(PRIVACY_CLASSES),
        "to_state": one_of(TO_STATE_RULES),
        "generalize": table,
        "relevant": table,
        "not_values": id_list,
        "pertinent_negatives": id_list,
        "min": number,
        "max": number,
        "max_length": integer,
        "pattern": regex,
        "min_items": integer,
        "must_be_true": boolean,
        "default": plain,
        "auto_value": table,
        "nemsis": text,
    },
    "label",
    "help",
)
FIELD_REQUIRED = ("id", "section", "label", "type", "usage", "tier", "input", "privacy", "to_state")

GENERALIZE = {"method": one_of(GENERALIZE_METHODS), "output": ident, "purpose": one_of(HMAC_PURPOSES)}
GENERALIZE_REQUIRED = ("method", "output")

AUTO_VALUE = {"value": plain, "when": table}
AUTO_VALUE_REQUIRED = ("value", "when")

CODE_LIST = {"codes": lambda k, v: None if isinstance(v, list) else f"{k} must be a list of tables",
             "external": boolean, "pattern": regex, "output_only": boolean}  # fmt: skip
CODE_LIST_REQUIRED = ("codes",)
CODE = with_i18n({"code": text, "label": text, "nemsis": text}, "label")
CODE_REQUIRED = ("code", "label")

DERIVED = {
    "id": ident,
    "level": ident,
    "kind": one_of(DERIVED_KINDS),
    "start": ids,
    "end": ids,
    "when": table,
}
DERIVED_REQUIRED = ("id", "level", "kind", "start")

RULE_COMMON = with_i18n(
    {"id": rule_ident, "severity": one_of(SEVERITIES), "kind": one_of(RULE_KINDS), "message": text,
     "level": ident},
    "message",
)  # fmt: skip
RULE_REQUIRED = ("id", "severity", "kind", "message")
RULE_KIND_KEYS: dict[str, dict[str, Check]] = {
    "schema": {},
    "order": {"fields": id_list},
    "not_future": {"tolerance_s": integer},
    "require": {"when": table, "then": table},
    "max_gap": {"start": ids, "end": ids, "max_s": integer},
    "subset": {"field": ident, "of": ident},
    "exclusive": {"items": lambda k, v: None if isinstance(v, list) else f"{k} must be a list of tables"},
    "rows": {"group": ident},
    "unique": {"fields": id_list},
}
RULE_KIND_REQUIRED: dict[str, tuple[str, ...]] = {
    "order": ("fields",),
    "require": ("then",),
    "max_gap": ("start", "end", "max_s"),
    "subset": ("field", "of"),
    "exclusive": ("items",),
    "rows": ("group",),
    "unique": ("fields",),
}
EXCLUSIVE_ITEM = {"field": ident, "code": text}

METRIC_COMMON = with_i18n(
    {"id": ident, "label": text, "kind": one_of(METRIC_KINDS), "unit": one_of(METRIC_UNITS),
     "breakdowns": text_list, "min_period_age_h": integer},
    "label",
)  # fmt: skip
METRIC_REQUIRED = ("id", "kind", "unit")
METRIC_KIND_KEYS: dict[str, dict[str, Check]] = {
    "count": {"filter": table, "distinct": ident, "sum": ident},
    "rate": {"numerator": table, "denominator": table, "distinct": ident},
    "duration": {"filter": table, "start": ids, "end": ids, "value": ident,
                 "aggregations": list_of(AGGREGATIONS)},
    "completeness": {},
}  # fmt: skip
METRIC_KIND_REQUIRED: dict[str, tuple[str, ...]] = {"rate": ("numerator", "denominator")}


def check_entry(
    where: str, entry: Any, spec: Mapping[str, Check], required: Sequence[str] = ()
) -> tuple[dict[str, Any], list[str]]:
    """Return the entry's well-formed keys and a problem line for every other key."""
    if not isinstance(entry, dict):
        return {}, [f"{where}: must be a table"]
    clean: dict[str, Any] = {}
    errors: list[str] = []
    for key, value in entry.items():
        check = spec.get(key)
        if check is None:
            errors.append(f"{where}: unknown key '{key}' (allowed: {', '.join(spec)})")
        elif problem := check(key, value):
            errors.append(f"{where}: {problem}")
        else:
            clean[key] = value
    errors += [f"{where}: missing key '{key}'" for key in required if key not in entry]
    return clean, errors
