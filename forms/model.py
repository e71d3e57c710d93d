"""The in-memory template: immutable dataclasses built by the loader.

Conditions stay plain JSON-like dicts (see docs/template-format.md), so the very same
structure is evaluated in Python and in the browser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

Condition = dict[str, Any]
Answers = dict[str, Any]

FIELD_TYPES = ("text", "integer", "number", "boolean", "date", "datetime", "enum", "multi_enum", "geo")
USAGE_LEVELS = ("M", "R", "Rec", "O")
PRIVACY_CLASSES = ("pii", "sensitive", "metric")
TO_STATE_RULES = ("send", "generalize", "derive", "never")
SEVERITIES = ("FATAL", "ERROR", "WARNING")
BLOCKING_SEVERITIES = ("FATAL", "ERROR")


@dataclass(frozen=True)
class Code:
    """One entry of a code list."""

    code: str
    label: str
    nemsis: str | None = None
    label_i18n: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CodeList:
    """A named list of allowed codes."""

    id: str
    codes: tuple[Code, ...]
    external: bool = False
    pattern: str | None = None
    output_only: bool = False

    def has(self, value: str) -> bool:
        """Return whether value is one of the list's codes."""
        return value in self.code_set

    @cached_property
    def code_set(self) -> frozenset[str]:
        """Return the list's codes as a set."""
        return frozenset(c.code for c in self.codes)


@dataclass(frozen=True)
class NotValue:
    """A NOT value (kind 'not') or pertinent negative (kind 'pn')."""

    code: str
    label: str
    kind: str
    nemsis: str | None = None


@dataclass(frozen=True)
class Section:
    """A form section; `group` names the repeat group its fields belong to."""

    id: str
    title: str
    group: str | None = None
    title_i18n: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Group:
    """A repeat group such as the people served."""

    id: str
    label: str
    relevant: Condition | None = None
    min_rows: int = 1
    max_rows: int = 50
    sequence_field: str | None = None
    count_field: str | None = None
    label_i18n: dict[str, str] = field(default_factory=dict)
    row_label: str | None = None
    row_label_i18n: dict[str, str] = field(default_factory=dict)

    def row_name(self, index: int) -> str:
        """Return the English name of a row for messages, e.g. "Person 1" (index is 0-based)."""
        return f"{self.row_label or self.label} {index + 1}"


@dataclass(frozen=True)
class Generalize:
    """How a `generalize` field is turned into its payload output."""

    method: str
    output: str
    purpose: str | None = None


@dataclass(frozen=True)
class Field:
    """One template field."""

    id: str
    section: str
    label: str
    type: str
    usage: str
    tier: str
    input: str
    privacy: str
    to_state: str
    group: str | None = None
    help: str | None = None
    code_list: str | None = None
    now_button: bool = False
    generalize: Generalize | None = None
    relevant: Condition | None = None
    not_values: tuple[str, ...] = ()
    pertinent_negatives: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    max_length: int | None = None
    pattern: str | None = None
    min_items: int | None = None
    must_be_true: bool = False
    default: Any = None
    auto_value: dict[str, Any] | None = None
    nemsis: str | None = None
    label_i18n: dict[str, str] = field(default_factory=dict)
    help_i18n: dict[str, str] = field(default_factory=dict)

    @property
    def core(self) -> bool:
        """Return whether the field is in the core tier."""
        return self.tier == "core"


@dataclass(frozen=True)
class Derived:
    """A value computed from captured fields for the payload."""

    id: str
    level: str
    kind: str
    start: tuple[str, ...]
    end: tuple[str, ...] = ()
    when: Condition | None = None


@dataclass(frozen=True)
class Rule:
    """A cross-field rule with severity."""

    id: str
    severity: str
    kind: str
    message: str
    level: str = "encounter"
    spec: dict[str, Any] = field(default_factory=dict)
    message_i18n: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Metric:
    """A metric definition."""

    id: str
    kind: str
    unit: str
    label: str = ""
    spec: dict[str, Any] = field(default_factory=dict)
    breakdowns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Template:
    """A loaded, validated template. Never mutated after loading."""

    id: str
    version: str
    title: str
    effective_date: str
    parameters: dict[str, Any]
    not_values: dict[str, NotValue]
    sections: tuple[Section, ...]
    groups: dict[str, Group]
    fields: dict[str, Field]
    code_lists: dict[str, CodeList]
    filters: dict[str, Condition]
    derived: tuple[Derived, ...]
    rules: tuple[Rule, ...]
    breakdowns: dict[str, tuple[str, ...]]
    metrics: tuple[Metric, ...]
    source: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def fields_in(self, section_id: str) -> list[Field]:
        """Return the fields of a section in display order."""
        return [f for f in self.fields.values() if f.section == section_id]

    def enabled_fields(self, extended: frozenset[str] | set[str] = frozenset()) -> list[Field]:
        """Return core fields plus the extended fields switched on."""
        return [f for f in self.fields.values() if f.core or f.id in extended]

    def to_json(self) -> dict[str, Any]:
        """Return the template as the JSON document served to browsers and programs."""
        return self.source

    def group_fields(self, group_id: str) -> list[Field]:
        """Return the fields of a repeat group's rows in display order."""
        return [f for f in self.fields.values() if f.group == group_id]

    def label(self, name: str) -> str:
        """Return the English label of a field (its id for names that are not fields)."""
        found = self.fields.get(name)
        return found.label if found is not None and found.label else name

    @cached_property
    def memo(self) -> dict[Any, Any]:
        """Return a per-template cache (compiled conditions); entries keep their keys' objects alive."""
        return {}

    @cached_property
    def row_groups(self) -> dict[str, str]:
        """Return the repeat group of every row-level name: fields, their outputs, derived values."""
        groups: dict[str, str] = {}
        for f in self.fields.values():
            if f.group is not None:
                groups[f.id] = f.group
                if f.generalize is not None:
                    groups[f.generalize.output] = f.group
        for d in self.derived:
            if d.level in self.groups:
                groups[d.id] = d.level
        return groups
