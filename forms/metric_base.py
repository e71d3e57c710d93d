"""The base set of metrics: the latest counted version of each encounter, in the period.

The latest `record_version` of each `encounter_id` is kept when its `record_status` is
`final` or `amended`; a voided (or draft) latest version drops the encounter. The period
is read from `encounter_date` (YYYY-MM-DD), or from `encounter_month` (YYYY-MM) for
records sent with month precision, kept when the month overlaps the period. Records
without a string `encounter_id` and an integer `record_version` are skipped and counted.
forms/metric_store.py holds records this way; these are its pure pieces.
"""

from __future__ import annotations

from collections import Counter
from itertools import compress
from operator import and_, not_
from typing import Any

COUNTED_STATUSES = frozenset({"final", "amended"})


def latest_versions(ids: list[Any], versions: list[Any], readable: list[bool]) -> list[bool]:
    """Return, per record, whether no record of its encounter has a higher version (the first wins a tie)."""
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
