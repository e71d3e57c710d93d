"""Describe a template for people: a summary, and what changed between two versions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

from forms.model import Field, Template

FIELD_ATTRIBUTES = ("type", "usage", "tier", "section", "code_list", "privacy", "to_state", "relevant",
                    "not_values", "pertinent_negatives", "min", "max", "pattern", "max_length")  # fmt: skip


def summarize(template: Template) -> str:
    """Return a short summary: sections, fields core/extended, code lists, rules, metrics."""
    fields = list(template.fields.values())
    core = sum(f.core for f in fields)
    per_row = Counter(f.group for f in fields if f.group)
    lists = template.code_lists.values()
    kinds = Counter(nv.kind for nv in template.not_values.values())
    severities = ", ".join(f"{n} {s}" for s, n in sorted(Counter(r.severity for r in template.rules).items()))
    groups = [f"{g.id} ({g.min_rows}-{g.max_rows} rows)" for g in template.groups.values()]
    rows = "".join(f", {n} per row of {g}" for g, n in per_row.items())
    return "\n".join(
        [
            f"{template.id} {template.version}: {template.title} (effective {template.effective_date})",
            f"Sections: {len(template.sections)} ({', '.join(s.title for s in template.sections)})",
            f"Fields: {len(fields)} ({core} core, {len(fields) - core} extended); "
            f"{len(fields) - sum(per_row.values())} per encounter{rows}",
            f"Repeat groups: {', '.join(groups) or 'none'}",
            f"Code lists: {len(lists)} ({sum(c.external for c in lists)} external, "
            f"{sum(len(c.codes) for c in lists)} codes)",
            f"NOT values: {kinds['not']}; pertinent negatives: {kinds['pn']}",
            f"Named filters: {len(template.filters)}; derived values: {len(template.derived)}; "
            f"parameters: {len(template.parameters)}",
            f"Rules: {len(template.rules)} ({severities})",
            f"Metrics: {len(template.metrics)}; breakdown sets: {len(template.breakdowns)}",
        ]
    )


def diff_templates(old: Template, new: Template) -> list[str]:
    """Return one line per change from old to new: fields, codes, rules, metrics."""
    changes = []
    if (old.id, old.version) != (new.id, new.version):
        changes.append(f"template: {old.id} {old.version} -> {new.id} {new.version}")
    changes += _added_removed("field", old.fields, new.fields, _field_text)
    for fid in [f for f in new.fields if f in old.fields]:
        changes += _field_changes(old.fields[fid], new.fields[fid])
    changes += _code_changes(old, new)
    changes += _added_removed("NOT value", old.not_values, new.not_values, lambda v: f"{v.kind}")
    changes += _changed("parameter", old.parameters, new.parameters)
    changes += _changed("named filter", old.filters, new.filters)
    changes += _entries("rule", _rules(old), _rules(new), lambda r: f"{r['severity']} {r['kind']}")
    changes += _entries("metric", _metrics(old), _metrics(new), lambda m: f"{m['kind']} per {m['unit']}")
    return changes


def _rules(template: Template) -> dict[str, dict[str, Any]]:
    return {r.id: {"severity": r.severity, "kind": r.kind, "level": r.level, "message": r.message,
                   "check": r.spec} for r in template.rules}  # fmt: skip


def _metrics(template: Template) -> dict[str, dict[str, Any]]:
    return {m.id: {"kind": m.kind, "unit": m.unit, "label": m.label, "definition": m.spec,
                   "breakdowns": m.breakdowns} for m in template.metrics}  # fmt: skip


def _entries(kind: str, old: Mapping[str, Any], new: Mapping[str, Any], text: Any) -> Iterator[str]:
    """Report entries added, removed, and each changed attribute of the others."""
    yield from _added_removed(kind, old, new, text)
    for key in [k for k in new if k in old]:
        for name, after in new[key].items():
            before = old[key][name]
            if before != after:
                shown = "changed" if isinstance(after, dict) else f"{_shown(before)} -> {_shown(after)}"
                yield f"{kind} '{key}': {name} {shown}"


def _field_text(f: Field) -> str:
    return f"{f.type}, {f.usage}, {f.tier}"


def _added_removed(kind: str, old: Mapping[str, Any], new: Mapping[str, Any], text: Any) -> Iterator[str]:
    for key in sorted(new.keys() - old.keys()):
        yield f"{kind} added: '{key}' ({text(new[key])})"
    for key in sorted(old.keys() - new.keys()):
        yield f"{kind} removed: '{key}'"


def _field_changes(old: Field, new: Field) -> Iterator[str]:
    for name in FIELD_ATTRIBUTES:
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            yield f"field '{new.id}': {name} {_shown(before)} -> {_shown(after)}"


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(value) + "]"
    return "none" if value is None else str(value)


def _code_changes(old: Template, new: Template) -> Iterator[str]:
    yield from _added_removed("code list", old.code_lists, new.code_lists, lambda c: f"{len(c.codes)} codes")
    for lid in sorted(old.code_lists.keys() & new.code_lists.keys()):
        before = {c.code: c.label for c in old.code_lists[lid].codes}
        after = {c.code: c.label for c in new.code_lists[lid].codes}
        yield from (f"code list '{lid}': code added '{c}'" for c in after if c not in before)
        yield from (f"code list '{lid}': code removed '{c}'" for c in before if c not in after)
        for code in [c for c in after if c in before]:
            if before[code] != after[code]:
                yield f"code list '{lid}': code '{code}' relabelled '{before[code]}' -> '{after[code]}'"


def _changed(kind: str, old: Mapping[str, Any], new: Mapping[str, Any], text: Any = str) -> Iterator[str]:
    yield from _added_removed(kind, old, new, text)
    for key in sorted(old.keys() & new.keys()):
        if old[key] != new[key]:
            yield f"{kind} '{key}' changed: {_short(old[key])} -> {_short(new[key])}"


def _short(value: Any, limit: int = 80) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
