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

from forms.auto_values import fill_only_choices, only_choices
from forms.conditions import Predicate, template_cached, template_predicate
from forms.model import Answers, Field, Group, Template
from forms.values import is_blank

MAX_PASSES = 8  # relevance can cascade (A hides B, B hides C); each pass settles one level
NOT_RECORDED = {"nv": "not_recorded"}
PLAIN = frozenset({str, int, float, bool, type(None)})  # values json_copy shares as they are


def _always(values: Mapping[str, Any], row: Mapping[str, Any] | None) -> bool:
    return True  # the field has no relevance condition


@dataclass(frozen=True)
class Relevance:
    """When each field applies, for one set of switched-on extended fields, compiled once.

    `top` maps every enabled encounter-level field, and `rows[group]` every enabled field of
    that group's rows, to a predicate (values, row) -> bool, true for a field without a
    relevance condition; both keep the template's field order. `off[None]` and
    `off[group]` hold the fields switched off (never applicable: dropped wherever they
    appear). `groups` holds each group's relevance, `auto` the enabled fields with an
    automatic value and its condition, `blank_required` the enabled R fields that take
    "not recorded" when left blank.
    """

    top: dict[str, Predicate]
    rows: dict[str, dict[str, Predicate]]
    groups: dict[str, Predicate]
    auto: tuple[tuple[Field, Predicate], ...]
    blank_required: tuple[Field, ...]
    off: dict[str | None, frozenset[str]]


def relevance(template: Template, extended: frozenset[str]) -> Relevance:
    """Return the compiled relevance of the template's fields, cached on the template."""
    return template_cached(template, ("relevance", extended), lambda: _compile_relevance(template, extended))


def _compile_relevance(template: Template, extended: frozenset[str]) -> Relevance:
    rows: dict[str, dict[str, Predicate]] = {g: {} for g in template.groups}
    top: dict[str, Predicate] = {}
    off: dict[str | None, set[str]] = {None: set(), **{g: set() for g in template.groups}}
    for f in template.fields.values():
        if not enabled(f, extended):
            off.setdefault(f.group, set()).add(f.id)
            continue
        test = _always if f.relevant is None else template_predicate(template, f.relevant)
        (top if f.group is None else rows.setdefault(f.group, {}))[f.id] = test
    groups = {
        g.id: _always if g.relevant is None else template_predicate(template, g.relevant)
        for g in template.groups.values()
    }
    auto = tuple(
        (f, template_predicate(template, f.auto_value["when"]))
        for f in template.fields.values()
        if f.auto_value is not None and enabled(f, extended)
    )
    blank = tuple(
        f
        for f in template.fields.values()
        if f.usage == "R" and "not_recorded" in f.not_values and enabled(f, extended)
    )
    return Relevance(top, rows, groups, auto, blank, {k: frozenset(v) for k, v in off.items()})


def settled_after_setting(template: Template, extended: frozenset[str], name: str) -> bool:
    """Return whether normalizing again after giving field `name` a value would change nothing.

    True when the field is on, always applies, has no automatic value, no relevance or
    automatic-value condition reads it, and no only-choice rule fills it or reads it: then,
    normalize being idempotent, normalize(normalized answers with it set) only copies them.
    """
    field = template.fields.get(name)
    if field is None or not enabled(field, extended) or field.relevant is not None:
        return False
    if field.auto_value is not None:
        return False
    if any(name in (choice.target, choice.source) for choice in only_choices(template)):
        return False
    return name not in condition_reads(template)


def condition_reads(template: Template) -> frozenset[str]:
    """Return every name the template's relevance and automatic-value conditions read (cached)."""
    return template_cached(template, "condition_reads", lambda: _condition_reads(template))


def _condition_reads(template: Template) -> frozenset[str]:
    names: set[str] = set()
    conditions = [f.relevant for f in template.fields.values()]
    conditions += [g.relevant for g in template.groups.values()]
    conditions += [f.auto_value.get("when") for f in template.fields.values() if f.auto_value]
    for cond in conditions:
        _collect_reads(template, cond, names, set())
    return frozenset(names)


def _collect_reads(template: Template, cond: Any, names: set[str], used: set[str]) -> None:
    if isinstance(cond, list):
        for item in cond:
            _collect_reads(template, item, names, used)
    if not isinstance(cond, Mapping):
        return
    if "field" in cond:
        names.add(str(cond["field"]))
    for key in ("all", "any", "not"):
        _collect_reads(template, cond.get(key), names, used)
    use = cond.get("use")
    if isinstance(use, str) and use not in used:
        used.add(use)
        _collect_reads(template, template.filters.get(use), names, used)


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
        fill_only_choices(template, plan, out)
        _mark_blank_required(template, plan, out)
    return out


def json_copy(value: Any) -> Any:
    """Return a deep copy of JSON data (lists and dicts copied, other values shared)."""
    if type(value) in PLAIN:
        return value
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
    off = plan.off[None]
    for name in list(out):
        test = plan.top.get(name)
        if (test is not None and not test(out, None)) or name in off:
            del out[name]
            dropped = True
    for group in template.groups.values():
        if group.id not in out:
            continue
        if not plan.groups[group.id](out, None):
            del out[group.id]
            dropped = True
            continue
        tests, off = plan.rows[group.id], plan.off[group.id]
        for row in rows_of(out, group):
            for name in list(row):
                test = tests.get(name)
                if (test is not None and not test(out, row)) or name in off:
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
