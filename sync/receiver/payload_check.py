"""Validate a de-identified payload at the state: keys, codes, types, required sent fields, and rules.

Everything comes from the template: the payload spec (sync.receiver.payload_spec) and the rules,
whose conditions run through forms.conditions. Rules that read values the state never receives
(exact times, for instance) are checked on the device only and skipped here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from forms.conditions import compile_condition
from forms.model import Rule, Template
from forms.stored import decode, is_set
from sync.receiver.payload_spec import ENCOUNTER, PayloadSpec, Slot, build_spec, condition_names

Message = dict[str, Any]
Record = Mapping[str, Any]
Rows = dict[str, list[tuple[Record | None, str]]]
RecordCheck = Callable[[Record, Rows], list[Message]]
UUID_PATTERN = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
ENVELOPE = ("encounter_id", "record_version", "template_id", "template_version", "record_status", "agency_id")
RULE_KINDS_AT_STATE = ("require", "subset", "exclusive", "rows")
MEMO_LIMIT = 200_000
_ABSENT: Any = object()
_NUMBERS = (bool, int, float)


def message(severity: str, field: str | None, text: str, rule: str) -> Message:
    """Return one message as the contract shapes it."""
    return {"severity": severity, "field": field, "message": text, "rule": rule}


class PayloadChecker:
    """Checks records of one template version."""

    def __init__(self, template: Template) -> None:
        self.template = template
        self.spec: PayloadSpec = build_spec(template)
        self.compiled: dict[str, Callable[[Record, Record | None], bool]] = {}
        schema_rule = next((r for r in template.rules if r.kind == "schema"), None)
        self.severity = schema_rule.severity if schema_rule else "FATAL"
        self.rule_id = schema_rule.id if schema_rule else "schema"
        slots = self.spec.slots.values()
        self.required = [s for s in slots if s.sent_as_is and s.core and s.usage in ("M", "R")]
        self.required_at = {
            level: [s for s in self.required if s.level == level] for level in (ENCOUNTER, *template.groups)
        }
        self.relevance = {s.id: self._compile(s.relevant) for s in self.required if s.relevant}
        self.memo: dict[tuple[str, str, type, Any], str | None] = {}
        self.rules = [r for r in template.rules if r.kind in RULE_KINDS_AT_STATE and self._checkable(r)]
        self.rule_checks = [_RULE_CHECKS[r.kind](self, r) for r in self.rules]

    def check(self, record: Record) -> list[Message]:
        """Return every problem of a record that passed the envelope check."""
        found = self._keys(record, ENCOUNTER, "")
        for group in self.template.groups:
            rows = record.get(group, [])
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                found.append(self._bad(group, "must be a list of objects"))
                continue
            for index, row in enumerate(rows):
                found += self._keys(row, group, f"{group}[{index}].")
        if found or record.get("record_status") == "voided":
            return found
        found += self._required(record, None, ENCOUNTER, "")
        for group in self.template.groups:
            for index, row in enumerate(record.get(group, [])):
                found += self._required(record, row, group, f"{group}[{index}].")
        return found + self._rules(record)

    def _bad(self, path: str, problem: str, label: str | None = None) -> Message:
        where = f"{label} ({path})" if label else path
        return message(self.severity, path, f"{where}: {problem}", self.rule_id)

    def _keys(self, obj: Record, level: str, prefix: str) -> list[Message]:
        found = []
        for key, value in obj.items():
            if level == ENCOUNTER and key in self.template.groups:
                continue
            problem = self._key_problem(key, value, level)
            if problem:
                slot = self.spec.slots.get(key)
                found.append(self._bad(prefix + key, problem, slot.label if slot else None))
        return found

    def _key_problem(self, key: str, value: Any, level: str) -> str | None:
        # Codes repeat across records: remember each (key, value) verdict.
        kind = type(value)
        if kind is dict:
            return self._judge(key, value, level)
        memo_key = (level, key, kind, tuple(value) if kind is list else value)
        try:
            return self.memo[memo_key]
        except KeyError:
            if len(self.memo) > MEMO_LIMIT:
                self.memo.clear()
            verdict = self.memo[memo_key] = self._judge(key, value, level)
            return verdict
        except TypeError:  # unhashable items: judge without remembering
            return self._judge(key, value, level)

    def _judge(self, key: str, value: Any, level: str) -> str | None:
        slot = self.spec.slots.get(key)
        if slot is None:
            if key in self.spec.never:
                return "is never sent to the state (identifying or not shared); remove it"
            return "is not a field of this template's payload"
        if slot.level != level:
            return f"belongs to {'the encounter' if slot.level == ENCOUNTER else slot.level + ' rows'}"
        return encoding_problem(slot, value)

    def _required(self, record: Record, row: Record | None, level: str, prefix: str) -> list[Message]:
        found = []
        values = row if row is not None else record
        for slot in self.required_at[level]:
            value = values.get(slot.id, _ABSENT)
            if value is not _ABSENT and (slot.usage != "M" or _real(value)):
                continue
            relevant = self.relevance.get(slot.id)
            if relevant is None or relevant(record, row):
                problem = "required" if value is _ABSENT else "needs a real value"
                found.append(self._bad(prefix + slot.id, problem, slot.label))
        return found

    def _compile(self, cond: Any) -> Callable[[Record, Record | None], bool]:
        key = json.dumps(cond, sort_keys=True)
        if key not in self.compiled:
            names = set(condition_names(cond, self.template.filters))
            if all(self.spec.level_of(n) is not None for n in names):
                self.compiled[key] = compile_condition(cond, self.template)
            else:  # reads values the state never gets: not checkable here
                self.compiled[key] = lambda values, row: False
        return self.compiled[key]

    def _checkable(self, rule: Rule) -> bool:
        names = set(condition_names(rule.spec.get("when"), self.template.filters))
        names |= set(condition_names(rule.spec.get("then"), self.template.filters))
        names |= {rule.spec[k] for k in ("field", "of") if isinstance(rule.spec.get(k), str)}
        names |= {str(i.get("field")) for i in rule.spec.get("items", []) if isinstance(i, dict)}
        group = rule.spec.get("group")
        if isinstance(group, str):
            names |= set(condition_names(self.template.groups[group].relevant, self.template.filters))
        return all(self.spec.level_of(str(n)) is not None for n in names)

    def _rules(self, record: Record) -> list[Message]:
        rows: Rows = {ENCOUNTER: [(None, "")]}
        for group in self.template.groups:
            rows[group] = [(row, f"{group}[{i}].") for i, row in enumerate(record.get(group, []))]
        found: list[Message] = []
        for check in self.rule_checks:
            found += check(record, rows)
        return found


def _real(value: Any) -> bool:
    kind = type(value)
    if kind in _NUMBERS:
        return True
    return bool(value) if kind is str or kind is list else is_set(value)


def encoding_problem(slot: Slot, value: Any) -> str | None:
    """Return what is wrong with a stored value (plain, NOT value, PN or qualified), or None."""
    if value is None:
        return "is null; leave the field out instead"
    if not isinstance(value, dict):
        return slot.check(value)
    keys = set(value)
    if not all(isinstance(value.get(k, ""), str) for k in ("nv", "pn")):
        return "NOT value and pertinent negative codes must be text"
    if keys == {"nv"}:
        ok = value["nv"] in slot.not_values
        return None if ok else f"NOT value {value['nv']!r} is not allowed here"
    if keys in ({"pn"}, {"value", "pn"}):
        if value["pn"] not in slot.pertinent_negatives:
            return f"pertinent negative {value['pn']!r} is not allowed here"
        return slot.check(value["value"]) if "value" in value else None
    return "has an unknown shape (use a value, {nv}, {pn} or {value, pn})"


def _require(checker: PayloadChecker, rule: Rule) -> RecordCheck:
    when = checker._compile(rule.spec["when"]) if rule.spec.get("when") else None
    then = checker._compile(rule.spec["then"])
    target = next(iter(condition_names(rule.spec["then"], checker.template.filters)), None)

    def check(record: Record, rows: Rows) -> list[Message]:
        return [
            message(rule.severity, prefix + target if target else None, rule.message, rule.id)
            for row, prefix in rows[rule.level]
            if (when is None or when(record, row)) and not then(record, row)
        ]

    return check


def _subset(checker: PayloadChecker, rule: Rule) -> RecordCheck:
    name, of = rule.spec["field"], rule.spec["of"]

    def check(record: Record, rows: Rows) -> list[Message]:
        found = []
        for row, prefix in rows[rule.level]:
            values = row if row is not None else record
            if not is_set(values.get(name)):
                continue
            pool = decode(values.get(of))[0] if is_set(values.get(of)) else []
            if decode(values[name])[0] not in (pool if isinstance(pool, list) else [pool]):
                found.append(message(rule.severity, prefix + name, rule.message, rule.id))
        return found

    return check


def _exclusive(checker: PayloadChecker, rule: Rule) -> RecordCheck:
    items = [
        (item["field"], item["code"], str(checker.spec.level_of(item["field"])))
        for item in rule.spec.get("items", [])
    ]

    def check(record: Record, rows: Rows) -> list[Message]:
        found = []
        for name, code, level in items:
            for row, prefix in rows[level]:
                value = (row if row is not None else record).get(name)
                if isinstance(value, list) and code in value and len(value) > 1:
                    found.append(message(rule.severity, prefix + name, rule.message, rule.id))
        return found

    return check


def _rows(checker: PayloadChecker, rule: Rule) -> RecordCheck:
    group = checker.template.groups[rule.spec["group"]]
    relevant = checker._compile(group.relevant) if group.relevant else None

    def check(record: Record, rows: Rows) -> list[Message]:
        count = len(rows[group.id])
        if relevant is None or relevant(record, None):
            ok = group.min_rows <= count <= group.max_rows
        else:
            ok = count == 0
        return [] if ok else [message(rule.severity, group.id, rule.message, rule.id)]

    return check


_RULE_CHECKS: dict[str, Callable[[PayloadChecker, Rule], RecordCheck]] = {
    "require": _require,
    "subset": _subset,
    "exclusive": _exclusive,
    "rows": _rows,
}


def envelope_problems(record: Any, agency_id: str | None) -> list[Message]:
    """Return what is wrong with a record's identity fields (checked before anything else)."""
    if not isinstance(record, dict):
        return [message("FATAL", None, "each record must be a JSON object", "envelope")]
    found = [message("FATAL", k, f"{k} is required", "envelope") for k in ENVELOPE if k not in record]
    if found:
        return found
    version = record["record_version"]
    found += [
        message("FATAL", k, f"{k} must be text", "envelope")
        for k in ENVELOPE
        if k != "record_version" and not isinstance(record[k], str)
    ]
    if isinstance(record["encounter_id"], str) and not UUID_PATTERN.fullmatch(record["encounter_id"]):
        found.append(message("FATAL", "encounter_id", "encounter_id must be a UUID", "envelope"))
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        found.append(
            message(
                "FATAL", "record_version", "record_version must be a whole number of 1 or more", "envelope"
            )
        )
    if agency_id is not None and record["agency_id"] != agency_id:
        found.append(message("FATAL", "agency_id", "agency_id differs from the batch's agency", "envelope"))
    return found
