"""Select the base set of metrics: the latest counted version of each encounter in the period.

The latest `record_version` of each `encounter_id` is kept when its `record_status` is
`final` or `amended`; a voided (or draft) latest version drops the encounter. The period
is read from `encounter_date` (YYYY-MM-DD), or from `encounter_month` (YYYY-MM) for
records sent with month precision, kept when the month overlaps the period. Records
without a string `encounter_id` and an integer `record_version` are skipped and counted.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from itertools import compress
from operator import and_, not_
from typing import Any

from forms.breakdown_cells import PERIOD_DATE, PERIOD_MONTH
from forms.metric_read import Walked, walk

log = logging.getLogger(__name__)

COUNTED_STATUSES = frozenset({"final", "amended"})
BASE_FIELDS = ("encounter_id", "record_version", "record_status", PERIOD_DATE, PERIOD_MONTH)
Record = Mapping[str, Any]


def read_records(records: Iterable[Record], names: Iterable[str] = ()) -> tuple[Walked, int]:
    """Walk every record once for the base-set fields and `names`; also count non-objects."""
    given = records if isinstance(records, list) else list(records)
    rows = given if set(map(type, given)) <= {dict} else [r for r in given if isinstance(r, Mapping)]
    return walk(rows, {*BASE_FIELDS, *names}), len(given) - len(rows)


def select_base(walked: Walked, start: date | None = None, end: date | None = None) -> tuple[Walked, int]:
    """Return the base set of walked records and how many lacked an id or version."""
    ids, versions = walked.columns["encounter_id"], walked.columns["record_version"]
    readable = [True] * len(ids)
    if not (set(map(type, ids)) <= {str} and set(map(type, versions)) <= {int}):
        readable = [type(i) is str and type(v) is int for i, v in zip(ids, versions, strict=True)]
    keep = list(map(and_, readable, latest_versions(ids, versions, readable)))
    keep = list(map(and_, keep, map(COUNTED_STATUSES.__contains__, walked.columns["record_status"])))
    if start is not None or end is not None:
        window = Window(start.isoformat() if start else "", end.isoformat() if end else "9999-12-31")
        keep = list(map(and_, keep, window.mask(walked.columns[PERIOD_DATE], walked.columns[PERIOD_MONTH])))
    skipped = readable.count(False)
    if skipped:
        log.warning("metrics skipped %d records without an encounter_id and record_version", skipped)
    return walked.select(keep), skipped


def base_set(
    records: Iterable[Record], start: date | None = None, end: date | None = None
) -> tuple[list[Record], int]:
    """Return the base set (latest final/amended versions in the period) and the unreadable count."""
    walked, odd = read_records(records)
    chosen, skipped = select_base(walked, start, end)
    return chosen.rows, odd + skipped


def latest_versions(ids: list[Any], versions: list[Any], readable: list[bool]) -> list[bool]:
    """Return, per record, whether no other record of its encounter has a higher version."""
    counts = Counter(compress(ids, readable))
    if len(counts) == readable.count(True):
        return [True] * len(ids)
    repeated = {key for key, n in counts.items() if n > 1}
    shared = list(map(and_, readable, map(repeated.__contains__, ids)))
    best: dict[str, int] = {}
    for index in compress(range(len(ids)), shared):
        held = best.get(ids[index])
        if held is None or versions[held] < versions[index]:
            best[ids[index]] = index
    keep = list(map(not_, shared))
    for index in best.values():
        keep[index] = True
    return keep


class Window(dict[Any, bool]):
    """Whether an encounter date falls within [low, high] (ISO strings), memoized per date."""

    def __init__(self, low: str, high: str) -> None:
        super().__init__()
        self.low, self.high = low, high

    def __missing__(self, day: Any) -> bool:
        self[day] = inside = isinstance(day, str) and self.low <= day <= self.high
        return inside

    def mask(self, dates: list[Any], months: list[Any]) -> list[bool]:
        """Return, per record, whether its date (or month, without a date) is in the window."""
        inside = list(map(self.__getitem__, dates))
        if None not in dates:
            return inside
        return [i or (d is None and self.month(m)) for i, d, m in zip(inside, dates, months, strict=True)]

    def month(self, month: Any) -> bool:
        """Return whether a month (YYYY-MM, for records dated by month only) overlaps the window."""
        return isinstance(month, str) and self.low[:7] <= month <= self.high[:7]
