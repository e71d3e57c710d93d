"""Normalize answers: automatic values, relevance, row numbering, blank R fields.

Pure: returns a new dict and never touches its input. Answers with wrong types pass
through unchanged so that validation can name them.
"""

from __future__ import annotations

import copy
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
    out: Answers = copy.deepcopy(dict(answers)) if isinstance(answers, Mapping) else {}
    for _ in range(MAX_PASSES):
        before = copy.deepcopy(out)
        _set_auto_values(template, out, extended)
        _drop_inapplicable(template, out, extended)
        if out == before:
            break
    _number_rows(template, out, extended)
    if finalize:
        _mark_blank_required(template, out, extended)
    return out


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


def _set_auto_values(template: Template, out: Answers, extended: frozenset[str]) -> None:
    for f in template.fields.values():
        if f.auto_value is None or not enabled(f, extended):
            continue
        holds = template_predicate(template, f.auto_value["when"])
        if f.group is None:
            if holds(out, None):
                out[f.id] = copy.deepcopy(f.auto_value["value"])
            continue
        for row in rows_of(out, template.groups[f.group]) if f.group in template.groups else []:
            if holds(out, row):
                row[f.id] = copy.deepcopy(f.auto_value["value"])


def _drop_inapplicable(template: Template, out: Answers, extended: frozenset[str]) -> None:
    for name in list(out):
        f = template.fields.get(name)
        if f is not None and f.group is None and not applies(template, f, out, None, extended):
            del out[name]
    for group in template.groups.values():
        if group.id not in out:
            continue
        if not group_applies(template, group, out):
            del out[group.id]
            continue
        for row in rows_of(out, group):
            for name in list(row):
                f = template.fields.get(name)
                if f is not None and f.group == group.id and not applies(template, f, out, row, extended):
                    del row[name]


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
