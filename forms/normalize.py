"""Normalize answers: automatic values, relevance, row numbering, blank R fields.

Pure: returns a new dict and never touches its input. Answers with wrong types pass
through unchanged so that validation can name them.

Saving a record runs this on every request, so which fields are on and their compiled
relevance conditions are worked out once per template (`relevance`), each pass reports
whether it changed anything instead of comparing deep copies, and answers are copied
once, as JSON data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from forms.conditions import Predicate, template_cached, template_predicate
from forms.model import Answers, Field, Group, Template
from forms.values import is_blank

MAX_PASSES = 8  # relevance can cascade (A hides B, B hides C); each pass settles one level
NOT_RECORDED = {"nv": "not_recorded"}


def _always(values: Mapping[str, Any], row: Mapping[str, Any] | None) -> bool:
    return True  # the field has no relevance condition


def _never(values: Mapping[str, Any], row: Mapping[str, Any] | None) -> bool:
    return False  # an extended field that is switched off


@dataclass(frozen=True)
class Relevance:
    """When each field applies, for one set of switched-on extended fields, compiled once.

    `top` maps every encounter-level field, and `rows[group]` every field of that group's
    rows, to a predicate (values, row) -> bool, false for a field that is off and true for
    one without a relevance condition; both keep the template's field order. `groups` holds
    each group's relevance, `auto` the enabled fields with an automatic value and its
    condition, `blank_required` the R fields that take "not recorded" when left blank.
    """

    top: dict[str, Predicate]
    rows: dict[str, dict[str, Predicate]]
    groups: dict[str, Predicate]
    auto: tuple[tuple[Field, Predicate], ...]
    blank_required: tuple[Field, ...]


def relevance(template: Template, extended: frozenset[str]) -> Relevance:
    """Return the compiled relevance of the template's fields, cached on the template."""
    return template_cached(template, ("relevance", extended), lambda: _compile_relevance(template, extended))


def _compile_relevance(template: Template, extended: frozenset[str]) -> Relevance:
    def test(f: Field) -> Predicate:
        if not enabled(f, extended):
            return _never
        return _always if f.relevant is None else template_predicate(template, f.relevant)

    rows: dict[str, dict[str, Predicate]] = {g: {} for g in template.groups}
    top: dict[str, Predicate] = {}
    for f in template.fields.values():
        (top if f.group is None else rows.setdefault(f.group, {}))[f.id] = test(f)
    groups = {
        g.id: _always if g.relevant is None else template_predicate(template, g.relevant)
        for g in template.groups.values()
    }
    auto = tuple(
        (f, template_predicate(template, f.auto_value["when"]))
        for f in template.fields.values()
        if f.auto_value is not None and enabled(f, extended)
    )
    blank = tuple(f for f in template.fields.values() if f.usage == "R" and "not_recorded" in f.not_values)
    return Relevance(top, rows, groups, auto, blank)


def normalize(
    template: Template, answers: Mapping[str, Any], *, extended: frozenset[str] = frozenset(), finalize: bool
) -> Answers:
    """Return a new answers dict: auto values set, non-applicable values dropped, rows numbered."""
    out: Answers = {k: json_copy(v) for k, v in answers.items()} if isinstance(answers, Mapping) else {}
    plan = relevance(template, extended)
    for _ in range(MAX_PASSES):
        changed = _set_auto_values(template, plan, out)
        if not _drop_inapplicable(template, plan, out) and not changed:
            break
    _number_rows(template, plan, out)
    if finalize:
        _mark_blank_required(template, plan, out)
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


def _set_auto_values(template: Template, plan: Relevance, out: Answers) -> bool:
    """Set the automatic values that apply; return whether any value changed."""
    changed = False
    for f, holds in plan.auto:
        if f.group is None:
            if holds(out, None):
                changed = _put(out, f.id, f.auto_value) or changed
            continue
        for row in rows_of(out, template.groups[f.group]) if f.group in template.groups else []:
            if holds(out, row):
                changed = _put(row, f.id, f.auto_value) or changed
    return changed


def _put(target: dict[str, Any], name: str, auto_value: Any) -> bool:
    """Store a copy of the automatic value under name; return whether the stored value changed."""
    value = auto_value["value"]
    same = name in target and target[name] == value
    target[name] = json_copy(value)
    return not same


def _drop_inapplicable(template: Template, plan: Relevance, out: Answers) -> bool:
    """Drop the values and groups that do not apply; return whether anything was dropped."""
    dropped = False
    for name in list(out):
        test = plan.top.get(name)
        if test is not None and not test(out, None):
            del out[name]
            dropped = True
    for group in template.groups.values():
        if group.id not in out:
            continue
        if not plan.groups[group.id](out, None):
            del out[group.id]
            dropped = True
            continue
        tests = plan.rows[group.id]
        for row in rows_of(out, group):
            for name in list(row):
                test = tests.get(name)
                if test is not None and not test(out, row):
                    del row[name]
                    dropped = True
    return dropped


def _number_rows(template: Template, plan: Relevance, out: Answers) -> None:
    for group in template.groups.values():
        rows = rows_of(out, group)
        if group.sequence_field:
            for index, row in enumerate(rows):
                row[group.sequence_field] = index + 1
        count = plan.top.get(group.count_field or "")
        if count is not None and count(out, None):
            out[group.count_field or ""] = len(rows)


def _mark_blank_required(template: Template, plan: Relevance, out: Answers) -> None:
    rows = {g.id: rows_of(out, g) for g in template.groups.values()}
    for f in plan.blank_required:  # in template order: a marked answer can change a later relevance
        if f.group is None:
            if is_blank(out.get(f.id)) and plan.top[f.id](out, None):
                out[f.id] = dict(NOT_RECORDED)
            continue
        for row in rows.get(f.group, []):
            if is_blank(row.get(f.id)) and plan.rows[f.group][f.id](out, row):
                row[f.id] = dict(NOT_RECORDED)
