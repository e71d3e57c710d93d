"""What a de-identified payload may hold, derived from the template: every key, its check and usage."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from forms.model import CodeList, Condition, Derived, Field, Template
from forms.values import plain_problem

Check = Callable[[Any], str | None]
ENCOUNTER = "encounter"
HMAC_PATTERN = re.compile(r"[a-z0-9_]+:[0-9a-f]{64}")


@dataclass(frozen=True)
class Slot:
    """One key a payload may hold, at encounter level or in a repeat group's rows."""

    id: str
    level: str
    label: str
    check: Check
    not_values: frozenset[str] = frozenset()
    pertinent_negatives: frozenset[str] = frozenset()
    usage: str = "O"
    core: bool = False
    relevant: Condition | None = None
    sent_as_is: bool = False


@dataclass(frozen=True)
class PayloadSpec:
    """Every key of a template's payload, plus the ids that must never arrive."""

    template: Template
    slots: dict[str, Slot]
    never: frozenset[str]

    def level_of(self, name: str) -> str | None:
        """Return where a payload key lives (encounter or a group id), or None if unknown."""
        slot = self.slots.get(name)
        return slot.level if slot else (ENCOUNTER if name in self.template.groups else None)


def build_spec(template: Template) -> PayloadSpec:
    """Return the payload spec of a template."""
    slots: dict[str, Slot] = {}
    never: set[str] = set()
    for f in template.fields.values():
        if f.to_state == "send":
            slots[f.id] = _sent_slot(template, f)
        elif f.to_state == "generalize" and f.generalize is not None:
            slots[f.generalize.output] = _generalized_slot(template, f)
        if f.to_state in ("never", "generalize", "derive") or f.privacy == "pii":
            never.add(f.id)
    for d in template.derived:
        slots[d.id] = Slot(d.id, _level(d.level), d.id, _derived_check(d))
    return PayloadSpec(template, slots, frozenset(never - set(slots)))


def _level(level: str | None) -> str:
    return level if level and level != ENCOUNTER else ENCOUNTER


def _sent_slot(template: Template, f: Field) -> Slot:
    return Slot(
        f.id,
        _level(f.group),
        f.label,
        value_check(template, f),
        frozenset(f.not_values),
        frozenset(f.pertinent_negatives),
        f.usage,
        f.core,
        f.relevant,
        sent_as_is=True,
    )


def _generalized_slot(template: Template, f: Field) -> Slot:
    assert f.generalize is not None
    method, output = f.generalize.method, f.generalize.output
    checks: dict[str, Check] = {
        "age_band": _code_check(template.code_lists.get("age_band"), "an age band"),
        "zip3": _pattern_check(re.compile(r"[0-9]{3}"), "three digits"),
        "hmac": _pattern_check(HMAC_PATTERN, "a keyed hash '<key id>:<64 hex digits>'"),
        "icd10_category": _pattern_check(re.compile(r"[A-Z][0-9][0-9A-Z]"), "an ICD-10-CM category"),
    }
    check = checks[method]
    if f.type == "multi_enum":
        check = _list_of(check, None)
    return Slot(
        output,
        _level(f.group),
        f"{f.label} ({method})",
        check,
        frozenset(f.not_values),
        frozenset(f.pertinent_negatives),
        f.usage,
        f.core,
    )


def value_check(template: Template, f: Field) -> Check:
    """Return the device's own check of a field's plain value (forms.values), plus min_items."""

    def check(value: Any) -> str | None:
        problem = plain_problem(f, value, template)
        if problem is None and f.min_items and isinstance(value, list) and len(value) < f.min_items:
            return f"choose at least {f.min_items}."
        return problem

    return check


def _derived_check(d: Derived) -> Check:
    if d.kind in ("seconds", "minutes", "days"):
        return _number_check(True, 0, None)
    if d.kind == "hours":
        return _number_check(False, 0, None)
    if d.kind == "local_hour":
        return _number_check(True, 0, 23)
    if d.kind == "local_month":
        return _pattern_check(re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])"), "a month YYYY-MM")
    return _date_check("date")


def _code_check(code_list: CodeList | None, what: str) -> Check:
    codes = frozenset(c.code for c in code_list.codes) if code_list else frozenset()
    pattern = re.compile(code_list.pattern) if code_list and code_list.pattern else None

    def check(value: Any) -> str | None:
        if isinstance(value, str) and (value in codes or (pattern is not None and pattern.fullmatch(value))):
            return None
        return f"{value!r} is not {what}"

    return check


def _list_of(item: Check, min_items: int | None) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, list):
            return "must be a list"
        if min_items and len(value) < min_items:
            return f"needs at least {min_items} item(s)"
        if len(set(map(repr, value))) != len(value):
            return "holds a code twice"
        return next((problem for problem in map(item, value) if problem), None)

    return check


def _number_check(whole: bool, low: float | None, high: float | None) -> Check:
    def check(value: Any) -> str | None:
        numeric = isinstance(value, int) or (isinstance(value, float) and not whole)
        if isinstance(value, bool) or not numeric:
            return "must be a whole number" if whole else "must be a number"
        if (low is not None and value < low) or (high is not None and value > high):
            return f"must be from {_num(low)} to {_num(high)}"
        return None

    return check


def _num(value: float | None) -> str:
    return "any" if value is None else f"{value:g}"


def _date_check(kind: str) -> Check:
    def check(value: Any) -> str | None:
        try:
            if kind == "date" and isinstance(value, str) and len(value) == 10:
                date.fromisoformat(value)
                return None
            if kind == "datetime" and isinstance(value, str) and datetime.fromisoformat(value).tzinfo:
                return None
        except ValueError:
            pass
        return "must be a date YYYY-MM-DD" if kind == "date" else "must be a date-time with UTC offset"

    return check


def _text_check(max_length: int | None, pattern: re.Pattern[str] | None) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return "must be text"
        if max_length is not None and len(value) > max_length:
            return f"must be at most {max_length} characters"
        if pattern is not None and not pattern.fullmatch(value):
            return "does not have the required format"
        return None

    return check


def _pattern_check(pattern: re.Pattern[str], what: str) -> Check:
    return lambda v: None if isinstance(v, str) and pattern.fullmatch(v) else f"{v!r} is not {what}"


def condition_names(
    cond: Any, filters: Mapping[str, Condition], seen: frozenset[str] = frozenset()
) -> Iterator[str]:
    """Yield every field name a condition reads, following named filters."""
    if not isinstance(cond, dict):
        return
    if "field" in cond:
        yield str(cond["field"])
    if "use" in cond and cond["use"] not in seen:
        yield from condition_names(filters.get(cond["use"]), filters, seen | {cond["use"]})
    for key in ("all", "any"):
        for part in cond.get(key, []) or []:
            yield from condition_names(part, filters, seen)
    if "not" in cond:
        yield from condition_names(cond["not"], filters, seen)
