"""The data-quality table counted from held columns equals a plain count over the records."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from app.dashboard import QUALITY_LEVELS, field_quality
from forms.conditions import evaluate
from forms.loader import load_shipped_template
from forms.metric_rows import MetricRows
from forms.metric_store import ColumnStore
from tests.forms.test_metrics import synthetic_records


def latest_counted(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for r in records:
        held = latest.get(r["encounter_id"])
        if held is None or held["record_version"] < r["record_version"]:
            latest[r["encounter_id"]] = r
    return [r for r in latest.values() if r["record_status"] in ("final", "amended")]


def by_hand(template: Any, base: list[dict[str, Any]]) -> dict[str, tuple[int, int, dict[str, int], int]]:
    """Return per field (rows in scope, NOT values, NOT value codes, blank recommended), one row at a time."""
    found = {}
    for f in template.fields.values():
        if f.usage not in QUALITY_LEVELS or f.to_state not in ("send", "generalize"):
            continue
        output = f.generalize.output if f.generalize else f.id
        rows = [(e, None) for e in base] if f.group is None else [(e, p) for e in base for p in e["persons"]]
        values = [(p if p is not None and output in p else e).get(output) for e, p in rows]
        if not f.core and all(v is None for v in values):
            continue
        scope = [
            v is not None or f.relevant is None or evaluate(f.relevant, e, template, p)
            for (e, p), v in zip(rows, values, strict=True)
        ]
        codes = Counter(v["nv"] for v in values if isinstance(v, dict) and "value" not in v and "nv" in v)
        blank = sum(1 for v, s in zip(values, scope, strict=True) if s and v in (None, "", []))
        found[f.id] = (sum(scope), sum(codes.values()), dict(codes), blank if f.usage == "Rec" else 0)
    return found


def test_the_quality_table_equals_a_row_by_row_count_over_a_period() -> None:
    template = load_shipped_template()
    records = synthetic_records(template, 500)
    for index, record in enumerate(records[::7]):  # recommended answers left blank, two ways
        for person in record["persons"]:
            if index % 2:
                person.pop("race_ethnicity", None)
            else:
                person["race_ethnicity"] = []
    store = ColumnStore(template)
    store.add(records)
    store.number_all()
    start, end = date(2026, 2, 1), date(2026, 9, 30)
    table = field_quality(MetricRows(store, store.base(start, end)))
    in_period = [
        r for r in latest_counted(records) if start.isoformat() <= r["encounter_date"] <= end.isoformat()
    ]
    expected = by_hand(template, in_period)
    assert {
        row["field"]: (row["n"], row["not_values"], row["codes"], row["missing"]) for row in table
    } == expected
    assert any(row["not_values"] for row in table) and any(row["missing"] for row in table)
