"""Shape a stored encounter into the de-identified payload the state receives.

Every field's `to_state` rule decides what leaves the program:

- `send`: the value as captured, NOT values and pertinent negatives included;
- `generalize`: only the method's output, under the output id (forms/generalize.py);
- `derive`: only the [[derived]] values computed from it (forms/derive.py);
- `never`: nothing.

Disabled fields (extended, not switched on) and fields that are not relevant are left
out, and so are answer keys the template does not define. The payload is a flat object
keyed by field or output id, plus one list of row objects per repeat group ("persons").
With `date_precision="month"` the local date and hour of the encounter are replaced by
its month (`encounter_month`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from forms.conditions import Predicate, template_cached, template_predicate
from forms.derive import derive_level, first_instant, local_part
from forms.generalize import HmacKey, PayloadError, generalize
from forms.model import Answers, Field, Group, Template
from forms.normalize import json_copy

__all__ = ["DATE_PRECISIONS", "PayloadError", "shape_payload"]

DATE_PRECISIONS = ("day", "month")
DAY_KINDS = ("local_date", "local_hour")
MONTH_SUFFIX = "_month"


def shape_payload(
    template: Template,
    answers: Answers,
    *,
    hmac_key: bytes,
    hmac_key_id: str,
    extended: frozenset[str] = frozenset(),
    date_precision: str = "day",
) -> dict[str, Any]:
    """Return the de-identified payload of one stored encounter (with its auto fields)."""
    if date_precision not in DATE_PRECISIONS:
        raise PayloadError(f"date_precision must be 'day' or 'month', got {date_precision!r}")
    if not isinstance(answers, Mapping):
        raise PayloadError("the answers must be an object keyed by field id")
    plan = shaping_plan(template, frozenset(extended))
    shaper = _Shaper(template, plan, answers, HmacKey(hmac_key, hmac_key_id), date_precision)
    return shaper.encounter()


@dataclass(frozen=True)
class _Item:
    """One enabled field: when it applies (None: always) and what its to_state rule sends."""

    field: Field
    relevant: Predicate | None
    send: bool
    output: str | None  # the generalized value's id, for a field generalized for the state


@dataclass(frozen=True)
class _GroupPlan:
    """A repeat group: when it applies and its enabled row fields."""

    group: Group
    relevant: Predicate | None
    items: tuple[_Item, ...]


@dataclass(frozen=True)
class Plan:
    """What shaping needs from a template for one set of switched-on extended fields, built once."""

    top: tuple[_Item, ...]
    groups: tuple[_GroupPlan, ...]
    kinds: dict[str, str]  # encounter-level derived id -> kind


def shaping_plan(template: Template, extended: frozenset[str]) -> Plan:
    """Return the template's shaping plan (enabled fields, compiled conditions), cached on it."""
    return template_cached(template, ("shaping_plan", extended), lambda: _build_plan(template, extended))


def _build_plan(template: Template, extended: frozenset[str]) -> Plan:
    def item(f: Field) -> _Item:
        relevant = None if f.relevant is None else template_predicate(template, f.relevant)
        output = f.generalize.output if f.to_state == "generalize" and f.generalize is not None else None
        return _Item(f, relevant, f.to_state == "send", output)

    enabled = template.enabled_fields(extended)
    groups = tuple(
        _GroupPlan(
            g,
            None if g.relevant is None else template_predicate(template, g.relevant),
            tuple(item(f) for f in enabled if f.group == g.id),
        )
        for g in template.groups.values()
    )
    kinds = {d.id: d.kind for d in template.derived if d.level == "encounter"}
    return Plan(tuple(item(f) for f in enabled if f.group is None), groups, kinds)


class _Shaper:
    """Shape one encounter: its own fields, its derived values, then each repeat group's rows."""

    def __init__(
        self, template: Template, plan: Plan, answers: Mapping[str, Any], key: HmacKey, precision: str
    ) -> None:
        self.template = template
        self.plan = plan
        self.answers = answers
        self.key = key
        self.precision = precision

    def encounter(self) -> dict[str, Any]:
        """Return the encounter's payload."""
        visible = self.visible(self.plan.top, self.answers, None)
        rows = {g: self.answers[g] for g in self.template.groups if g in self.answers}
        derived = derive_level(self.template, "encounter", {**visible, **rows})
        payload = {**self.sent(self.plan.top, visible), **self.precise(derived, visible)}
        for group in self.plan.groups:
            payload[group.group.id] = self.rows(group, visible, derived)
        return payload

    def rows(
        self, plan: _GroupPlan, encounter: Mapping[str, Any], outer: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """Return the payload rows of one repeat group."""
        group_id = plan.group.id
        rows = self.answers.get(group_id)
        if not rows or (plan.relevant is not None and not plan.relevant(self.answers, None)):
            return []
        if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
            raise PayloadError(f"'{group_id}' must be a list of objects, one per row")
        shaped = []
        for row in rows:
            visible = self.visible(plan.items, row, row)
            derived = derive_level(self.template, group_id, encounter, visible, outer)
            shaped.append({**self.sent(plan.items, visible), **derived})
        return shaped

    def visible(
        self, items: tuple[_Item, ...], source: Mapping[str, Any], row: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """Return the stored values of the enabled, relevant fields present in source."""
        answers = self.answers
        return {
            i.field.id: source[i.field.id]
            for i in items
            if i.field.id in source and (i.relevant is None or i.relevant(answers, row))
        }

    def sent(self, items: tuple[_Item, ...], visible: Mapping[str, Any]) -> dict[str, Any]:
        """Return what the send and generalize rules let through, in template order."""
        out: dict[str, Any] = {}
        for i in items:
            f = i.field
            if f.id not in visible:
                continue
            if i.send:
                out[f.id] = json_copy(visible[f.id])
            elif i.output is not None:
                out[i.output] = generalize(self.template, f, visible[f.id], self.key)
        return out

    def precise(self, derived: dict[str, Any], visible: Mapping[str, Any]) -> dict[str, Any]:
        """Drop the encounter's local month (day precision) or its local date and hour (month)."""
        kinds = self.plan.kinds
        if self.precision == "day":
            return {k: v for k, v in derived.items() if kinds.get(k) != "local_month"}
        kept = {k: v for k, v in derived.items() if kinds.get(k) not in DAY_KINDS}
        if "local_month" not in kinds.values():
            kept.update(self.months(visible))
        return kept

    def months(self, visible: Mapping[str, Any]) -> dict[str, str]:
        """Return `<name>_month` for each local date when the template defines no local month."""
        months: dict[str, str] = {}
        for d in self.template.derived:
            if d.level == "encounter" and d.kind == "local_date" and d.id.endswith("_date"):
                moment = first_instant(d.start, visible)
                if moment is not None:
                    months[d.id.removesuffix("_date") + MONTH_SUFFIX] = str(local_part("local_month", moment))
        return months
