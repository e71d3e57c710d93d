"""Answers the template implies at finalize: a mandatory choice that has only one possible answer.

A `subset` rule (R16 in the standard template: `primary_need` must be one of `needs`) ties
a single-choice field to a multi-choice field. When that field is mandatory (M), applies
(enabled and relevant), is blank, and the multi-choice field holds exactly one code, the
only answer that can finalize is that code, so it is filled in ("auto when one need").
Nothing names fields here: the rule, the usage level and the types come from the template.

Only at finalize: a draft keeps what the crew chose, so changing the needs later never
leaves an automatic main need behind. The browser's validator does the same offline
(fillOnlyChoices in static/js/validation.js; tests/shared_validation_cases.json holds both cases).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from forms.conditions import Predicate, template_cached
from forms.model import Answers, Template
from forms.stored import decode, has_real, lookup
from forms.values import is_blank, is_code

if TYPE_CHECKING:
    from forms.normalize import Relevance


@dataclass(frozen=True)
class OnlyChoice:
    """A mandatory single-choice field (`target`) that must be one of the codes of `source`."""

    target: str
    source: str
    group: str | None  # the target's repeat group, None for an encounter field


def only_choices(template: Template) -> tuple[OnlyChoice, ...]:
    """Return the template's subset rules whose field may be filled automatically (cached)."""
    return template_cached(template, "only_choices", lambda: tuple(_find(template)))


def _find(template: Template) -> list[OnlyChoice]:
    found = []
    for rule in template.rules:
        target = template.fields.get(str(rule.spec.get("field", "")))
        source = template.fields.get(str(rule.spec.get("of", "")))
        if rule.kind != "subset" or target is None or source is None:
            continue
        if target.usage == "M" and target.type == "enum" and source.type == "multi_enum":
            found.append(OnlyChoice(target.id, source.id, target.group))
    return found


def fill_only_choices(template: Template, plan: Relevance, out: Answers) -> bool:
    """Fill each blank field whose subset rule leaves one possible code; return whether any was filled."""
    filled = False
    for choice in only_choices(template):
        if choice.group is None:
            filled = _fill(template, choice, out, None, plan.top.get(choice.target)) or filled
            continue
        rows = out.get(choice.group)
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict):
                test = plan.rows.get(choice.group, {}).get(choice.target)
                filled = _fill(template, choice, out, row, test) or filled
    return filled


def _fill(
    template: Template, choice: OnlyChoice, out: Answers, row: dict[str, Any] | None, test: Predicate | None
) -> bool:
    """Fill one blank target (in the row, or the encounter) from its source's single code."""
    target = row if row is not None else out
    if test is None or not is_blank(target.get(choice.target)) or not test(out, row):
        return False
    code = _single_code(lookup(choice.source, out, row))
    if code is None or not is_code(template, template.fields[choice.target], code):
        return False
    target[choice.target] = code
    return True


def _single_code(stored: Any) -> str | None:
    """Return the one code of a multi-choice answer, or None when it holds none or several."""
    real = decode(stored)[0]
    if not has_real(real) or not isinstance(real, list) or len(real) != 1:
        return None
    return real[0] if isinstance(real[0], str) else None
