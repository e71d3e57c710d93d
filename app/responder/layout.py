"""Arrange a built encounter form for the page: sections, person rows, and messages per field."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from forms.builder import NV_SUFFIX
from forms.conditions import evaluate
from forms.model import Answers, Field, Group, Section, Template

BLOCKING = ("FATAL", "ERROR")
BOOKKEEPING = ("encounter_uuid", "base_revision", "time_zone", "acknowledged")
_PATH = re.compile(r"^(?P<group>[a-z][a-z0-9_]*)\[(?P<row>\d+)\]\.(?P<field>.+)$")
# The form's first screen is drawn before the rest: form.js draws what is marked "later" a few
# fields a frame once the crew can start (a fifth less time to a usable form, bench/pwa_budget.py).
# The first screen is what a tall tablet shows below the page header, counted in rows of chips
# (about 56 px): a section heading takes one, a field's label and help two, its chips one per four.
FIRST_SCREEN_ROWS = 16
CHIPS_PER_ROW = 4


def html_name(path: str | None) -> str | None:
    """Return the form input name for a message's field path ("persons[0].age" -> "persons-0-age")."""
    if not path:
        return None
    match = _PATH.match(path)
    return f"{match['group']}-{match['row']}-{match['field']}" if match else path


@dataclass
class FieldView:
    """One template field as the macro renders it."""

    spec: Field
    field: Any
    nv: Any | None
    messages: list[dict[str, Any]]
    options: list[tuple[str, str]]
    relevant_now: bool
    later: bool = False

    @property
    def chips(self) -> bool:
        """Return whether the field renders as a group of chips (radio or checkbox)."""
        return self.field.type in ("RadioField", "SelectMultipleField")

    @property
    def anchor(self) -> str:
        """Return the id of the first input, the target of error-summary links."""
        return f"{self.field.id}-0" if self.chips else str(self.field.id)

    @property
    def problems(self) -> list[str]:
        """Return parse errors and blocking messages for this field."""
        return _parse_errors(self) + [m["message"] for m in self.messages if m["severity"] in BLOCKING]

    @property
    def warnings(self) -> list[str]:
        """Return the WARNING messages for this field."""
        return [m["message"] for m in self.messages if m["severity"] == "WARNING"]


@dataclass
class SectionView:
    """A titled block of fields."""

    id: str
    title: str
    fields: list[FieldView]
    kind: str = "section"
    later: bool = False


@dataclass
class RowView:
    """One person row of a repeat group."""

    index: str
    number: int
    marker: Any
    sections: list[SectionView]
    messages: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class GroupView:
    """A repeat group: its rows, its own messages, and a blank row when it has none to copy."""

    group: Group
    label: str
    rows: list[RowView]
    blank_row: RowView | None
    messages: list[dict[str, Any]]
    relevant_now: bool
    row_word: str | None = None
    kind: str = "group"
    later: bool = False


@dataclass
class Page:
    """Everything the encounter template shows, in template order."""

    blocks: list[SectionView | GroupView]
    summary: list[tuple[str, str | None]]
    warnings: list[tuple[str, list[str]]]


class Arranger:
    """Build the page view of one form under one template."""

    def __init__(
        self, template: Template, answers: Answers, messages: Iterable[Mapping[str, Any]], lang: str
    ):
        self.template = template
        self.answers = answers
        self.lang = lang
        self.by_name: dict[str | None, list[dict[str, Any]]] = {}
        for message in messages:
            self.by_name.setdefault(html_name(message.get("field")), []).append(dict(message))

    def page(self, form: Any, *, first_screen_first: bool = False) -> Page:
        """Return the page view: sections and groups in template order, summary, warnings.

        With first_screen_first, what comes after the form's first screen is marked to be drawn
        later (FIRST_SCREEN_ROWS), unless the page shows messages: its summary links to any field.

        A repeat group whose relevance reads encounter fields shown further down (people
        served depend on "Did we make contact?") is placed after the last of those fields,
        so the crew answers the question before the rows it opens.
        """
        placed: list[tuple[float, SectionView | GroupView]] = []
        for position, section in enumerate(self.template.sections):
            if section.group is None:
                view = self.section(section, form, None)
                if view.fields:
                    placed.append((position, view))
        for group in self.template.groups.values():
            if group.id in form:
                placed.append((self._group_position(group), self.group(group, form)))
        blocks = [view for _, view in sorted(placed, key=lambda item: item[0])]
        _offer_codes_once(blocks)
        hidden = [(str(e), None) for name in BOOKKEEPING for e in form[name].errors]
        page = Page(blocks, hidden + self.summary(blocks), self.warnings())
        if first_screen_first and not (page.summary or self.by_name):
            _first_screen_first(blocks)
        return page

    def _group_position(self, group: Group) -> float:
        """Return where a group goes: at its first section, or after the fields its relevance reads."""
        order = {s.id: n for n, s in enumerate(self.template.sections)}
        first = min(order[s.id] for s in self.template.sections if s.group == group.id)
        read = [
            self.template.fields[name]
            for name in fields_read(group.relevant, self.template.filters)
            if name in self.template.fields
        ]
        after = [order[f.section] + 0.5 for f in read if f.group is None and f.section in order]
        return max([first, *after])

    def section(self, section: Section, form: Any, row: Answers | None) -> SectionView:
        """Return the fields of one section present in the (row) form."""
        views = [
            self.field(spec, form, row) for spec in self.template.fields_in(section.id) if spec.id in form
        ]
        return SectionView(section.id, _text(section.title, section.title_i18n, self.lang), views)

    def field(self, spec: Field, form: Any, row: Answers | None) -> FieldView:
        """Return one field's view with its messages and whether it applies now."""
        bound = form[spec.id]
        nv = form._fields.get(spec.id + NV_SUFFIX)
        code_list = self.template.code_lists.get(spec.code_list or "")
        options = (
            [(c.code, _text(c.label, c.label_i18n, self.lang)) for c in code_list.codes]
            if (code_list and code_list.external)
            else []
        )
        relevant = spec.relevant is None or evaluate(spec.relevant, self.answers, self.template, row)
        return FieldView(spec, bound, nv, self.by_name.get(bound.name, []), options, relevant)

    def group(self, group: Group, form: Any) -> GroupView:
        """Return a repeat group's rows; with no row for the page to copy, a blank one to clone."""
        entries = form[group.id]
        stored = self.answers.get(group.id) or []
        rows = [
            self.row(
                group, entry.form, entry.name.rsplit("-", 1)[-1], n + 1, stored[n] if n < len(stored) else {}
            )
            for n, entry in enumerate(entries)
        ]
        row_class = entries.unbound_field.args[0]
        blank = (
            None if rows else self.row(group, row_class(prefix=f"{group.id}-__index__-"), "__index__", 0, {})
        )
        relevant = group.relevant is None or evaluate(group.relevant, self.answers, self.template)
        label = _text(group.label, group.label_i18n, self.lang)
        word = _text(group.row_label, group.row_label_i18n, self.lang) if group.row_label else None
        return GroupView(group, label, rows, blank, self.by_name.get(group.id, []), relevant, word)

    def row(self, group: Group, form: Any, index: str, number: int, stored: Answers) -> RowView:
        """Return one row of a repeat group, section by section."""
        sections = [self.section(s, form, stored) for s in self.template.sections if s.group == group.id]
        return RowView(index, number, form["row_marker"], [s for s in sections if s.fields])

    def summary(self, blocks: list[SectionView | GroupView]) -> list[tuple[str, str | None]]:
        """Return (text, anchor) for every blocking problem, in page order."""
        items: list[tuple[str, str | None]] = []
        shown: set[str] = set()
        for view in _field_views(blocks):
            shown.add(view.field.name)
            items += [(f"{view.field.label.text}: {e}", view.anchor) for e in _parse_errors(view)]
            items += [(m["message"], view.anchor) for m in view.messages if m["severity"] in BLOCKING]
        for block in blocks:
            if isinstance(block, GroupView):
                shown.add(block.group.id)
                items += [
                    (m["message"], f"group-{block.group.id}")
                    for m in block.messages
                    if m["severity"] in BLOCKING
                ]
        for name, messages in self.by_name.items():
            if name not in shown:
                items += [(m["message"], None) for m in messages if m["severity"] in BLOCKING]
        return items

    def warnings(self) -> list[tuple[str, list[str]]]:
        """Return WARNING messages grouped by rule id, for acknowledging."""
        grouped: dict[str, list[str]] = {}
        for messages in self.by_name.values():
            for m in messages:
                if m["severity"] == "WARNING":
                    grouped.setdefault(str(m["rule"]), []).append(str(m["message"]))
        return list(grouped.items())


def fields_read(cond: Any, filters: Mapping[str, Any], seen: frozenset[str] = frozenset()) -> set[str]:
    """Return the field names a condition reads, following named filters."""
    if not isinstance(cond, Mapping):
        return set()
    if "field" in cond:
        return {str(cond["field"])}
    if "use" in cond:
        name = str(cond["use"])
        return set() if name in seen else fields_read(filters.get(name), filters, seen | {name})
    parts = cond.get("all") or cond.get("any") or [cond.get("not")]
    return set().union(*(fields_read(part, filters, seen) for part in parts if part is not None))


def _field_views(blocks: list[SectionView | GroupView]) -> Iterable[FieldView]:
    for block in blocks:
        if isinstance(block, SectionView):
            yield from block.fields
        else:
            for row in block.rows + ([block.blank_row] if block.blank_row else []):
                for section in row.sections:
                    yield from section.fields


def _offer_codes_once(blocks: list[SectionView | GroupView]) -> None:
    """Keep a field's list of offered codes on its first row only: one <datalist> per field id."""
    offered: set[str] = set()
    for view in _field_views(blocks):
        if view.spec.id in offered:
            view.options = []
        elif view.options:
            offered.add(view.spec.id)


def _first_screen_first(blocks: list[SectionView | GroupView]) -> None:
    """Mark the sections, groups and fields after the form's first screen to be drawn later."""
    rows = 0
    for block in blocks:
        block.later = rows >= FIRST_SCREEN_ROWS
        rows += 1
        if isinstance(block, GroupView):  # shown, its rows fill the screen; hidden, it takes none
            rows = FIRST_SCREEN_ROWS if block.relevant_now else rows - 1
            continue
        for view in block.fields:
            view.later = rows >= FIRST_SCREEN_ROWS
            if view.relevant_now:
                rows += 2 + (math.ceil(len(view.field.choices) / CHIPS_PER_ROW) if view.chips else 0)


def _parse_errors(view: FieldView) -> list[str]:
    return [str(e) for e in view.field.errors] + [str(e) for e in (view.nv.errors if view.nv else [])]


def _text(text: str, translations: Mapping[str, str], lang: str) -> str:
    return translations.get(lang) or text
