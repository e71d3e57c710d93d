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
from forms.metric_rows import read_field

log = logging.getLogger(__name__)

COUNTED_STATUSES = frozenset({"final", "amended"})
Record = Mapping[str, Any]


def base_set(
    records: Iterable[Record], start: date | None = None, end: date | None = None
) -> tuple[list[Record], int]:
    """Return the base set (latest final/amended versions in the period) and the unreadable count."""
    given = records if isinstance(records, list) else list(records)
    rows = given if set(map(type, given)) <= {dict} else [r for r in given if isinstance(r, Mapping)]
    ids, versions = read_field(rows, "encounter_id"), read_field(rows, "record_version")
    if not (set(map(type, ids)) <= {str} and set(map(type, versions)) <= {int}):
        keep = [type(i) is str and type(v) is int for i, v in zip(ids, versions, strict=True)]
        rows, ids, versions = (list(compress(x, keep)) for x in (rows, ids, versions))
    skipped = len(given) - len(rows)
    if skipped:
        log.warning("metrics skipped %d records without an encounter_id and record_version", skipped)
    rows = latest_versions(rows, ids, versions)
    counted = list(map(COUNTED_STATUSES.__contains__, read_field(rows, "record_status")))
    if start is not None or end is not None:
        window = Window(start.isoformat() if start else "", end.isoformat() if end else "9999-12-31")
        counted = list(map(and_, counted, window.mask(rows)))
    return list(compress(rows, counted)), skipped


def latest_versions(rows: list[Record], ids: list[str], versions: list[int]) -> list[Record]:
    """Return the rows without superseded versions, in their original order."""
    counts = Counter(ids)
    if len(counts) == len(ids):
        return rows
    repeated = {key for key, n in counts.items() if n > 1}
    shared = list(map(repeated.__contains__, ids))
    best: dict[str, int] = {}
    for index in compress(range(len(ids)), shared):
        held = best.get(ids[index])
        if held is None or versions[held] < versions[index]:
            best[ids[index]] = index
    keep = list(map(not_, shared))
    for index in best.values():
        keep[index] = True
    return list(compress(rows, keep))


class Window(dict[Any, bool]):
    """Whether an encounter date falls within [low, high] (ISO strings), memoized per date."""

    def __init__(self, low: str, high: str) -> None:
        super().__init__()
        self.low, self.high = low, high

    def __missing__(self, day: Any) -> bool:
        self[day] = inside = isinstance(day, str) and self.low <= day <= self.high
        return inside

    def mask(self, rows: list[Record], dates: list[Any] | None = None) -> list[bool]:
        """Return, per record, whether its date (or month, without a date) is in the window."""
        dates = read_field(rows, PERIOD_DATE) if dates is None else dates
        inside = list(map(self.__getitem__, dates))
        if None not in dates:
            return inside
        return [i or (d is None and self.month(r)) for i, d, r in zip(inside, dates, rows, strict=True)]

    def month(self, record: Record) -> bool:
        """Return whether a record dated by month only overlaps the window."""
        month = record.get(PERIOD_MONTH)
        return isinstance(month, str) and self.low[:7] <= month <= self.high[:7]
