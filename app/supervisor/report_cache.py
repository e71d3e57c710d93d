"""The dashboard's report cache: reports by question and data version, long work done in the background.

A report is cached per (database, range, unit, breakdown, exactness) with the data
version and the hour it was computed at; either changing makes it stale. Reports read
the payloads held in memory (app.held_records). A stale report is shown, marked, while
a single background worker brings the store up to date and computes the new one on its
own connection; the page refreshes itself. A question asked for the first time is
computed inline while few payloads wait to be read into memory (at most INLINE_RECORDS)
and few to be re-shaped; else in the background behind a "computing" notice. `warm`
starts reading the payloads into memory on a supervisor's first page, so that the first
report does not wait for a large program's payloads to be read.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from app import db as app_db
from app.dashboard import (
    Report,
    ReportRequest,
    build_report,
    data_version,
    prepare,
    refresh_payloads,
    stale_count,
)
from app.finalize import RecordContext
from app.held_records import HeldRecords, HeldStores
from forms.metrics import collector_paused
from forms.model import Template

log = logging.getLogger(__name__)

INLINE_RECORDS = 5000  # above this many payloads to read into memory, reports are computed in the background
INLINE_STALE = 500  # above this many records to re-shape, shaping also moves to the background
CACHE_SIZE = 32

Stamp = tuple[int, str]  # (data version, hour) a report was computed at


@dataclass(frozen=True)
class Outcome:
    """A report to show (or None yet), whether it covers every record, and whether one is computing."""

    report: Report | None
    fresh: bool
    computing: bool = False


class ReportCache:
    """Reports by question and data version, computed inline when small and in the background when large."""

    def __init__(self) -> None:
        self._reports: OrderedDict[tuple[Any, ...], tuple[Stamp, Report]] = OrderedDict()
        self._lock = threading.Lock()
        self._running: dict[tuple[Any, ...], Future[None]] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crewlog-dashboard")
        self.held = HeldStores()
        self._warmed: set[tuple[str, ...]] = set()

    def outcome(
        self,
        db: sqlite_utils.Database,
        path: str,
        template: Template,
        request: ReportRequest,
        ctx: RecordContext,
        now: datetime,
    ) -> Outcome:
        """Return the report for a question: fresh, or the last one while a newer one computes."""
        stale = stale_count(db)
        if 0 < stale <= INLINE_STALE:
            refresh_payloads(db, ctx)
            stale = 0
        key = (path, *request.key())
        stamp = (data_version(db), _hour(now))
        with self._lock:
            held = self._reports.get(key)
        if held is not None and held[0] == stamp and not stale:
            return Outcome(held[1], fresh=True)
        records = self.held.get(path, template)
        if (
            held is None
            and not stale
            and records.behind(db) <= INLINE_RECORDS
            and records.lock.acquire(blocking=False)
        ):
            try:
                report = _report(db, records, request, now)
            finally:
                records.lock.release()
            self._store(key, stamp, report)
            return Outcome(report, fresh=True)
        self._start(key, path, template, request, ctx, now)
        return Outcome(held[1] if held else None, fresh=False, computing=True)

    def _store(self, key: tuple[Any, ...], stamp: Stamp, report: Report) -> None:
        with self._lock:
            self._reports[key] = (stamp, report)
            self._reports.move_to_end(key)
            while len(self._reports) > CACHE_SIZE:
                self._reports.popitem(last=False)

    def _start(
        self,
        key: tuple[Any, ...],
        path: str,
        template: Template,
        request: ReportRequest,
        ctx: RecordContext,
        now: datetime,
    ) -> None:
        with self._lock:
            self._running = {k: job for k, job in self._running.items() if not job.done()}
            if key in self._running:
                return
            self._running[key] = self._pool.submit(self._compute, key, path, template, request, ctx, now)

    def _compute(
        self,
        key: tuple[Any, ...],
        path: str,
        template: Template,
        request: ReportRequest | None,
        ctx: RecordContext,
        now: datetime,
    ) -> None:
        """Re-shape what is stale, bring the held payloads up to date and compute one report (if asked)."""
        db = app_db.connect(path)
        try:
            refresh_payloads(db, ctx)
            stamp = (data_version(db), _hour(now))
            records = self.held.get(path, template)
            with records.lock, collector_paused():
                records.catch_up(db)
                records.store.number_all()
                if request is None:
                    prepare(records.store, now)
                else:
                    self._store(key, stamp, _report(db, records, request, now))
        except Exception:
            log.exception("the dashboard report for %s could not be computed", key[1:])
        finally:
            db.conn.close()

    def warm(self, path: str, template: Template, ctx: RecordContext) -> None:
        """Start reading a database's kept payloads into memory in the background (once per process)."""
        key = (path, "warm", template.id, template.version)
        with self._lock:
            if key not in self._warmed:
                self._warmed.add(key)
                self._running[key] = self._pool.submit(
                    self._compute, key, path, template, None, ctx, datetime.now()
                )

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the background reports started so far (benchmarks and tests)."""
        with self._lock:
            running = list(self._running.values())
        for future in running:
            future.result(timeout=timeout)


def _report(db: sqlite_utils.Database, records: HeldRecords, request: ReportRequest, now: datetime) -> Report:
    """Bring the held payloads up to date and compute a report over them (hold `records.lock`)."""
    with collector_paused():
        records.catch_up(db)
        return build_report(records.store, request, now)


def _hour(now: datetime) -> str:
    """Return the hour a report was computed in (pending metrics move on with time)."""
    return now.strftime("%Y-%m-%dT%H")


reports = ReportCache()
