"""CSV exports: the de-identified state-shaped records, and for admins the full local records.

Columns and codes come from the template. The state export reads the payloads kept for
the dashboard (the very shaping the sync sends: `finalize.state_payload`): encounter
outputs in template order, then its derived values, then each person's outputs, one CSV
row per person (an encounter without people has one row). The full export has the
record's local bookkeeping, then every template field, pii included, decrypted.

Cells: codes and numbers as stored, lists joined with ";", booleans as true/false. A
field that may carry a NOT value or pertinent negative gets a companion column
`<column>_nv` with that code; its own column keeps the real value, if any. Text that a
spreadsheet would run as a formula is prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from app.crypto import Keys, open_answers
from app.dashboard import ReportRequest, load_payloads
from forms.metrics import person_group
from forms.model import Field, Template

LIST_SEPARATOR = ";"
NV_SUFFIX = "_nv"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
DAY_KINDS = ("local_date", "local_hour")
LOCAL_COLUMNS = (
    "record_id",
    "status",
    "revision",
    "record_version",
    "unit",
    "shift_id",
    "author",
    "updated_at",
)
EXCLUDED_STATUS = "voided"


@dataclass(frozen=True)
class Column:
    """One exported value: its CSV name (the key it is read from), its level, and its NOT-value companion."""

    name: str
    level: str
    companion: bool = False


def state_columns(template: Template, extended: frozenset[str] = frozenset()) -> list[Column]:
    """Return the state export's columns: what the payload may hold, in template order."""
    group = person_group(template)
    enabled = template.enabled_fields(extended)
    columns = [_output(f) for f in enabled if f.group is None and _sent(f)]
    columns += [
        Column(d.id, "encounter")
        for d in template.derived
        if d.level == "encounter" and _precise(template, d.kind)
    ]
    columns += _month_columns(template)
    if group is not None:
        columns += [_output(f) for f in enabled if f.group == group and _sent(f)]
        columns += [Column(d.id, group) for d in template.derived if d.level == group]
    return columns


def full_columns(template: Template, extended: frozenset[str] = frozenset()) -> list[Column]:
    """Return the full export's template columns: every enabled field, encounter fields first."""
    group = person_group(template)
    enabled = template.enabled_fields(extended)
    columns = [_field(f, f.id) for f in enabled if f.group is None]
    if group is not None:
        columns += [_field(f, f.id) for f in enabled if f.group == group]
    return columns


def header(columns: Iterable[Column], local: Iterable[str] = ()) -> list[str]:
    """Return the CSV header: local columns, then each column and its companion."""
    names = list(local)
    for column in columns:
        names += [column.name, column.name + NV_SUFFIX] if column.companion else [column.name]
    return names


def state_rows(
    db: sqlite_utils.Database,
    template: Template,
    request: ReportRequest,
    extended: frozenset[str] = frozenset(),
) -> Iterator[list[str]]:
    """Yield the state export's rows for the kept payloads in a range (voided records left out)."""
    columns = state_columns(template, extended)
    group = person_group(template) or ""
    for payload in load_payloads(db, request):
        if payload.get("record_status") != EXCLUDED_STATUS:
            yield from _rows(columns, payload, payload.get(group), [])


def count_records(db: sqlite_utils.Database, start: str, end: str, unit_id: int | None) -> int:
    """Return how many encounters the full export of a range holds."""
    where, params = _full_where(start, end, unit_id)
    return int(db.execute(f"SELECT count(*) FROM encounters e WHERE {where}", params).fetchone()[0])


def full_rows(
    db: sqlite_utils.Database,
    template: Template,
    keys: Keys,
    start: str,
    end: str,
    unit_id: int | None,
    extended: frozenset[str] = frozenset(),
) -> Iterator[list[str]]:
    """Yield the full export's rows: every encounter in the range, any status, decrypted."""
    columns = full_columns(template, extended)
    group = person_group(template) or ""
    where, params = _full_where(start, end, unit_id)
    cursor = db.execute(
        "SELECT e.id, e.status, e.revision, e.record_version, u.call_sign, e.shift_id, a.username,"
        " e.updated_at, e.answers FROM encounters e LEFT JOIN units u ON u.id = e.unit_id"
        f" LEFT JOIN users a ON a.id = e.created_by WHERE {where} ORDER BY e.encounter_date, e.created_at",
        params,
    )
    for row in cursor:
        answers = open_answers(json.loads(row[8]), keys, row[0])
        local = ["" if v is None else str(v) for v in row[:8]]
        yield from _rows(columns, answers, answers.get(group), local)


def csv_lines(names: list[str], rows: Iterable[list[str]]) -> Iterator[str]:
    """Yield CSV text line by line (header first), for streaming a download."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(names)
    yield _drain(buffer)
    for values in rows:
        writer.writerow(values)
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _full_where(start: str, end: str, unit_id: int | None) -> tuple[str, list[Any]]:
    where = "coalesce(e.encounter_date, substr(e.created_at, 1, 10)) BETWEEN ? AND ?"
    params: list[Any] = [start, end]
    if unit_id is not None:
        where, params = where + " AND e.unit_id = ?", [*params, unit_id]
    return where, params


def _rows(
    columns: list[Column], record: Mapping[str, Any], people: Any, local: list[str]
) -> Iterator[list[str]]:
    """Yield one row per person of a record (one row when it has none)."""
    persons = [p for p in people if isinstance(p, Mapping)] if isinstance(people, list) else []
    for person in persons or [{}]:
        values = list(local)
        for column in columns:
            source = record if column.level == "encounter" else person
            value, code = cell(source.get(column.name))
            values += [value, code] if column.companion else [value or code]
        yield values


def cell(value: Any) -> tuple[str, str]:
    """Return (real value, NOT/PN code) of a stored value as CSV text."""
    if isinstance(value, dict):
        code = value.get("nv") or value.get("pn") or ""
        return (_text(value["value"]) if "value" in value else ""), str(code)
    return _text(value), ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return LIST_SEPARATOR.join(_text(v) for v in value)
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(FORMULA_START) else text


def _sent(f: Field) -> bool:
    return f.to_state == "send" or (f.to_state == "generalize" and f.generalize is not None)


def _output(f: Field) -> Column:
    return _field(f, f.generalize.output if f.to_state == "generalize" and f.generalize else f.id)


def _field(f: Field, name: str) -> Column:
    level = "encounter" if f.group is None else f.group
    return Column(name, level, bool(f.not_values or f.pertinent_negatives))


def _precise(template: Template, kind: str) -> bool:
    month = template.parameters.get("date_precision") == "month"
    return kind not in DAY_KINDS if month else kind != "local_month"


def _month_columns(template: Template) -> list[Column]:
    """Return `<name>_month` columns the payload adds at month precision when no local month is defined."""
    derived = template.derived
    if template.parameters.get("date_precision") != "month" or any(d.kind == "local_month" for d in derived):
        return []
    names = [
        d.id.removesuffix("_date") + "_month"
        for d in derived
        if d.level == "encounter" and d.kind == "local_date" and d.id.endswith("_date")
    ]
    return [Column(n, "encounter") for n in names]
