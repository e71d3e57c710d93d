"""The column store behind the metrics: kept current record by record, it gives the same numbers."""

from __future__ import annotations

import copy
import random
from datetime import date, datetime
from typing import Any

import pytest

from forms.frozen import freeze
from forms.loader import load_shipped_template
from forms.metric_store import LARGE, SMALL, Column, ColumnStore
from forms.metrics import MetricError, compute_held, compute_metrics
from forms.model import Template
from tests.forms.test_metrics import synthetic_records

NOW = datetime(2027, 6, 1, 12, 0)


@pytest.fixture(scope="module")
def shipped() -> Template:
    return load_shipped_template()


@pytest.fixture(scope="module")
def records(shipped: Template) -> list[dict[str, Any]]:
    return synthetic_records(shipped, 800)


def figures(result: dict[str, Any]) -> dict[str, Any]:
    """Return a result without what may differ between two computations of the same numbers."""
    period = {k: v for k, v in result["period"].items() if k not in ("records", "skipped_records")}
    return {"period": period, "metrics": result["metrics"]}


def test_a_store_filled_in_chunks_in_any_order_gives_the_numbers_of_one_computation(
    shipped: Template, records: list[dict[str, Any]]
) -> None:
    expected = compute_metrics(shipped, records, now=NOW, breakdowns=True, suppress=False)
    shuffled = records[:]
    random.Random(3).shuffle(shuffled)
    store = ColumnStore(shipped)
    for start in range(0, len(shuffled), 150):
        store.add(shuffled[start : start + 150])
    held = compute_held(store, now=NOW, breakdowns=True, suppress=False)
    assert figures(held) == figures(expected)
    assert held["period"]["records"] == len(records)
    assert held["period"]["encounters"] > 700


def test_reports_over_other_dates_reuse_the_store_and_match_a_fresh_computation(
    shipped: Template, records: list[dict[str, Any]]
) -> None:
    store = ColumnStore(shipped)
    store.add(records)
    for start, end in [(date(2026, 1, 1), date(2026, 3, 31)), (date(2026, 6, 1), date(2026, 6, 30))]:
        held = compute_held(store, start=start, end=end, now=NOW, breakdowns=True)
        fresh = compute_metrics(shipped, records, start=start, end=end, now=NOW, breakdowns=True)
        assert figures(held) == figures(fresh)
        assert 0 < held["period"]["encounters"] < 700


def test_a_higher_version_replaces_the_encounter_and_its_person_rows(
    shipped: Template, records: list[dict[str, Any]]
) -> None:
    first = copy.deepcopy(records[0])
    first["record_version"], first["record_status"] = 1, "final"
    second = copy.deepcopy(first)
    second["record_version"], second["record_status"] = 2, "amended"
    second["persons"] = second["persons"][:1] + copy.deepcopy(second["persons"][:1])
    second["persons"][1]["person_seq"] = 2
    store = ColumnStore(shipped)
    store.add([first])
    store.add([second])
    held = compute_held(store, now=NOW, suppress=False)
    assert held["period"]["encounters"] == 1
    assert held["period"]["persons"] == 2
    assert figures(held) == figures(compute_metrics(shipped, [first, second], now=NOW, suppress=False))


def test_an_older_version_arriving_late_is_ignored_unless_the_caller_says_it_is_current(
    shipped: Template, records: list[dict[str, Any]]
) -> None:
    newer = {**records[0], "record_version": 3, "record_status": "voided"}
    older = {**records[0], "record_version": 2, "record_status": "amended"}
    store = ColumnStore(shipped)
    store.add([newer])
    store.add([older])
    assert compute_held(store, now=NOW)["period"]["encounters"] == 0  # the void stands
    store.add([older], replace=True)
    assert compute_held(store, now=NOW)["period"]["encounters"] == 1


def test_tags_choose_the_rows_of_one_local_unit(shipped: Template, records: list[dict[str, Any]]) -> None:
    sample = records[:200]
    units = [int(r["encounter_id"][:4], 16) % 3 for r in sample]  # every version of an encounter: one unit
    store = ColumnStore(shipped, tags=("unit_id",))
    store.add(sample, tags={"unit_id": units})
    mine = [r for r, unit in zip(sample, units, strict=True) if unit == 1]
    held = compute_held(store, now=NOW, suppress=False, tags={"unit_id": 1})
    assert figures(held) == figures(compute_metrics(shipped, mine, now=NOW, suppress=False))


def test_records_that_are_not_objects_or_lack_an_id_are_counted_as_skipped(
    shipped: Template, records: list[dict[str, Any]]
) -> None:
    store = ColumnStore(shipped)
    store.add([records[0], "not a record", {"record_version": 1}, {**records[1], "record_version": "2"}])  # type: ignore[list-item]
    period = compute_held(store, now=NOW)["period"]
    assert (period["records"], period["skipped_records"], period["encounters"]) == (4, 3, 1)


def test_a_store_without_the_fields_a_report_reads_is_a_clear_error(shipped: Template) -> None:
    store = ColumnStore(shipped, names={"encounter_date"})
    with pytest.raises(MetricError, match="the store does not hold the fields .*police_co_dispatched"):
        compute_held(store, now=NOW)


def test_codes_stay_true_to_the_values_as_a_column_grows_past_one_byte_and_then_past_numbering() -> None:
    column = Column()
    column.extend(["a", ["x", "y"], {"nv": "not_recorded"}, None])
    assert column.number() is not None
    for start in range(0, LARGE + 100, 1000):
        column.extend([f"value {n}" for n in range(start, start + 1000)])
        if column.codes is not None:
            assert len(column.distinct) > SMALL or isinstance(column.codes, bytearray)
            assert all(
                column.distinct[c] == freeze(v) for c, v in zip(column.codes, column.values, strict=True)
            )
    column.set(1, ["y"])
    assert column.codes is None  # more distinct values than numbering pays for
    assert column.values[1] == ["y"]


def test_a_numbered_column_holds_equal_values_once_and_never_mixes_booleans_with_numbers() -> None:
    column = Column()
    column.extend([["a", "b"], ["a", "b"], {"nv": "not_recorded"}])
    column.number()
    column.extend([["a", "b"]])
    assert column.values[0] is column.values[1] is column.values[3]
    assert column.values == [["a", "b"], ["a", "b"], {"nv": "not_recorded"}, ["a", "b"]]
    mixed = Column()
    mixed.extend([1, 2])
    assert mixed.number() is not None
    mixed.extend([True])
    assert mixed.codes is None  # True == 1 would have shared its code
    assert mixed.values == [1, 2, True] and mixed.values[2] is True
