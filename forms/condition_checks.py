"""Check a condition written in a template: structure, names, operators, values and codes."""

from __future__ import annotations

from typing import Any

from forms.conditions import LEAF_OPS, LIST_OPS, ORDER_OPS, VALUE_OPS, parse_instant
from forms.model import Condition, Field, Template


def known_names(t: Template) -> set[str]:
    """Return the names a condition may use: fields, derived and generalized outputs, groups."""
    cached = t.memo.get("known_names")
    if cached is None:
        cached = t.memo["known_names"] = _names(t)
    return cached


def _names(t: Template) -> set[str]:
    outputs = {f.generalize.output for f in t.fields.values() if f.generalize}
    return {*t.fields, *(d.id for d in t.derived), *outputs, *t.groups}


def condition_problems(t: Template, cond: Any, names: set[str] | None = None) -> list[str]:
    """Return what is wrong with a condition (structure, names, ops, values)."""
    names = known_names(t) if names is None else names
    if not isinstance(cond, dict):
        return [f"a condition must be a table, got {cond!r}"]
    forms = [k for k in ("field", "all", "any", "not", "use") if k in cond]
    if len(forms) != 1:
        has = ", ".join(cond) or "nothing"
        return [f"a condition needs exactly one of field, all, any, not, use (has: {has})"]
    form = forms[0]
    allowed = ("field", "op", "value") if form == "field" else (form,)
    extra = [
        f"condition has unknown key '{k}' (allowed: {', '.join(allowed)})" for k in cond if k not in allowed
    ]
    if form in ("all", "any"):
        items = cond[form]
        if not isinstance(items, list):
            return [*extra, f"'{form}' needs a list of conditions"]
        return extra + [p for c in items for p in condition_problems(t, c, names)]
    if form == "not":
        return extra + condition_problems(t, cond["not"], names)
    if form == "use":
        return extra + ([] if cond["use"] in t.filters else [f"unknown named filter '{cond['use']}'"])
    return extra + _leaf(t, cond, names)


def _leaf(t: Template, cond: Condition, names: set[str]) -> list[str]:
    name, op = cond["field"], cond.get("op")
    if not isinstance(name, str) or name not in names:
        return [f"condition names unknown field '{name}'"]
    if op not in LEAF_OPS:
        return [
            f"unknown op {op!r} (allowed: {', '.join(LEAF_OPS)})"
            if op
            else f"condition on '{name}' has no op"
        ]
    if op not in VALUE_OPS:
        wrong = _unary_misuse(t.fields.get(name), op)
        return ([f"op '{op}' takes no value"] if "value" in cond else []) + wrong
    if "value" not in cond:
        return [f"op '{op}' on '{name}' needs a value"]
    value, problems = _resolve(t, cond["value"])
    if problems:
        return problems
    if op in LIST_OPS and not isinstance(value, list):
        return [f"op '{op}' on '{name}' needs a list value, got {value!r}"]
    if op in ORDER_OPS and not _orderable(value):
        return [f"op '{op}' on '{name}' needs a number, date or datetime value, got {value!r}"]
    return _codes_compared(t, t.fields.get(name), value if isinstance(value, list) else [value])


def _unary_misuse(field: Field | None, op: str) -> list[str]:
    if field is not None and op in ("is_true", "is_false") and field.type != "boolean":
        return [f"op '{op}' applies to yes/no fields; '{field.id}' is {field.type}"]
    return []


def _resolve(t: Template, value: Any) -> tuple[Any, list[str]]:
    """Replace parameters in a condition value, reporting unknown ones."""
    if isinstance(value, dict):
        name = value.get("param")
        if set(value) != {"param"} or not isinstance(name, str):
            return value, [f'a condition value table must be {{param = "name"}}, got {value!r}']
        return t.parameters.get(name), ([] if name in t.parameters else [f"unknown param '{name}'"])
    if isinstance(value, list):
        resolved = [_resolve(t, v) for v in value]
        return [v for v, _ in resolved], [p for _, ps in resolved for p in ps]
    return value, []


def _orderable(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float) or (isinstance(value, str) and parse_instant(value) is not None)


def _codes_compared(t: Template, field: Field | None, values: list[Any]) -> list[str]:
    """Report compared codes that are neither in the field's list nor NOT/PN codes."""
    codes = t.code_lists.get(field.code_list or "") if field is not None else None
    if field is None or codes is None or codes.external:
        return []
    return [
        f"'{field.id}' is compared with '{v}', which is not a code of list '{codes.id}'"
        for v in values
        if not (isinstance(v, str) and (codes.has(v) or v in t.not_values))
    ]
