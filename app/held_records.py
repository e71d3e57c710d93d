"""The dashboard's payloads held in memory as columns, brought up to date from `metric_records`.

Parsing every kept payload for each report would cost seconds for a large program, so a
process holds them once in a forms.metric_store.ColumnStore per database and template,
and before a report reads only the rows whose `seq` is above the last one it saw (every
insert or update of a kept payload takes the next `seq`, in the same transaction as its
record version). A store is read and brought up to date under its own lock, so a report
never sees half an update. The local unit of each payload (payloads carry only its
key) is held as the tag `unit_id`.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

import orjson
import sqlite_utils

from forms.metric_store import ColumnStore
from forms.model import Template

UNIT_TAG = "unit_id"
BATCH = 5000  # payloads parsed and added at a time
HELD_STORES = 4  # databases and templates held per process (tests open many)


class HeldRecords:
    """One database's kept payloads as a column store for one template."""

    def __init__(self, template: Template) -> None:
        self.store = ColumnStore(template, tags=(UNIT_TAG,))
        self.seq = 0
        self.lock = threading.Lock()

    def behind(self, db: sqlite_utils.Database) -> int:
        """Return how many kept payloads were added or changed since the store last read them."""
        return int(db.execute("SELECT count(*) FROM metric_records WHERE seq > ?", [self.seq]).fetchone()[0])

    def catch_up(self, db: sqlite_utils.Database) -> int:
        """Add the kept payloads added or changed since the last look (hold `lock`); return how many."""
        done = 0
        while True:
            rows = db.execute(
                "SELECT seq, unit_id, payload FROM metric_records WHERE seq > ? ORDER BY seq LIMIT ?",
                [self.seq, BATCH],
            ).fetchall()
            if not rows:
                return done
            payloads = [parse_payload(text) for _, _, text in rows]
            self.store.add(payloads, replace=True, tags={UNIT_TAG: [unit for _, unit, _ in rows]})
            self.store.number_all()  # from the first batch on, equal values are held once
            self.seq = rows[-1][0]
            done += len(rows)


def parse_payload(text: str) -> dict[str, Any]:
    """Return one kept payload parsed (orjson, three times faster; json for what orjson refuses, e.g. NaN)."""
    try:
        found: dict[str, Any] = orjson.loads(text)
    except orjson.JSONDecodeError:
        found = json.loads(text)
    return found


class HeldStores:
    """The held records of the databases and templates a process reports on, the most recent kept."""

    def __init__(self) -> None:
        self._held: OrderedDict[tuple[str, str, str], HeldRecords] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: str, template: Template) -> HeldRecords:
        """Return the held records of a database for a template, new and empty on first use."""
        key = (path, template.id, template.version)
        with self._lock:
            held = self._held.get(key)
            if held is None:
                held = self._held[key] = HeldRecords(template)
            self._held.move_to_end(key)
            while len(self._held) > HELD_STORES:
                self._held.popitem(last=False)
            return held
