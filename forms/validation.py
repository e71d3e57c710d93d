"""Validate an encounter's answers against its template, for a draft or for finalizing.

A draft may be incomplete but never holds a wrong type, code, range, pattern or length.
Finalizing also needs every required answer and every cross-field rule. Fields that are
not relevant or not enabled are never required and never checked.

Finalizing runs on every submit, so each field's check is compiled once per template,
set of extended fields and purpose (`fine_value`): it passes the values that are plainly
fine, and only the others go through the full, worded check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from forms.conditions import Predicate, decode, has_real, template_cached
from forms.messages import Message, Place, about, blocking, group_label, not_value_label, said
from forms.model import Answers, Field, Group, Template
from forms.normalize import normalize, relevance, rows_of
from forms.phrases import ENGLISH, phrase, translated
from forms.record_rules import DuplicateLookup
from forms.rules import check_rules
from forms.values import fitting, value_problem

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
    for place, field, value in _failing(template, values, extended, finalize):
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
    top, row_names = _names(template)
    for key, value in answers.items():
        if key in top:
            continue
        group = template.groups.get(key)
        field = template.fields.get(key)
        if group is not None:
            if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
                text = phrase("{group}: the rows could not be read; enter them again.", lang,
                              group=group_label(group, lang))  # fmt: skip
                yield said(Place(), key, text, severity, rule, lang)
                continue
            names = row_names[key]
            for index, row in enumerate(value):
                for name in row:
                    if name not in names:
                        yield said(
                            Place(group, index), name, _unknown(template, name, lang), severity, rule, lang
                        )
        elif field is None or field.group is not None:
            yield said(Place(), key, _unknown(template, key, lang), severity, rule, lang)


def _names(template: Template) -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """Return the encounter field names (groups aside) and each group's row field names (cached)."""

    def build() -> tuple[frozenset[str], dict[str, frozenset[str]]]:
        fields = template.fields.values()
        top = frozenset(f.id for f in fields if f.group is None) - frozenset(template.groups)
        return top, {g: frozenset(f.id for f in fields if f.group == g) for g in template.groups}

    return template_cached(template, "answer_names", build)


def _unknown(template: Template, name: str, lang: str) -> str:
    return phrase("'{name}' is not a question of template {template}: remove it.", lang, name=name,
                  template=f"{template.id} {template.version}")  # fmt: skip


def _failing(
    template: Template, values: Answers, extended: frozenset[str], finalize: bool
) -> Iterator[tuple[Place, Field, Any]]:
    """Yield (place, field, value) for every enabled, relevant field whose value may not be fine.

    A field's compiled check passes only values the full check (value_problem and, to
    finalize, _usage_problem) finds nothing wrong with; the others get the full check.
    """
    plan = _plan(template, extended, finalize)
    for name, field, holds, fine, blank_ok in plan.top:
        value = values.get(name)
        if (blank_ok if value is None else fine(value)) or (holds is not None and not holds(values, None)):
            continue
        yield ENCOUNTER, field, value
    for group, group_holds, tests in plan.groups:
        if group.id not in values or not group_holds(values, None):
            continue
        for index, row in enumerate(rows_of(values, group)):
            for name, field, holds, fine, blank_ok in tests:
                value = row.get(name)
                if (blank_ok if value is None else fine(value)) or (
                    holds is not None and not holds(values, row)
                ):
                    continue
                yield Place(group, index), field, value


# (name, field, its relevance or None when it always applies, fine_value(), whether blank is fine)
Check = tuple[str, Field, Predicate | None, Callable[[Any], bool], bool]


@dataclass(frozen=True)
class _Plan:
    """The compiled field checks of one template, set of extended fields and purpose."""

    top: tuple[Check, ...]
    groups: tuple[tuple[Group, Predicate, tuple[Check, ...]], ...]


def _plan(template: Template, extended: frozenset[str], finalize: bool) -> _Plan:
    """Return the compiled field checks, built once per template, extended fields and purpose."""
    return template_cached(
        template, ("validation_plan", extended, finalize), lambda: _compile_plan(template, extended, finalize)
    )


def _compile_plan(template: Template, extended: frozenset[str], finalize: bool) -> _Plan:
    plan = relevance(template, extended)

    def checks(tests: Mapping[str, Predicate]) -> tuple[Check, ...]:
        return tuple(
            _check(template, template.fields[name], holds, finalize) for name, holds in tests.items()
        )

    groups = tuple((g, plan.groups[g.id], checks(plan.rows[g.id])) for g in template.groups.values())
    return _Plan(checks(plan.top), groups)


def _check(template: Template, field: Field, holds: Predicate, finalize: bool) -> Check:
    fine = fine_value(template, field, finalize)
    return field.id, field, None if field.relevant is None else holds, fine, fine(None)


def fine_value(template: Template, field: Field, finalize: bool) -> Callable[[Any], bool]:
    """Return a fast test that passes only values with nothing to report (None from the full check)."""
    fits = fitting(field, template)
    needed = finalize and (field.usage in ("M", "R") or field.must_be_true)
    must_be_true, fewest = finalize and field.must_be_true, field.min_items if finalize else None
    alone = {key: _codes_ok(template, field, kind, finalize) for key, kind in (("nv", "not"), ("pn", "pn"))}

    def fine(value: Any) -> bool:
        if type(value) is dict:
            if len(value) != 1:
                return False  # a qualified value takes the full check
            ((key, code),) = value.items()
            return isinstance(code, str) and code in alone.get(key, ())
        if value is None or value == "" or value == []:
            return not needed
        if not fits(value) or (must_be_true and value is not True):
            return False
        return fewest is None or not isinstance(value, list) or len(value) >= fewest

    def fine_plain(value: Any) -> bool:  # the same, for a field with neither must_be_true nor min_items
        if type(value) is dict:
            return fine(value)
        if value is None or value == "" or value == []:
            return not needed
        return fits(value)

    return fine if must_be_true or fewest is not None else fine_plain


def _codes_ok(template: Template, field: Field, kind: str, finalize: bool) -> frozenset[str]:
    """Return the NOT value (kind 'not') or PN codes a field may hold alone without any problem."""
    known = frozenset(c for c, nv in template.not_values.items() if nv.kind == kind)
    if not finalize:
        return known
    if field.usage == "M" or field.must_be_true:
        return frozenset()
    return known & frozenset(field.not_values if kind == "not" else field.pertinent_negatives)


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
