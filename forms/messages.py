"""Validation messages: what is wrong, where, how serious, and which rule says so."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from forms.model import BLOCKING_SEVERITIES, Group, Template


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

    def text(self, text: str) -> str:
        """Prefix a message with the row's name ("Person 1: ...") when at a row."""
        if self.group is None or self.index is None:
            return text
        return f"{self.group.row_name(self.index)}: {text}"


def about(template: Template, place: Place, name: str | None, text: str, severity: str, rule: str) -> Message:
    """Return a message about a field at a place; the text follows the field's label."""
    if name is None:
        return Message(None, severity, place.text(text), rule, place.index)
    return Message(
        place.path(name), severity, place.text(f"{template.label(name)}: {text}"), rule, place.index
    )


def said(place: Place, name: str | None, text: str, severity: str, rule: str) -> Message:
    """Return a message whose text is complete (a rule's own wording), located at a field."""
    return Message(place.path(name) if name else None, severity, place.text(text), rule, place.index)
