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
from forms.messages import Message, Place, about, blocking, group_label, not_value_label, said
from forms.model import Answers, Field, Template
from forms.normalize import normalize, relevance, rows_of
from forms.phrases import ENGLISH, phrase, translated
from forms.record_rules import DuplicateLookup
from forms.rules import check_rules
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
    lang: str = ENGLISH,
) -> list[Message]:
    """Return every problem with the answers (none: the record may be saved or finalized).

    The answers are normalized first (normalize() is idempotent, so passing normalized
    answers changes nothing) unless `normalized` says the caller already did, with the
    same `extended` and `finalize`; `now` (timezone-aware; naive means UTC) bounds future times.
    Messages are worded in `lang` where the template and forms.phrases have it, else English.
    """
    rule, severity = _schema_rule(template)
    if not isinstance(answers, Mapping):
        return [Message(None, severity, phrase("The record could not be read: start it again.", lang), rule)]
    messages = list(_shape(template, answers, severity, rule, lang))
    values = answers if normalized else normalize(template, answers, extended=extended, finalize=finalize)
    for place, field, value in _applicable(template, values, extended):
        problem = value_problem(field, value, template)
        if problem is None and finalize:
            problem = _usage_problem(template, field, value, lang)
        elif problem is not None:
            problem = translated(problem, lang)
        if problem is not None:
            messages.append(about(template, place, field.id, problem, severity, rule, lang))
    if finalize:
        messages += check_rules(
            template, values, answers, now=now, duplicate_lookup=duplicate_lookup, lang=lang
        )
    return messages


def _schema_rule(template: Template) -> tuple[str, str]:
    """Return the id and severity of the template's schema rule (built-in field checks)."""
    found = next((r for r in template.rules if r.kind == "schema"), None)
    return (found.id, found.severity) if found is not None else DEFAULT_SCHEMA_RULE


def _shape(
    template: Template, answers: Mapping[str, Any], severity: str, rule: str, lang: str
) -> Iterator[Message]:
    """Report answer keys that are not questions of the template, and unreadable rows."""
    for key, value in answers.items():
        group = template.groups.get(key)
        field = template.fields.get(key)
        if group is not None:
            if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
                text = phrase("{group}: the rows could not be read; enter them again.", lang,
                              group=group_label(group, lang))  # fmt: skip
                yield said(Place(), key, text, severity, rule, lang)
                continue
            for index, row in enumerate(value):
                place = Place(group, index)
                for name in row:
                    if template.fields.get(name) is None or template.fields[name].group != key:
                        yield said(place, name, _unknown(template, name, lang), severity, rule, lang)
        elif field is None or field.group is not None:
            yield said(Place(), key, _unknown(template, key, lang), severity, rule, lang)


def _unknown(template: Template, name: str, lang: str) -> str:
    return phrase("'{name}' is not a question of template {template}: remove it.", lang, name=name,
                  template=f"{template.id} {template.version}")  # fmt: skip


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


def _usage_problem(template: Template, field: Field, value: Any, lang: str) -> str | None:
    """Return what finalizing needs from a field that is not there yet, or None."""
    real, nv, pn = decode(value)
    present = has_real(real)
    if field.must_be_true and real is not True:
        return phrase("confirm this (it must be yes) to finalize.", lang)
    if field.usage == "M" and not present:
        if nv or pn:
            code = not_value_label(template, nv or pn, lang)
            return phrase("a real answer is needed; '{code}' is not allowed here.", lang, code=code)
        return phrase("answer this to finalize.", lang)
    if field.usage == "R" and not present and nv is None and pn is None:
        return phrase("answer this, or choose why it is missing.", lang)
    wrong = nv if nv is not None and nv not in field.not_values else None
    if wrong is None and pn is not None and pn not in field.pertinent_negatives:
        wrong = pn
    if wrong is not None:
        code, what = not_value_label(template, wrong, lang), _alternatives(template, field, lang)
        return phrase("'{code}' is not allowed here: {what}", lang, code=code, what=what)
    if field.min_items is not None and isinstance(real, list) and len(real) < field.min_items:
        return phrase("choose at least {n}.", lang, n=field.min_items)
    return None


def _alternatives(template: Template, field: Field, lang: str) -> str:
    allowed = field.not_values + field.pertinent_negatives
    if not allowed:
        return phrase("enter a value.", lang)
    choices = phrase(" or ", lang).join(f"'{not_value_label(template, c, lang)}'" for c in allowed)
    return phrase("enter a value or choose {choices}.", lang, choices=choices)
