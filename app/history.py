"""A person's local history at finalize: how many earlier encounters the program had with them.

The count goes in the person row's derived integer field (`prior_contacts_90d` in the
standard template), found the way app.finalize finds the repeat-client flag: a derived
field of the group whose person id is generalized for purpose "person". The look-back
comes from the template parameter `prior_contacts_lookback_days`; a template without it,
or without such a field, gets no count. Only fields the program collects are filled, and the
answers are normalized again afterwards (only then, so programs without the field pay nothing).

Counted: other encounters of the same person (same local lookup key) that were finalized
(any status but draft or voided), called in before this one, on a local date at most
`lookback` days before this encounter's date.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

import sqlite_utils

from app.finalize import RecordContext, person_keys, real_value, repeat_fields, utc_instant
from forms.conditions import template_cached
from forms.model import Answers, Template
from forms.normalize import enabled, normalize

log = logging.getLogger(__name__)

LOOKBACK_PARAMETER = "prior_contacts_lookback_days"
NOT_COUNTED = ("draft", "voided")


def count_field(template: Template) -> str | None:
    """Return the person rows' derived count field, or None when the template has none (or several)."""
    return template_cached(template, "prior_contacts_field", lambda: _find_count_field(template))


def _find_count_field(template: Template) -> str | None:
    person_field, _ = repeat_fields(template)
    group = template.fields[person_field].group if person_field else None
    found = [
        f.id
        for f in template.fields.values()
        if group and f.group == group and f.type == "integer" and f.input == "derived"
    ]
    if len(found) > 1:
        log.warning("template %s %s: several derived counts per person (%s); none filled",
                    template.id, template.version, ", ".join(found))  # fmt: skip
    return found[0] if len(found) == 1 else None


def mark_prior_contacts(
    db: sqlite_utils.Database, template: Template, answers: Answers, encounter_id: str, ctx: RecordContext
) -> Answers:
    """Return the answers with each person row's count of earlier encounters in the look-back."""
    name, days = count_field(template), template.parameters.get(LOOKBACK_PARAMETER)
    if name is None or not isinstance(days, int) or not enabled(template.fields[name], ctx.extended):
        return answers
    group = template.fields[name].group or ""
    rows = answers.get(group)
    if not isinstance(rows, list):
        return answers  # validation reports the malformed group
    anchor, day = _when(answers, ctx)
    since = (day - timedelta(days=days)).isoformat()
    marked: list[Any] = []
    for row, key in zip(rows, person_keys(template, answers, ctx.keys), strict=True):
        if isinstance(row, dict) and key:  # without a person id the history is unknown: left blank
            row = {**row, name: _earlier(db, key, encounter_id, since, anchor)}
        marked.append(row)
    # normalized again: the count is dropped where it does not apply, and may change what applies
    return normalize(template, {**answers, group: marked}, extended=ctx.extended, finalize=True)


def _when(answers: Answers, ctx: RecordContext) -> tuple[str, date]:
    """Return this encounter's UTC instant and local date (unit notified; now when missing)."""
    notified = utc_instant(answers.get("unit_notified_at"))
    local = real_value(answers.get("unit_notified_at"))
    if notified is None or not isinstance(local, str):
        now = ctx.now()
        return utc_instant(now.isoformat(timespec="seconds")) or "", now.date()
    return notified, date.fromisoformat(local[:10])


def _earlier(db: sqlite_utils.Database, key: str, encounter_id: str, since: str, before: str) -> int:
    row = db.execute(
        "SELECT count(DISTINCT e.id) FROM person_index p JOIN encounters e ON e.id = p.encounter_id"
        f" WHERE p.person_key = ? AND e.id != ? AND e.status NOT IN ({', '.join('?' * len(NOT_COUNTED))})"
        " AND e.encounter_date >= ? AND e.unit_notified_at < ?",
        [key, encounter_id, *NOT_COUNTED, since, before],
    ).fetchone()
    return int(row[0])
