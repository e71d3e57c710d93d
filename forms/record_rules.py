"""The rules checked once per record rather than per row: exclusive codes, repeat-group rows, duplicates.

Also the types every rule check shares (forms.rules runs them all).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, NamedTuple

from forms.conditions import decode, has_real, parse_instant
from forms.messages import Message, Place, code_label, group_label, label, rule_message, said
from forms.model import Answers, Rule, Template
from forms.normalize import group_applies, rows_of
from forms.phrases import phrase

Record = Mapping[str, Any]
DuplicateLookup = Callable[[Answers], bool]


class Extra(NamedTuple):
    """What some rules need besides the answers: the raw answers, now, a duplicate lookup, a language.

    `instants` caches the dates and times parsed from this record's answers (see `instant`).
    """

    raw: Mapping[str, Any]
    now: datetime
    duplicate_lookup: DuplicateLookup | None
    lang: str
    instants: dict[str, date | datetime | None]

    def instant(self, stored: Any) -> date | datetime | None:
        """Return the date or time a stored answer holds, or None; each text is parsed once per record."""
        if type(stored) is not str:
            if stored is None:
                return None
            stored = real(stored)
            if not isinstance(stored, str):
                return None
        try:
            return self.instants[stored]
        except KeyError:
            parsed = self.instants[stored] = parse_instant(stored) if stored else None
            return parsed


def real(stored: Any) -> Any:
    """Return the real value of a stored answer, or None when it has none."""
    found = decode(stored)[0]
    return found if has_real(found) else None


def exclusive(
    template: Template, rule: Rule, values: Answers, row: Record | None, place: Place, extra: Extra
) -> list[Message]:
    messages, lang = [], extra.lang
    for item in rule.spec["items"]:
        f = template.fields.get(item["field"])
        group = template.groups.get(f.group or "") if f is not None else None
        places = (
            [(Place(), values)]
            if group is None
            else [(Place(group, i), r) for i, r in enumerate(rows_of(values, group))]
        )
        for at, record in places:
            chosen = real(record.get(item["field"]))
            if isinstance(chosen, list) and item["code"] in chosen and len(chosen) > 1:
                text = phrase(
                    "{label}: {message}: remove '{code}' or the other choices.",
                    lang,
                    label=label(template, item["field"], lang),
                    message=rule_message(rule, lang),
                    code=code_label(template, item["field"], item["code"], lang),
                )
                messages.append(said(at, item["field"], text, rule.severity, rule.id, lang))
    return messages


def rows(
    template: Template, rule: Rule, values: Answers, row: Record | None, place: Place, extra: Extra
) -> list[Message]:
    group, lang = template.groups[rule.spec["group"]], extra.lang
    raw_rows = extra.raw.get(group.id)
    count = len(raw_rows) if isinstance(raw_rows, list) else 0
    words = {"group": group_label(group, lang), "message": rule_message(rule, lang)}
    if not group_applies(template, group, values):
        if count == 0:
            return []
        text = phrase(
            "{group}: {message}. This record should have none: remove the {count} row(s) or correct"
            " the answers above.",
            lang,
            count=count,
            **words,
        )
    elif count < group.min_rows:
        text = phrase("{group}: {message}. Add at least {n}.", lang, n=group.min_rows, **words)
    elif count > group.max_rows:
        text = phrase("{group}: {message}. Keep at most {n}.", lang, n=group.max_rows, **words)
    else:
        return []
    return [said(Place(), group.id, text, rule.severity, rule.id, lang)]


def unique(
    template: Template, rule: Rule, values: Answers, row: Record | None, place: Place, extra: Extra
) -> list[Message]:
    lookup_duplicate, lang = extra.duplicate_lookup, extra.lang
    if lookup_duplicate is None or not lookup_duplicate(values):
        return []
    sources = {f.generalize.output: f.id for f in template.fields.values() if f.generalize}
    names = [sources.get(n, n) for n in rule.spec["fields"]]
    name = next((n for n in names if n in template.fields and template.fields[n].group is None), None)
    same = ", ".join(label(template, n, lang) for n in names)
    text = phrase(
        "{message}: another record has the same {same}. Check that this is not a duplicate.",
        lang,
        message=rule_message(rule, lang),
        same=same,
    )
    return [said(Place(), name, text, rule.severity, rule.id, lang)]
