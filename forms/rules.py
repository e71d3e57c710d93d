"""Check the template's cross-field rules (order, not_future, require, ...) on normalized answers.

Messages are worded in the language asked for (forms.phrases; the rule's own message and
the labels from the template's translations), English by default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from forms.conditions import lookup, template_cached, template_predicate
from forms.messages import Message, Place, label, rule_message, said
from forms.model import Answers, Condition, Field, Group, Rule, Template
from forms.normalize import group_applies, rows_of
from forms.phrases import ENGLISH, phrase
from forms.record_rules import DuplicateLookup, Extra, Record, exclusive, real, rows, unique

ENCOUNTER_KINDS = frozenset({"rows", "unique", "exclusive", "not_future"})  # each checks every level itself
ENCOUNTER = Place()


def check_rules(
    template: Template,
    values: Answers,
    raw: Mapping[str, Any],
    *,
    now: datetime,
    duplicate_lookup: DuplicateLookup | None = None,
    lang: str = ENGLISH,
) -> list[Message]:
    """Return the messages of every cross-field rule that does not hold, worded in `lang`."""
    messages: list[Message] = []
    places: dict[str, list[tuple[Place, Record | None]]] = {}  # the rows are the same for every rule
    extra = Extra(raw, now, duplicate_lookup, lang, {})
    for rule, check in _checks(template):
        if rule.kind in ENCOUNTER_KINDS:
            messages += check(template, rule, values, None, ENCOUNTER, extra)
            continue
        if rule.level not in places:
            places[rule.level] = list(_places(template, rule.level, values))
        for place, row in places[rule.level]:
            messages += check(template, rule, values, row, place, extra)
    return messages


def _checks(template: Template) -> list[tuple[Rule, Check]]:
    """Return each rule with its check, conditions compiled once (cached on the template)."""

    def build() -> list[tuple[Rule, Check]]:
        found = [
            (r, _require_check(template, r) if r.kind == "require" else _KINDS.get(r.kind))
            for r in template.rules
        ]
        return [(r, check) for r, check in found if check is not None]  # schema rules shape the field checks

    return template_cached(template, "rule_checks", build)


def _places(template: Template, level: str, values: Answers) -> Iterator[tuple[Place, Record | None]]:
    group = template.groups.get(level)
    if group is None:
        yield ENCOUNTER, None
        return
    if group_applies(template, group, values):
        for index, row in enumerate(rows_of(values, group)):
            yield Place(group, index), row


def _before(a: date | datetime, b: date | datetime) -> bool:
    """Return whether a is strictly before b (a date against a datetime compares dates)."""
    if isinstance(a, datetime) != isinstance(b, datetime):
        a = a.date() if isinstance(a, datetime) else a
        b = b.date() if isinstance(b, datetime) else b
    try:
        return a < b
    except TypeError:
        return False


def _shown(moment: date | datetime, other: date | datetime) -> str:
    """Show a time as HH:MM, with its date when it differs from the other's."""
    if not isinstance(moment, datetime):
        return moment.isoformat()
    same_day = isinstance(other, datetime) and other.date() == moment.date()
    return moment.strftime("%H:%M") if same_day else moment.strftime("%Y-%m-%d %H:%M")


def _at(template: Template, place: Place, name: str) -> Place:
    """Return the place of a field: its row for a row field, the encounter otherwise."""
    field = template.fields.get(name)
    return place if field is not None and field.group is not None else Place()


Instant = Callable[[Any], date | datetime | None]
Check = Callable[[Template, Rule, Answers, Record | None, Place, Extra], list[Message]]


def _order(
    template: Template, rule: Rule, values: Answers, row: Record | None, place: Place, extra: Extra
) -> list[Message]:
    instant = extra.instant
    present = [(n, t) for n in rule.spec["fields"] if (t := instant(lookup(n, values, row))) is not None]
    messages, lang = [], extra.lang
    for (first, t1), (second, t2) in zip(present, present[1:], strict=False):
        if _before(t2, t1):
            text = phrase(
                "{message}: {second} ({later}) is before {first} ({earlier}). Check the times.",
                lang,
                message=rule_message(rule, lang),
                second=label(template, second, lang),
                later=_shown(t2, t1),
                first=label(template, first, lang),
                earlier=_shown(t1, t2),
            )
            messages.append(said(_at(template, place, second), second, text, rule.severity, rule.id, lang))
    return messages


def _not_future(
    template: Template, rule: Rule, values: Answers, row: Record | None, place: Place, extra: Extra
) -> list[Message]:
    now = extra.now if extra.now.tzinfo is not None else extra.now.replace(tzinfo=UTC)
    latest = now + timedelta(seconds=rule.spec.get("tolerance_s", 0))
    messages, instant, rows = [], extra.instant, {}
    for f, group in _datetime_fields(template):
        if group is None:
            found = [(Place(), instant(values.get(f.id)))]
        else:
            if group.id not in rows:
                rows[group.id] = rows_of(values, group)
            found = [
                (Place(group, i), instant(lookup(f.id, values, r))) for i, r in enumerate(rows[group.id])
            ]
        for at, moment in found:
            if isinstance(moment, datetime) and moment.tzinfo is not None and moment > latest:
                messages.append(_in_future(template, rule, at, f.id, moment, extra.lang))
    return messages


def _in_future(template: Template, rule: Rule, at: Place, name: str, moment: datetime, lang: str) -> Message:
    text = phrase(
        "{message}: {label} ({shown}) is later than now. Check the time.",
        lang,
        message=rule_message(rule, lang),
        label=label(template, name, lang),
        shown=moment.strftime("%Y-%m-%d %H:%M"),
    )
    return said(at, name, text, rule.severity, rule.id, lang)


def _datetime_fields(template: Template) -> list[tuple[Field, Group | None]]:
    """Return the template's datetime fields, each with its repeat group (cached on the template)."""
    return template_cached(
        template,
        "datetime_fields",
        lambda: [
            (f, template.groups.get(f.group or "")) for f in template.fields.values() if f.type == "datetime"
        ],
    )


def _require_check(template: Template, rule: Rule) -> Check:
    """Return the check of a require rule, its `when` and `then` conditions compiled once."""
    when = None if rule.spec.get("when") is None else template_predicate(template, rule.spec["when"])
    then = template_predicate(template, rule.spec["then"])

    def check(
        template: Template, rule: Rule, values: Answers, row: Record | None, place: Place, extra: Extra
    ) -> list[Message]:
        if (when is not None and not when(values, row)) or then(values, row):
            return []
        return _unmet(template, rule, place, extra)

    return check


def _unmet(template: Template, rule: Rule, place: Place, extra: Extra) -> list[Message]:
    """Return the message of a require rule whose `then` does not hold."""
    name, said_ = first_field(rule.spec["then"], template.filters), sentence(rule_message(rule, extra.lang))
    text = f"{label(template, name, extra.lang)}: {said_}" if name else said_
    return [
        said(_at(template, place, name) if name else place, name, text, rule.severity, rule.id, extra.lang)
    ]


def sentence(text: str) -> str:
    """End a rule's message with a full stop unless it ends with punctuation already."""
    return text if text.endswith((".", "?", "!")) else f"{text}."


def first_field(cond: Condition, filters: Mapping[str, Condition], depth: int = 0) -> str | None:
    """Return the first field a condition names (following named filters)."""
    if depth > 20 or not isinstance(cond, Mapping):
        return None
    if "field" in cond:
        return str(cond["field"])
    if "use" in cond:
        return first_field(filters.get(str(cond["use"]), {}), filters, depth + 1)
    inner = cond.get("all", cond.get("any", [cond["not"]] if "not" in cond else []))
    return next((n for c in inner if (n := first_field(c, filters, depth + 1))), None)


def _max_gap(
    template: Template, rule: Rule, values: Answers, row: Record | None, place: Place, extra: Extra
) -> list[Message]:
    start = _first_instant(template, rule.spec["start"], values, row, extra.instant)
    end = _first_instant(template, rule.spec["end"], values, row, extra.instant)
    if start is None or end is None:
        return []
    (start_name, t1), (end_name, t2) = start, end
    if isinstance(t1, datetime) and isinstance(t2, datetime):
        try:
            gap = (t2 - t1).total_seconds()
        except TypeError:
            return []
    else:
        gap = (
            (t2.date() if isinstance(t2, datetime) else t2) - (t1.date() if isinstance(t1, datetime) else t1)
        ).days * 86400
    if gap <= rule.spec["max_s"]:
        return []
    lang = extra.lang
    text = phrase(
        "{label}: {message} ({gap} after {start}). Check the dates.",
        lang,
        label=label(template, end_name, lang),
        message=rule_message(rule, lang),
        gap=_duration(gap, lang),
        start=label(template, start_name, lang),
    )
    return [said(_at(template, place, end_name), end_name, text, rule.severity, rule.id, lang)]


def _first_instant(
    template: Template, names: Any, values: Answers, row: Record | None, instant: Instant
) -> tuple[str, date | datetime] | None:
    """Return the first name with a date or time, reading a local-date derived value from its start."""
    local = _local_sources(template)
    for name in [names] if isinstance(names, str) else names:
        for source in local.get(name, (name,)):
            moment = instant(lookup(source, values, row))
            if moment is not None:
                return source, moment
    return None


def _local_sources(template: Template) -> dict[str, tuple[str, ...]]:
    """Return the start names of each local-date derived value (the first of an id wins; cached)."""

    def build() -> dict[str, tuple[str, ...]]:
        found: dict[str, tuple[str, ...]] = {}
        for d in template.derived:
            if d.kind.startswith("local_"):
                found.setdefault(d.id, tuple(d.start))
        return found

    return template_cached(template, "local_date_sources", build)


def _duration(seconds: float, lang: str) -> str:
    if seconds >= 2 * 86400:
        return phrase("{n} days", lang, n=int(seconds // 86400))
    if seconds >= 2 * 3600:
        return phrase("{n} hours", lang, n=int(seconds // 3600))
    return phrase("{n} minutes", lang, n=int(seconds // 60))


def _subset(
    template: Template, rule: Rule, values: Answers, row: Record | None, place: Place, extra: Extra
) -> list[Message]:
    name, of, lang = rule.spec["field"], rule.spec["of"], extra.lang
    value, pool = real(lookup(name, values, row)), real(lookup(of, values, row))
    if value is None or pool is None or value in (pool if isinstance(pool, list) else [pool]):
        return []
    text = phrase(
        "{label}: {message} (add it to {of}, or change it).",
        lang,
        label=label(template, name, lang),
        message=rule_message(rule, lang),
        of=label(template, of, lang),
    )
    return [said(_at(template, place, name), name, text, rule.severity, rule.id, lang)]


_KINDS: dict[str, Check] = {
    "order": _order,
    "not_future": _not_future,
    "max_gap": _max_gap,
    "subset": _subset,
    "exclusive": exclusive,
    "rows": rows,
    "unique": unique,
}
