"""How a record reads on the review page: every answer in template order, and revision diffs.

Values are shown with the template's labels (codes, NOT values, pertinent negatives).
Identifying answers (privacy class pii) are replaced by a placeholder unless the viewer
asked for them and their role allows it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

import sqlite_utils
from babel.dates import format_datetime
from flask_babel import gettext as _

from app.crypto import Keys, open_answers
from app.encounter_store import changed_fields
from forms.model import Answers, Field, Template

PATH = re.compile(r"(?P<group>[a-z][a-z0-9_]*)\[(?P<index>[0-9]+)\]\.(?P<field>[a-z][a-z0-9_]*)")


@dataclass(frozen=True)
class Answer:
    """One answer as shown: label, text, and whether it is an identifying value kept hidden."""

    field: str
    label: str
    text: str
    hidden: bool = False


@dataclass
class Block:
    """A titled list of answers: an encounter section, or one person's section."""

    title: str
    answers: list[Answer] = field(default_factory=list)


@dataclass(frozen=True)
class Reader:
    """Formats stored values of one template for one viewer."""

    template: Template
    zone: tzinfo
    lang: str
    show_pii: bool

    def label(self, spec: Field) -> str:
        """Return the field's label in the page language."""
        return spec.label_i18n.get(self.lang, spec.label)

    def answer(self, spec: Field, value: Any) -> Answer:
        """Return one stored answer as shown to this viewer."""
        if spec.privacy == "pii" and not self.show_pii:
            return Answer(spec.id, self.label(spec), _("hidden (identifying)"), hidden=True)
        return Answer(spec.id, self.label(spec), self.text(spec, value))

    def text(self, spec: Field, value: Any) -> str:
        """Return a stored value as words: code labels, NOT values and PNs by their labels."""
        if value is None or value == "" or value == []:
            return "—"
        if isinstance(value, dict):
            code = value.get("nv") or value.get("pn")
            named = self.not_value(str(code)) if code else ""
            return f"{self.text(spec, value['value'])} ({named})" if "value" in value else named
        if isinstance(value, list):
            return ", ".join(self.text(spec, v) for v in value)
        if isinstance(value, bool):
            return str(_("Yes") if value else _("No"))
        if spec.type == "datetime" and isinstance(value, str):
            return self.when(value)
        return self.code(spec, value)

    def code(self, spec: Field, value: Any) -> str:
        """Return a code's label from the field's code list (the value itself otherwise)."""
        codes = self.template.code_lists.get(spec.code_list or "")
        for c in codes.codes if codes else ():
            if c.code == value:
                return c.label_i18n.get(self.lang, c.label)
        return str(value)

    def not_value(self, code: str) -> str:
        """Return the label of a NOT value or pertinent negative."""
        found = self.template.not_values.get(code)
        return found.label if found else code

    def when(self, iso: str | None) -> str:
        """Return an ISO datetime in the agency's zone, short form."""
        return local_time(iso, self.zone, self.lang)


def local_time(iso: str | None, zone: tzinfo, lang: str) -> str:
    """Return an ISO datetime (UTC when it has no offset) as a short local date and time."""
    if not iso:
        return "—"
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return format_datetime(moment, "short", tzinfo=zone, locale=lang)


def answer_blocks(reader: Reader, answers: Answers) -> list[Block]:
    """Return every answer in template order; a repeat group's sections repeat per person."""
    template, blocks, done = reader.template, [], set()
    for section in template.sections:
        title = section.title_i18n.get(reader.lang, section.title)
        if section.group is None:
            fields = [f for f in template.fields_in(section.id) if f.id in answers]
            shown = [reader.answer(f, answers[f.id]) for f in fields]
            blocks += [Block(title, shown)] if shown else []
        elif section.group not in done:
            done.add(section.group)
            blocks += _group_blocks(reader, section.group, answers.get(section.group))
    return blocks


def _group_blocks(reader: Reader, group_id: str, rows: Any) -> list[Block]:
    template, blocks = reader.template, []
    group = template.groups[group_id]
    for index, row in enumerate(rows if isinstance(rows, list) else []):
        shown = [
            reader.answer(f, row[f.id])
            for f in template.group_fields(group_id)
            if isinstance(row, dict) and f.id in row
        ]
        word = group.row_label_i18n.get(reader.lang) or group.row_label or group.label
        blocks.append(Block(f"{word} {index + 1}", shown))
    return blocks


def revision_history(
    db: sqlite_utils.Database, reader: Reader, keys: Keys, encounter_id: str
) -> list[dict[str, Any]]:
    """Return every saved revision, oldest first, with what changed since the one before."""
    cursor = db.execute(
        "SELECT r.revision, r.saved_at, r.status, r.reason, r.answers,"
        " coalesce(nullif(u.display_name, ''), u.username) FROM encounter_revisions r"
        " LEFT JOIN users u ON u.id = r.saved_by WHERE r.encounter_id = ? ORDER BY r.revision",
        [encounter_id],
    )
    history: list[dict[str, Any]] = []
    before: Answers = {}
    for revision, saved_at, status, reason, stored, author in cursor:
        after = open_answers(json.loads(stored), keys, encounter_id)
        history.append(
            {
                "revision": revision,
                "saved_at": reader.when(saved_at),
                "status": status,
                "reason": reason,
                "author": author,
                "changes": diff(reader, before, after),
            }
        )
        before = after
    return history


def diff(reader: Reader, before: Answers, after: Answers) -> list[dict[str, Any]]:
    """Return the changed answers as (where, before, after) in words, hidden for identifying fields."""
    changes = []
    for path in changed_fields(before, after):
        where, spec, old, new = _locate(reader.template, path, before, after)
        if spec is None:
            changes.append({"field": path, "label": where, "before": str(old), "after": str(new)})
            continue
        shown = [reader.answer(spec, v).text if v is not None else "—" for v in (old, new)]
        changes.append({"field": path, "label": where, "before": shown[0], "after": shown[1]})
    return changes


def _locate(
    template: Template, path: str, before: Answers, after: Answers
) -> tuple[str, Field | None, Any, Any]:
    """Return a path's readable place, its field and its values before and after."""
    found = PATH.fullmatch(path)
    if found is None:
        spec = template.fields.get(path)
        return (spec.label if spec else path), spec, before.get(path), after.get(path)
    group, index, name = found["group"], int(found["index"]), found["field"]
    spec = template.fields.get(name)
    row_name = template.groups[group].row_name(index) if group in template.groups else f"{group} {index + 1}"
    label = f"{row_name} · {spec.label if spec else name}"
    return label, spec, _row_value(before, group, index, name), _row_value(after, group, index, name)


def _row_value(answers: Answers, group: str, index: int, name: str) -> Any:
    rows = answers.get(group)
    if isinstance(rows, list) and index < len(rows) and isinstance(rows[index], dict):
        return rows[index].get(name)
    return None
