"""Normalize answers: automatic values, relevance, row numbering, blank R fields.

Pure: returns a new dict and never touches its input. Answers with wrong types pass
through unchanged so that validation can name them.

Saving a record runs this on every request, so each pass reports whether it changed
anything instead of comparing deep copies, and answers are copied once, as JSON data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from forms.conditions import template_predicate
from forms.model import Answers, Field, Group, Template
from forms.values import is_blank

MAX_PASSES = 8  # relevance can cascade (A hides B, B hides C); each pass settles one level
NOT_RECORDED = {"nv": "not_recorded"}


def normalize(
    template: Template, answers: Mapping[str, Any], *, extended: frozenset[str] = frozenset(), finalize: bool
) -> Answers:
    """Return a new answers dict: auto values set, non-applicable values dropped, rows numbered."""
    out: Answers = {k: json_copy(v) for k, v in answers.items()} if isinstance(answers, Mapping) else {}
    for _ in range(MAX_PASSES):
        changed = _set_auto_values(template, out, extended)
        if not _drop_inapplicable(template, out, extended) and not changed:
            break
    _number_rows(template, out, extended)
    if finalize:
        _mark_blank_required(template, out, extended)
    return out


def json_copy(value: Any) -> Any:
    """Return a deep copy of JSON data (lists and dicts copied, other values shared)."""
    if isinstance(value, list):
        return [json_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: json_copy(v) for k, v in value.items()}
    return value


def enabled(field: Field, extended: frozenset[str]) -> bool:
    """Return whether the field is on: core, or extended and switched on."""
    return field.core or field.id in extended


def applies(template: Template, field: Field, values: Mapping[str, Any], row: Mapping[str, Any] | None,
            extended: frozenset[str]) -> bool:  # fmt: skip
    """Return whether a field is enabled and relevant (for a row field: in that row)."""
    if not enabled(field, extended):
        return False
    return field.relevant is None or template_predicate(template, field.relevant)(values, row)


def group_applies(template: Template, group: Group, values: Mapping[str, Any]) -> bool:
    """Return whether a repeat group is relevant to the encounter."""
    return group.relevant is None or template_predicate(template, group.relevant)(values, None)


def rows_of(values: Mapping[str, Any], group: Group) -> list[dict[str, Any]]:
    """Return the well-formed rows of a group (rows that are not objects are skipped)."""
    rows = values.get(group.id)
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def _set_auto_values(template: Template, out: Answers, extended: frozenset[str]) -> bool:
    """Set the automatic values that apply; return whether any value changed."""
    changed = False
    for f in template.fields.values():
        if f.auto_value is None or not enabled(f, extended):
            continue
        holds = template_predicate(template, f.auto_value["when"])
        if f.group is None:
            if holds(out, None):
                changed = _put(out, f.id, f.auto_value["value"]) or changed
            continue
        for row in rows_of(out, template.groups[f.group]) if f.group in template.groups else []:
            if holds(out, row):
                changed = _put(row, f.id, f.auto_value["value"]) or changed
    return changed


def _put(target: dict[str, Any], name: str, value: Any) -> bool:
    """Store a copy of value under name; return whether the stored value differs from before."""
    same = name in target and target[name] == value
    target[name] = json_copy(value)
    return not same


def _drop_inapplicable(template: Template, out: Answers, extended: frozenset[str]) -> bool:
    """Drop the values and groups that do not apply; return whether anything was dropped."""
    dropped = False
    for name in list(out):
        f = template.fields.get(name)
        if f is not None and f.group is None and not applies(template, f, out, None, extended):
            del out[name]
            dropped = True
    for group in template.groups.values():
        if group.id not in out:
            continue
        if not group_applies(template, group, out):
            del out[group.id]
            dropped = True
            continue
        for row in rows_of(out, group):
            for name in list(row):
                f = template.fields.get(name)
                if f is not None and f.group == group.id and not applies(template, f, out, row, extended):
                    del row[name]
                    dropped = True
    return dropped


def _number_rows(template: Template, out: Answers, extended: frozenset[str]) -> None:
    for group in template.groups.values():
        rows = rows_of(out, group)
        if group.sequence_field:
            for index, row in enumerate(rows):
                row[group.sequence_field] = index + 1
        count = template.fields.get(group.count_field or "")
        if count is not None and applies(template, count, out, None, extended):
            out[count.id] = len(rows)


def _mark_blank_required(template: Template, out: Answers, extended: frozenset[str]) -> None:
    for f in template.fields.values():
        if f.usage != "R" or "not_recorded" not in f.not_values:
            continue
        if f.group is None:
            if is_blank(out.get(f.id)) and applies(template, f, out, None, extended):
                out[f.id] = dict(NOT_RECORDED)
            continue
        for row in rows_of(out, template.groups[f.group]) if f.group in template.groups else []:
            if is_blank(row.get(f.id)) and applies(template, f, out, row, extended):
                row[f.id] = dict(NOT_RECORDED)
