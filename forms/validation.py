"""Validate an encounter's answers against its template, for a draft or for finalizing.

A draft may be incomplete but never holds a wrong type, code, range, pattern or length.
Finalizing also needs every required answer and every cross-field rule. Fields that are
not relevant or not enabled are never required and never checked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from forms.conditions import decode, has_real
from forms.messages import Message, Place, about, blocking, said
from forms.model import Answers, Field, Template
from forms.normalize import normalize, relevance, rows_of
from forms.rules import DuplicateLookup, check_rules
from forms.values import value_problem

__all__ = ["Message", "blocking", "normalize", "validate"]

DEFAULT_SCHEMA_RULE = ("schema", "FATAL")
ENCOUNTER = Place()


def validate(
    template: Template,
    answers: Answers,
    *,
    finalize: bool,
    now: datetime,
    extended: frozenset[str] = frozenset(),
    duplicate_lookup: DuplicateLookup | None = None,
    normalized: bool = False,
) -> list[Message]:
    """Return every problem with the answers (none: the record may be saved or finalized).

    The answers are normalized first (normalize() is idempotent, so passing normalized
    answers changes nothing) unless `normalized` says the caller already did, with the
    same `extended` and `finalize`; `now` (timezone-aware; naive means UTC) bounds future times.
    """
    rule, severity = _schema_rule(template)
    if not isinstance(answers, Mapping):
        return [Message(None, severity, "The record could not be read: start it again.", rule)]
    messages = list(_shape(template, answers, severity, rule))
    values = answers if normalized else normalize(template, answers, extended=extended, finalize=finalize)
    for place, field, value in _applicable(template, values, extended):
        problem = value_problem(field, value, template)
        if problem is None and finalize:
            problem = _usage_problem(template, field, value)
        if problem is not None:
            messages.append(about(template, place, field.id, problem, severity, rule))
    if finalize:
        messages += check_rules(template, values, answers, now=now, duplicate_lookup=duplicate_lookup)
    return messages


def _schema_rule(template: Template) -> tuple[str, str]:
    """Return the id and severity of the template's schema rule (built-in field checks)."""
    found = next((r for r in template.rules if r.kind == "schema"), None)
    return (found.id, found.severity) if found is not None else DEFAULT_SCHEMA_RULE


def _shape(template: Template, answers: Mapping[str, Any], severity: str, rule: str) -> Iterator[Message]:
    """Report answer keys that are not questions of the template, and unreadable rows."""
    for key, value in answers.items():
        group = template.groups.get(key)
        field = template.fields.get(key)
        if group is not None:
            if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
                yield said(
                    Place(),
                    key,
                    f"{group.label}: the rows could not be read; enter them again.",
                    severity,
                    rule,
                )
                continue
            for index, row in enumerate(value):
                place = Place(group, index)
                for name in row:
                    if template.fields.get(name) is None or template.fields[name].group != key:
                        yield said(place, name, _unknown(template, name), severity, rule)
        elif field is None or field.group is not None:
            yield said(Place(), key, _unknown(template, key), severity, rule)


def _unknown(template: Template, name: str) -> str:
    return f"'{name}' is not a question of template {template.id} {template.version}: remove it."


def _applicable(
    template: Template, values: Answers, extended: frozenset[str]
) -> Iterator[tuple[Place, Field, Any]]:
    """Yield (place, field, value) for every enabled, relevant field, rows included."""
    plan = relevance(template, extended)
    fields = template.fields
    for name, holds in plan.top.items():
        if holds(values, None):
            yield ENCOUNTER, fields[name], values.get(name)
    for group in template.groups.values():
        if group.id not in values or not plan.groups[group.id](values, None):
            continue
        tests = plan.rows[group.id]
        for index, row in enumerate(rows_of(values, group)):
            place = Place(group, index)
            for name, holds in tests.items():
                if holds(values, row):
                    yield place, fields[name], row.get(name)


def _usage_problem(template: Template, field: Field, value: Any) -> str | None:
    """Return what finalizing needs from a field that is not there yet, or None."""
    real, nv, pn = decode(value)
    present = has_real(real)
    if field.must_be_true and real is not True:
        return "confirm this (it must be yes) to finalize."
    if field.usage == "M" and not present:
        if nv or pn:
            return f"a real answer is needed; '{_label(template, nv or pn)}' is not allowed here."
        return "answer this to finalize."
    if field.usage == "R" and not present and nv is None and pn is None:
        return "answer this, or choose why it is missing."
    if nv is not None and nv not in field.not_values:
        return f"'{_label(template, nv)}' is not allowed here: {_alternatives(template, field)}"
    if pn is not None and pn not in field.pertinent_negatives:
        return f"'{_label(template, pn)}' is not allowed here: {_alternatives(template, field)}"
    if field.min_items is not None and isinstance(real, list) and len(real) < field.min_items:
        return f"choose at least {field.min_items}."
    return None


def _label(template: Template, code: str | None) -> str:
    known = template.not_values.get(code or "")
    return known.label if known is not None else str(code)


def _alternatives(template: Template, field: Field) -> str:
    allowed = field.not_values + field.pertinent_negatives
    if not allowed:
        return "enter a value."
    return "enter a value or choose " + " or ".join(f"'{_label(template, c)}'" for c in allowed) + "."
