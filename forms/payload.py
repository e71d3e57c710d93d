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

import copy
from collections.abc import Mapping
from typing import Any

from forms.conditions import evaluate
from forms.derive import derive_level, first_instant, local_part
from forms.generalize import HmacKey, PayloadError, generalize
from forms.model import Answers, Field, Template

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
    shaper = _Shaper(template, answers, HmacKey(hmac_key, hmac_key_id), extended, date_precision)
    return shaper.encounter()


class _Shaper:
    """Shape one encounter: its own fields, its derived values, then each repeat group's rows."""

    def __init__(
        self, template: Template, answers: Mapping[str, Any], key: HmacKey, extended: frozenset[str],
        precision: str,
    ) -> None:  # fmt: skip
        self.template = template
        self.answers = answers
        self.key = key
        self.enabled = {f.id for f in template.enabled_fields(extended)}
        self.precision = precision

    def encounter(self) -> dict[str, Any]:
        """Return the encounter's payload."""
        fields = [f for f in self.template.fields.values() if f.group is None]
        visible = self.visible(fields, self.answers, None)
        rows = {g: self.answers[g] for g in self.template.groups if g in self.answers}
        derived = derive_level(self.template, "encounter", {**visible, **rows})
        payload = {**self.sent(fields, visible), **self.precise(derived, visible)}
        for group in self.template.groups.values():
            payload[group.id] = self.rows(group.id, visible, derived)
        return payload

    def rows(
        self, group_id: str, encounter: Mapping[str, Any], outer: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """Return the payload rows of one repeat group."""
        group = self.template.groups[group_id]
        rows = self.answers.get(group_id)
        if not rows or (group.relevant is not None and not self.holds(group.relevant, None)):
            return []
        if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
            raise PayloadError(f"'{group_id}' must be a list of objects, one per row")
        fields = self.template.group_fields(group_id)
        shaped = []
        for row in rows:
            visible = self.visible(fields, row, row)
            derived = derive_level(self.template, group_id, encounter, visible, outer)
            shaped.append({**self.sent(fields, visible), **derived})
        return shaped

    def visible(
        self, fields: list[Field], source: Mapping[str, Any], row: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """Return the stored values of the enabled, relevant fields present in source."""
        return {
            f.id: source[f.id]
            for f in fields
            if f.id in self.enabled and f.id in source and (f.relevant is None or self.holds(f.relevant, row))
        }

    def holds(self, condition: dict[str, Any], row: Mapping[str, Any] | None) -> bool:
        """Return whether a condition holds over the stored answers (and a row)."""
        return evaluate(condition, self.answers, self.template, row)

    def sent(self, fields: list[Field], visible: Mapping[str, Any]) -> dict[str, Any]:
        """Return what the send and generalize rules let through, in template order."""
        out: dict[str, Any] = {}
        for f in fields:
            if f.id not in visible:
                continue
            if f.to_state == "send":
                out[f.id] = copy.deepcopy(visible[f.id])
            elif f.to_state == "generalize" and f.generalize is not None:
                out[f.generalize.output] = generalize(self.template, f, visible[f.id], self.key)
        return out

    def precise(self, derived: dict[str, Any], visible: Mapping[str, Any]) -> dict[str, Any]:
        """Drop the encounter's local month (day precision) or its local date and hour (month)."""
        kinds = {d.id: d.kind for d in self.template.derived if d.level == "encounter"}
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
