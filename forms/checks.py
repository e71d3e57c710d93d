"""Cross-reference checks of a built template: every name it uses must exist and fit.

Each check returns problem lines "<section> '<id>': <what is wrong>"; the loader adds the
file name and refuses the template if there is any.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from forms.condition_checks import condition_problems, known_names
from forms.model import Field, Template
from forms.schema import INTERVAL_KINDS
from forms.values import value_problem

TYPE_KEYS = {
    "code_list": ("enum", "multi_enum"),
    "min": ("integer", "number"),
    "max": ("integer", "number"),
    "max_length": ("text",),
    "pattern": ("text",),
    "min_items": ("multi_enum",),
    "must_be_true": ("boolean",),
    "now_button": ("datetime",),
}
TIME_TYPES = ("date", "datetime")
NAMED_BREAKDOWN_MONTH = "month"


def check_template(t: Template) -> list[str]:
    """Return every cross-reference problem of the template."""
    return [
        *_sections_and_groups(t),
        *(p for f in t.fields.values() for p in _field(t, f)),
        *_code_lists(t),
        *_filters(t),
        *_derived(t),
        *(p for r in t.rules for p in _rule(t, r.id, r.kind, r.level, r.spec)),
        *_breakdowns(t),
        *(p for m in t.metrics for p in _metric(t, m.id, m.kind, m.spec, m.breakdowns)),
        *_namespace(t),
    ]


def _sections_and_groups(t: Template) -> Iterator[str]:
    for s in t.sections:
        if s.group is not None and s.group not in t.groups:
            yield f"section '{s.id}': group '{s.group}' is not defined"
    for g in t.groups.values():
        where = f"group '{g.id}'"
        if g.relevant is not None:
            yield from (f"{where}: relevant: {p}" for p in condition_problems(t, g.relevant))
        if g.min_rows > g.max_rows:
            yield f"{where}: min_rows {g.min_rows} is more than max_rows {g.max_rows}"
        seq, count = t.fields.get(g.sequence_field or ""), t.fields.get(g.count_field or "")
        if g.sequence_field and (seq is None or seq.group != g.id or seq.type != "integer"):
            yield f"{where}: sequence_field '{g.sequence_field}' must be an integer field of this group"
        if g.count_field and (count is None or count.group is not None or count.type != "integer"):
            yield f"{where}: count_field '{g.count_field}' must be an integer encounter field"


def _field(t: Template, f: Field) -> Iterator[str]:
    where = f"field '{f.id}'"
    section_ids = {s.id for s in t.sections}
    if f.section and f.section not in section_ids:
        yield f"{where}: section '{f.section}' is not defined"
    yield from _field_type(t, f, where)
    yield from _field_not_values(t, f, where)
    yield from _field_state(f, where)
    if f.relevant is not None:
        yield from (f"{where}: relevant: {p}" for p in condition_problems(t, f.relevant))
    if f.default is not None and (problem := value_problem(f, f.default, t)):
        yield f"{where}: default {f.default!r} does not fit the field ({problem})"
    if f.auto_value is not None:
        yield from (f"{where}: auto_value: when: {p}" for p in condition_problems(t, f.auto_value["when"]))
        if problem := value_problem(f, f.auto_value["value"], t):
            yield f"{where}: auto_value {f.auto_value['value']!r} does not fit the field ({problem})"


def _field_type(t: Template, f: Field, where: str) -> Iterator[str]:
    for key, types in TYPE_KEYS.items():
        if getattr(f, key) not in (None, False) and f.type not in types:
            yield f"{where}: {key} applies only to type {' or '.join(types)}, not {f.type}"
    if f.type in TYPE_KEYS["code_list"]:
        if f.code_list is None:
            yield f"{where}: type {f.type} needs a code_list"
        elif f.code_list not in t.code_lists:
            yield f"{where}: code list '{f.code_list}' is not defined"
    if f.min is not None and f.max is not None and f.min > f.max:
        yield f"{where}: min {f.min} is more than max {f.max}"


def _field_not_values(t: Template, f: Field, where: str) -> Iterator[str]:
    for key, kind, codes in (
        ("not_values", "not", f.not_values),
        ("pertinent_negatives", "pn", f.pertinent_negatives),
    ):
        for code in codes:
            known = t.not_values.get(code)
            if known is None:
                yield f"{where}: {key}: '{code}' is not in the not_values catalogue"
            elif known.kind != kind:
                yield f"{where}: {key}: '{code}' is of kind '{known.kind}', not '{kind}'"
    if f.usage == "M" and f.not_values:
        yield f"{where}: usage M never allows NOT values (remove not_values)"
    if f.usage == "R" and "not_recorded" in t.not_values and "not_recorded" not in f.not_values:
        yield f"{where}: usage R needs 'not_recorded' in not_values (a blank R answer becomes not_recorded)"


def _field_state(f: Field, where: str) -> Iterator[str]:
    if f.to_state == "generalize" and f.generalize is None:
        yield f"{where}: to_state 'generalize' needs a generalize table (method, output)"
    if f.to_state != "generalize" and f.generalize is not None:
        yield f"{where}: generalize applies only with to_state = 'generalize'"
    if f.generalize is not None and (f.generalize.method == "hmac") != (f.generalize.purpose is not None):
        yield f"{where}: generalize: purpose is required for method hmac and only for it"


def _code_lists(t: Template) -> Iterator[str]:
    for c in t.code_lists.values():
        if c.pattern is not None and not c.external:
            yield f"code list '{c.id}': pattern applies only to external lists (set external = true)"
        if not c.codes and not c.external:
            yield f"code list '{c.id}': has no codes"


def _filters(t: Template) -> Iterator[str]:
    for name, cond in t.filters.items():
        yield from (f"filter '{name}': {p}" for p in condition_problems(t, cond))
        if cycle := _cycle(name, lambda n: _uses(t.filters.get(n))):
            yield f"filter '{name}': uses itself ({' -> '.join(cycle)})"


def _uses(cond: Any) -> list[str]:
    """Return the named filters a condition uses directly."""
    if not isinstance(cond, dict):
        return []
    if "use" in cond:
        return [str(cond["use"])]
    inner = cond.get("all", cond.get("any", [cond["not"]] if "not" in cond else []))
    return [n for c in (inner if isinstance(inner, list) else []) for n in _uses(c)]


def _cycle(start: str, follow: Any, path: tuple[str, ...] = ()) -> list[str] | None:
    """Return a path from start back to itself, or None."""
    for nxt in follow(path[-1] if path else start):
        if nxt == start:
            return [start, *path, start]
        if nxt not in path and (found := _cycle(start, follow, (*path, nxt))):
            return found
    return None


def _derived(t: Template) -> Iterator[str]:
    names = {*t.fields, *(d.id for d in t.derived)}
    for d in t.derived:
        where = f"derived '{d.id}'"
        if d.level != "encounter" and d.level not in t.groups:
            yield f"{where}: level '{d.level}' is neither 'encounter' nor a group"
        yield from (
            f"{where}: start/end names unknown field '{n}'" for n in (*d.start, *d.end) if n not in names
        )
        if d.kind in INTERVAL_KINDS and not d.end:
            yield f"{where}: kind '{d.kind}' needs an end"
        if d.kind not in INTERVAL_KINDS and d.end:
            yield f"{where}: kind '{d.kind}' takes no end"
        if d.when is not None:
            yield from (f"{where}: when: {p}" for p in condition_problems(t, d.when))


def _rule(t: Template, rid: str, kind: str, level: str, spec: dict[str, Any]) -> Iterator[str]:
    where = f"rule '{rid}'"
    if level != "encounter" and level not in t.groups:
        yield f"{where}: level '{level}' is neither 'encounter' nor a group"
    for key in ("when", "then"):
        if key in spec:
            yield from (f"{where}: {key}: {p}" for p in condition_problems(t, spec[key]))
    fields = _rule_fields(spec, kind)
    for name in fields:
        f = t.fields.get(name)
        derived = next((d for d in t.derived if d.id == name), None)
        if f is None and derived is None:
            yield f"{where}: names unknown field '{name}'"
        elif f is not None and kind in ("order", "not_future", "max_gap") and f.type not in TIME_TYPES:
            yield f"{where}: '{name}' is {f.type}, not a date or datetime"
        elif (
            f is not None
            and kind != "exclusive"
            and f.group not in (None, level if level != "encounter" else None)
        ):
            yield f"{where}: '{name}' is a field of group '{f.group}'; set level = \"{f.group}\""
    yield from _rule_kind(t, where, kind, spec)


def _rule_fields(spec: dict[str, Any], kind: str) -> list[str]:
    if kind == "unique":
        return []  # payload names, checked by whoever holds the records
    names = [*spec.get("fields", []), *_as_list(spec.get("start")), *_as_list(spec.get("end"))]
    names += [spec[k] for k in ("field", "of") if k in spec]
    return names + [i["field"] for i in spec.get("items", []) if isinstance(i, dict) and "field" in i]


def _as_list(value: Any) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def _rule_kind(t: Template, where: str, kind: str, spec: dict[str, Any]) -> Iterator[str]:
    if kind == "rows" and spec.get("group") not in t.groups:
        yield f"{where}: group '{spec.get('group')}' is not defined"
    if kind == "unique":
        names = known_names(t)
        yield from (f"{where}: names unknown field '{n}'" for n in spec.get("fields", []) if n not in names)
    for index, item in enumerate(spec.get("items", []) if kind == "exclusive" else []):
        if not isinstance(item, dict) or set(item) != {"field", "code"}:
            yield f'{where}: items[{index}] must be {{field = "...", code = "..."}}'
            continue
        f = t.fields.get(item["field"])
        codes = t.code_lists.get(f.code_list or "") if f is not None else None
        if f is not None and (f.type != "multi_enum" or codes is None or not codes.has(item["code"])):
            yield f"{where}: items[{index}]: '{item['code']}' is not a code of multi_enum field '{f.id}'"


def _dimension_problem(t: Template, name: str) -> str | None:
    """Return what is wrong with a breakdown member: unknown, or both a named filter and a field."""
    if name in t.breakdowns or name == NAMED_BREAKDOWN_MONTH:
        return None
    fields, filters = known_names(t), t.filters
    if name in filters and name in fields:
        return f"'{name}' is both a named filter and a field; rename the filter"
    if name not in filters and name not in fields:
        return f"'{name}' is neither a breakdown set, a named filter nor a field"
    return None


def _breakdowns(t: Template) -> Iterator[str]:
    for name, members in t.breakdowns.items():
        for m in members:
            if problem := _dimension_problem(t, m):
                yield f"breakdown '{name}': {problem}"
        if cycle := _cycle(name, lambda n: [m for m in t.breakdowns.get(n, ()) if m in t.breakdowns]):
            yield f"breakdown '{name}': names itself ({' -> '.join(cycle)})"


def _metric(
    t: Template, mid: str, kind: str, spec: dict[str, Any], breakdowns: tuple[str, ...]
) -> Iterator[str]:
    where = f"metric '{mid}'"
    names = known_names(t)
    for key in ("filter", "numerator", "denominator"):
        if key in spec:
            yield from (f"{where}: {key}: {p}" for p in condition_problems(t, spec[key], names))
    for key in ("distinct", "sum", "value", "start", "end"):
        yield from (f"{where}: {key}: unknown field '{n}'" for n in _as_list(spec.get(key)) if n not in names)
    if kind == "duration" and "value" not in spec and not ("start" in spec and "end" in spec):
        yield f"{where}: kind 'duration' needs start and end, or value"
    for b in breakdowns:
        if problem := _dimension_problem(t, b):
            yield f"{where}: breakdown {problem}"


def _namespace(t: Template) -> Iterator[str]:
    """Report payload names used twice (field, group, derived value, generalized output)."""
    owners: dict[str, str] = {}
    named = [*(f"field '{f}'" for f in t.fields), *(f"group '{g}'" for g in t.groups)]
    named += [f"derived '{d.id}'" for d in t.derived]
    named += [f"generalize output '{f.generalize.output}'" for f in t.fields.values() if f.generalize]
    for owner in named:
        name = owner.split("'")[1]
        if name in owners:
            yield f"{owner}: id is already used by {owners[name]}"
        owners.setdefault(name, owner)
