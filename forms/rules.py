"""Check the template's cross-field rules (order, not_future, require, ...) on normalized answers."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from forms.conditions import decode, has_real, lookup, parse_instant, template_cached, template_predicate
from forms.messages import Message, Place, said
from forms.model import Answers, Condition, Field, Rule, Template
from forms.normalize import group_applies, rows_of

Record = Mapping[str, Any]
DuplicateLookup = Callable[[Answers], bool]
ENCOUNTER_KINDS = frozenset({"rows", "unique", "exclusive", "not_future"})  # each checks every level itself
ENCOUNTER = Place()


def check_rules(template: Template, values: Answers, raw: Mapping[str, Any], *, now: datetime,
                duplicate_lookup: DuplicateLookup | None = None) -> list[Message]:  # fmt: skip
    """Return the messages of every cross-field rule that does not hold."""
    messages: list[Message] = []
    places: dict[str, list[tuple[Place, Record | None]]] = {}  # the rows are the same for every rule
    extra = (raw, now, duplicate_lookup)
    for rule in template.rules:
        check = _KINDS.get(rule.kind)
        if check is None:
            continue  # schema rules shape the field checks; unknown kinds never load
        if rule.kind in ENCOUNTER_KINDS:
            messages += check(template, rule, values, None, ENCOUNTER, extra)
            continue
        if rule.level not in places:
            places[rule.level] = list(_places(template, rule.level, values))
        for place, row in places[rule.level]:
            messages += check(template, rule, values, row, place, extra)
    return messages


def _places(template: Template, level: str, values: Answers) -> Iterator[tuple[Place, Record | None]]:
    group = template.groups.get(level)
    if group is None:
        yield ENCOUNTER, None
        return
    if group_applies(template, group, values):
        for index, row in enumerate(rows_of(values, group)):
            yield Place(group, index), row


def _real(stored: Any) -> Any:
    real = decode(stored)[0]
    return real if has_real(real) else None


def _instant(stored: Any) -> date | datetime | None:
    real = _real(stored)
    return parse_instant(real) if isinstance(real, str) else None


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


Extra = tuple[Mapping[str, Any], datetime, DuplicateLookup | None]
Check = Callable[[Template, Rule, Answers, Record | None, Place, Extra], list[Message]]


def _order(
    template: Template, rule: Rule, values: Answers, row: Record | None, place: Place, _: Extra
) -> list[Message]:
    present = [(n, t) for n in rule.spec["fields"] if (t := _instant(lookup(n, values, row))) is not None]
    messages = []
    for (first, t1), (second, t2) in zip(present, present[1:], strict=False):
        if _before(t2, t1):
            text = (f"{rule.message}: {template.label(second)} ({_shown(t2, t1)}) is before "
                    f"{template.label(first)} ({_shown(t1, t2)}). Check the times.")  # fmt: skip
            messages.append(said(_at(template, place, second), second, text, rule.severity, rule.id))
    return messages


def _not_future(
    template: Template, rule: Rule, values: Answers, row: Record | None, place: Place, extra: Extra
) -> list[Message]:
    now = extra[1] if extra[1].tzinfo is not None else extra[1].replace(tzinfo=UTC)
    latest = now + timedelta(seconds=rule.spec.get("tolerance_s", 0))
    messages = []
    for f in _datetime_fields(template):
        group = template.groups.get(f.group or "")
        places = (
            [(Place(), None)]
            if group is None
            else [(Place(group, i), r) for i, r in enumerate(rows_of(values, group))]
        )
        for at, r in places:
            moment = _instant(lookup(f.id, values, r) if r is not None else values.get(f.id))
            if isinstance(moment, datetime) and moment.tzinfo is not None and moment > latest:
                shown = moment.strftime("%Y-%m-%d %H:%M")
                text = f"{rule.message}: {f.label} ({shown}) is later than now. Check the time."
                messages.append(said(at, f.id, text, rule.severity, rule.id))
    return messages


def _datetime_fields(template: Template) -> list[Field]:
    """Return the template's datetime fields (cached on the template)."""
    return template_cached(
        template, "datetime_fields", lambda: [f for f in template.fields.values() if f.type == "datetime"]
    )


def _require(
    template: Template, rule: Rule, values: Answers, row: Record | None, place: Place, _: Extra
) -> list[Message]:
    when = rule.spec.get("when")
    if when is not None and not template_predicate(template, when)(values, row):
        return []
    if template_predicate(template, rule.spec["then"])(values, row):
        return []
    name = first_field(rule.spec["then"], template.filters)
    text = f"{template.label(name)}: {sentence(rule.message)}" if name else sentence(rule.message)
    return [said(_at(template, place, name) if name else place, name, text, rule.severity, rule.id)]


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
    template: Template, rule: Rule, values: Answers, row: Record | None, place: Place, _: Extra
) -> list[Message]:
    start = _first_instant(template, rule.spec["start"], values, row)
    end = _first_instant(template, rule.spec["end"], values, row)
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
    text = (f"{template.label(end_name)}: {rule.message} ({_duration(gap)} after "
            f"{template.label(start_name)}). Check the dates.")  # fmt: skip
    return [said(_at(template, place, end_name), end_name, text, rule.severity, rule.id)]


def _first_instant(
    template: Template, names: Any, values: Answers, row: Record | None
) -> tuple[str, date | datetime] | None:
    """Return the first name with a date or time, reading a local-date derived value from its start."""
    for name in [names] if isinstance(names, str) else names:
        derived = next((d for d in template.derived if d.id == name and d.kind.startswith("local_")), None)
        for source in derived.start if derived else (name,):
            moment = _instant(lookup(source, values, row))
            if moment is not None:
                return source, moment
    return None


def _duration(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{int(seconds // 86400)} days"
    if seconds >= 2 * 3600:
        return f"{int(seconds // 3600)} hours"
    return f"{int(seconds // 60)} minutes"


def _subset(
    template: Template, rule: Rule, values: Answers, row: Record | None, place: Place, _: Extra
) -> list[Message]:
    name, of = rule.spec["field"], rule.spec["of"]
    value, pool = _real(lookup(name, values, row)), _real(lookup(of, values, row))
    if value is None or pool is None or value in (pool if isinstance(pool, list) else [pool]):
        return []
    text = f"{template.label(name)}: {rule.message} (add it to {template.label(of)}, or change it)."
    return [said(_at(template, place, name), name, text, rule.severity, rule.id)]


def _exclusive(
    template: Template, rule: Rule, values: Answers, row: Record | None, place: Place, _: Extra
) -> list[Message]:
    messages = []
    for item in rule.spec["items"]:
        f = template.fields.get(item["field"])
        group = template.groups.get(f.group or "") if f is not None else None
        places = (
            [(Place(), values)]
            if group is None
            else [(Place(group, i), r) for i, r in enumerate(rows_of(values, group))]
        )
        for at, record in places:
            chosen = _real(record.get(item["field"]))
            if isinstance(chosen, list) and item["code"] in chosen and len(chosen) > 1:
                code = _code_label(template, item["field"], item["code"])
                label = template.label(item["field"])
                text = f"{label}: {rule.message}: remove '{code}' or the other choices."
                messages.append(said(at, item["field"], text, rule.severity, rule.id))
    return messages


def _code_label(template: Template, name: str, code: str) -> str:
    f = template.fields.get(name)
    codes = template.code_lists.get(f.code_list or "") if f is not None else None
    return next((c.label for c in codes.codes if c.code == code), code) if codes is not None else code


def _rows(
    template: Template, rule: Rule, values: Answers, row: Record | None, place: Place, extra: Extra
) -> list[Message]:
    group = template.groups[rule.spec["group"]]
    raw_rows = extra[0].get(group.id)
    count = len(raw_rows) if isinstance(raw_rows, list) else 0
    if not group_applies(template, group, values):
        if count == 0:
            return []
        text = (f"{group.label}: {rule.message}. This record should have none: remove the {count} row(s) "
                "or correct the answers above.")  # fmt: skip
    elif count < group.min_rows:
        text = f"{group.label}: {rule.message}. Add at least {group.min_rows}."
    elif count > group.max_rows:
        text = f"{group.label}: {rule.message}. Keep at most {group.max_rows}."
    else:
        return []
    return [said(Place(), group.id, text, rule.severity, rule.id)]


def _unique(
    template: Template, rule: Rule, values: Answers, row: Record | None, place: Place, extra: Extra
) -> list[Message]:
    lookup_duplicate = extra[2]
    if lookup_duplicate is None or not lookup_duplicate(values):
        return []
    sources = {f.generalize.output: f.id for f in template.fields.values() if f.generalize}
    names = [sources.get(n, n) for n in rule.spec["fields"]]
    name = next((n for n in names if n in template.fields and template.fields[n].group is None), None)
    same = ", ".join(template.label(n) for n in names)
    text = f"{rule.message}: another record has the same {same}. Check that this is not a duplicate."
    return [said(Place(), name, text, rule.severity, rule.id)]


_KINDS: dict[str, Check] = {
    "order": _order,
    "not_future": _not_future,
    "require": _require,
    "max_gap": _max_gap,
    "subset": _subset,
    "exclusive": _exclusive,
    "rows": _rows,
    "unique": _unique,
}
