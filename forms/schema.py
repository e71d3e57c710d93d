"""The keys each part of a template file may hold, and the shape check of one entry.

This module knows only the FORMAT (docs/template-format.md); the content of a template
(its fields, codes and rules) lives in the template file alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from forms.model import FIELD_TYPES, PRIVACY_CLASSES, SEVERITIES, TO_STATE_RULES, USAGE_LEVELS
from forms.shapes import (
    Check,
    boolean,
    id_list,
    ident,
    ids,
    integer,
    iso_date,
    list_of,
    number,
    one_of,
    plain,
    regex,
    rule_ident,
    table,
    template_ident,
    text,
    text_list,
    with_i18n,
)

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


PLAIN_CODE_KEYS = {"code", "label", "nemsis"}


def plain_code(entry: Any) -> bool:
    """Return whether a code entry is simply well formed (most are: skips the full check)."""
    return (
        type(entry) is dict
        and entry.keys() <= PLAIN_CODE_KEYS
        and type(entry.get("code")) is str
        and type(entry.get("label")) is str
        and bool(entry["code"].strip())
        and bool(entry["label"].strip())
        and type(entry.get("nemsis", "")) is str
        and bool(entry.get("nemsis", "-"))
    )


def rule_keys(entry: Any) -> dict[str, Check]:
    """Return the keys a rule may hold: the common ones plus those of its kind."""
    kind = entry.get("kind") if isinstance(entry, dict) else None
    kinds = [RULE_KIND_KEYS[kind]] if kind in RULE_KIND_KEYS else RULE_KIND_KEYS.values()
    return {**RULE_COMMON, **{k: v for keys in kinds for k, v in keys.items()}}


def metric_keys(entry: Any) -> dict[str, Check]:
    """Return the keys a metric may hold: the common ones plus those of its kind."""
    kind = entry.get("kind") if isinstance(entry, dict) else None
    kinds = [METRIC_KIND_KEYS[kind]] if kind in METRIC_KIND_KEYS else METRIC_KIND_KEYS.values()
    return {**METRIC_COMMON, **{k: v for keys in kinds for k, v in keys.items()}}
