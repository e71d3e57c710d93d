"""Validation messages: what is wrong, where, how serious, and which rule says so.

Messages are worded in the language asked for (`lang`, default English): the template's
own words come from its `*_i18n` tables, falling back to English (see forms.phrases).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from forms.conditions import template_cached
from forms.model import BLOCKING_SEVERITIES, Group, Rule, Template
from forms.phrases import ENGLISH


@dataclass(frozen=True)
class Message:
    """One problem found in a record.

    `field` is a field path: "call_source" for an encounter field, "persons[0].age_years"
    for a person-row field (0-based); `row` is that 0-based row index. The human `message`
    counts rows from 1 ("Person 1: ...").
    """

    field: str | None
    severity: str
    message: str
    rule: str
    row: int | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the message as a JSON object."""
        return {"field": self.field, "severity": self.severity, "message": self.message, "rule": self.rule,
                "row": self.row}  # fmt: skip


def blocking(messages: Iterable[Message]) -> bool:
    """Return whether any message blocks finalizing (FATAL or ERROR)."""
    return any(m.severity in BLOCKING_SEVERITIES for m in messages)


@dataclass(frozen=True)
class Place:
    """Where a check runs: the encounter, or one row of a repeat group."""

    group: Group | None = None
    index: int | None = None

    def path(self, name: str) -> str:
        """Return the field path of a name at this place."""
        return name if self.group is None or self.index is None else f"{self.group.id}[{self.index}].{name}"

    def text(self, text: str, lang: str = ENGLISH) -> str:
        """Prefix a message with the row's name ("Person 1: ...") when at a row."""
        if self.group is None or self.index is None:
            return text
        return f"{row_name(self.group, self.index, lang)}: {text}"


def about(
    template: Template,
    place: Place,
    name: str | None,
    text: str,
    severity: str,
    rule: str,
    lang: str = ENGLISH,
) -> Message:
    """Return a message about a field at a place; the text follows the field's label."""
    if name is None:
        return Message(None, severity, place.text(text, lang), rule, place.index)
    worded = place.text(f"{label(template, name, lang)}: {text}", lang)
    return Message(place.path(name), severity, worded, rule, place.index)


def said(place: Place, name: str | None, text: str, severity: str, rule: str, lang: str = ENGLISH) -> Message:
    """Return a message whose text is complete (a rule's own wording), located at a field."""
    return Message(place.path(name) if name else None, severity, place.text(text, lang), rule, place.index)


def in_language(text: str, translations: Mapping[str, str], lang: str) -> str:
    """Return the template's text in the language asked for, falling back to English."""
    return translations.get(lang) or text


def label(template: Template, name: str, lang: str = ENGLISH) -> str:
    """Return a field's label in the language (its id for names that are not fields)."""
    found = template.fields.get(name)
    return in_language(template.label(name), found.label_i18n, lang) if found is not None else name


def group_label(group: Group, lang: str = ENGLISH) -> str:
    """Return a repeat group's label in the language."""
    return in_language(group.label, group.label_i18n, lang)


def row_name(group: Group, index: int, lang: str = ENGLISH) -> str:
    """Return the name of a row for messages, e.g. "Person 1" or "Persona 1" (index is 0-based)."""
    if group.row_label:
        return f"{in_language(group.row_label, group.row_label_i18n, lang)} {index + 1}"
    return f"{group_label(group, lang)} {index + 1}"


def rule_message(rule: Rule, lang: str = ENGLISH) -> str:
    """Return a rule's own message in the language."""
    return in_language(rule.message, rule.message_i18n, lang)


def code_label(template: Template, name: str, code: str, lang: str = ENGLISH) -> str:
    """Return the label of a code of a field's list in the language (the code itself when unknown)."""
    f = template.fields.get(name)
    codes = template.code_lists.get(f.code_list or "") if f is not None else None
    found = next((c for c in codes.codes if c.code == code), None) if codes is not None else None
    return in_language(found.label, found.label_i18n, lang) if found is not None else code


def not_value_label(template: Template, code: str | None, lang: str = ENGLISH) -> str:
    """Return the label of a NOT value or PN code in the language (the code itself when unknown)."""
    known = template.not_values.get(code or "")
    if known is None:
        return str(code)
    return in_language(known.label, _not_value_translations(template).get(known.code, {}), lang)


def _not_value_translations(template: Template) -> dict[str, dict[str, str]]:
    """Return each NOT value's label translations, as the template file gives them (cached)."""

    def read() -> dict[str, dict[str, str]]:
        entries = template.source.get("not_values", [])
        found: dict[str, dict[str, str]] = {}
        for e in entries if isinstance(entries, list) else []:
            if isinstance(e, dict) and isinstance(e.get("label_i18n"), dict):
                found[str(e.get("code"))] = {str(k): str(v) for k, v in e["label_i18n"].items()}
        return found

    return template_cached(template, "not_value_translations", read)
