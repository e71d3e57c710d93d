"""One sync worker: drain the outbox to the state under a lease, back off on failure, pull templates."""

from __future__ import annotations

import logging
import random
import time
import uuid
from pathlib import Path
from typing import Any

import sqlite_utils

from sync import lease
from sync.client import AdminActionNeeded, Limits, StateClient, SyncFailure
from sync.delivery import AuditHook, BatchOutcome, DrainReport, deliver, full_jitter
from sync.outbox import claim_due, create_outbox_tables, settle
from sync.settings import SyncSettings
from sync.status import get_value, set_values
from sync.storage import immediate, open_database
from sync.template_pull import pull_template

log = logging.getLogger(__name__)
ENVELOPE_BYTES = 1024


class Worker:
    """One sync worker bound to a database file; safe to run in several processes at once."""

    def __init__(
        self,
        db_path: str | Path,
        settings: SyncSettings,
        *,
        audit: AuditHook | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.db: sqlite_utils.Database = open_database(db_path)
        create_outbox_tables(self.db)
        self.audit = audit
        self.rng = rng or random.Random()
        self.holder = f"{uuid.uuid4()}"
        self.batch_cap = max(1, settings.batch_size)
        self.client = StateClient(settings)
        self.next_template_pull = 0.0

    def close(self) -> None:
        """Give up the lease and close the connections."""
        lease.release(self.db, self.holder)
        self.client.close()
        self.db.conn.close()

    def run_once(self) -> DrainReport:
        """Send everything due now, batch by batch, and return what happened."""
        report = DrainReport()
        if not self._ready(report):
            return report
        try:
            self._drain(report)
        except BaseException:
            self._unclaim_leftovers()
            raise
        return report

    def _ready(self, report: DrainReport) -> bool:
        now = time.time()
        report.paused = get_value(self.db, "paused")
        backoff_until = float(get_value(self.db, "backoff_until") or 0)
        if not self.settings.enabled or not self.settings.endpoint:
            report.stopped_by = "disabled"
        elif report.paused:
            report.stopped_by = "paused"
        elif backoff_until > now:
            report.stopped_by, report.next_attempt_at = "backoff", backoff_until
        elif not lease.acquire(self.db, self.holder, self.settings.lease_ttl, now):
            report.stopped_by = "lease"
        else:
            return True
        return False

    def _drain(self, report: DrainReport) -> None:
        limits = self._limits(report)
        while limits is not None:
            batch = self._claim(limits)
            if batch is None:
                report.stopped_by = "lease_lost"
                return
            if not batch:
                report.stopped_by = "idle"
                return
            outcome = deliver(self.client, batch, report)
            self._apply(outcome, report)
            if outcome.stop:
                report.stopped_by = outcome.stop
                return

    def _limits(self, report: DrainReport) -> Limits | None:
        report.requests += 1
        try:
            return self.client.limits()
        except AdminActionNeeded as exc:
            outcome = BatchOutcome(stop="paused", pause_reason=str(exc), error=str(exc))
        except SyncFailure as exc:
            outcome = BatchOutcome(stop="backoff", error=f"limits: {exc}", wait_s=exc.retry_after)
        self._apply(outcome, report)
        report.stopped_by = outcome.stop or "backoff"
        return None

    def _claim(self, limits: Limits) -> list[Any] | None:
        size = max(1, min(self.batch_cap, limits.max_records))
        max_bytes = max(1, limits.max_bytes - ENVELOPE_BYTES)
        now = time.time()
        with immediate(self.db):
            if not lease.renew(self.db, self.holder, self.settings.lease_ttl, now):
                return None
            return claim_due(self.db, size, max_bytes, now)

    def _apply(self, outcome: BatchOutcome, report: DrainReport) -> None:
        now = time.time()
        values: dict[str, Any] = {}
        if outcome.smaller_batch:
            self.batch_cap = min(self.batch_cap, outcome.smaller_batch)
        if outcome.success:
            values.update(last_success_at=now, consecutive_failures=None, backoff_until=None)
        if outcome.stop == "backoff":
            values.update(self._backoff(outcome, report, now))
        if outcome.pause_reason:
            values.update(paused=outcome.pause_reason, alert=_alert_text(outcome.pause_reason), alert_at=now)
            report.paused = outcome.pause_reason
        if outcome.error:
            values.update(last_error=outcome.error, last_error_at=now)
            report.errors.append(outcome.error)
        settlement = outcome.settlement
        with immediate(self.db):
            settle(self.db, settlement, now)
            set_values(self.db, values)
        self._count(outcome, report)

    def _backoff(self, outcome: BatchOutcome, report: DrainReport, now: float) -> dict[str, Any]:
        failures = int(get_value(self.db, "consecutive_failures") or 0) + 1
        wait = outcome.wait_s
        if wait is None:
            wait = full_jitter(failures, self.settings.base_backoff_s, self.settings.max_backoff_s, self.rng)
        outcome.settlement.retry_at = now + wait
        report.failures += 1
        report.next_attempt_at = now + wait
        log.info("sync to the state failed (%s); retrying in %.1f s", outcome.error, wait)
        return {"consecutive_failures": failures, "backoff_until": now + wait}

    def _count(self, outcome: BatchOutcome, report: DrainReport) -> None:
        settlement = outcome.settlement
        report.delivered += len(settlement.delivered)
        report.quarantined += len(settlement.quarantined)
        report.retried += len(settlement.retry)
        self._notify("sync.paused", {"reason": outcome.pause_reason}, bool(outcome.pause_reason))
        self._notify("sync.delivered", {"records": len(settlement.delivered)}, bool(settlement.delivered))
        for row_id, error, _ in settlement.quarantined:
            row = outcome.rows.get(row_id)
            details = {
                "outbox_id": row_id,
                "error": error,
                "encounter_id": row.encounter_id if row else None,
                "record_version": row.record_version if row else None,
            }
            self._notify("sync.quarantined", details, True)

    def _notify(self, action: str, details: dict[str, Any], when: bool) -> None:
        if when and self.audit is not None:
            try:
                self.audit(action, details)
            except Exception:
                log.exception("the sync audit hook failed for %s", action)

    def _unclaim_leftovers(self) -> None:
        # An exception mid-batch must not strand rows in flight until the lease expires.
        with immediate(self.db):
            self.db.execute(
                "UPDATE outbox SET state = 'pending' WHERE state = 'in_flight'"
                " AND EXISTS (SELECT 1 FROM sync_lease WHERE holder = ?)",
                [self.holder],
            )

    def pull_template_if_due(self) -> str | None:
        """Fetch the state's current template when the pull interval has passed."""
        if time.time() < self.next_template_pull or not self.settings.enabled:
            return None
        self.next_template_pull = time.time() + self.settings.template_interval_s
        try:
            return pull_template(self.db, self.client, self.audit)
        except Exception as exc:  # noqa: BLE001 - the outbox must keep flowing regardless
            log.warning("template pull failed: %s", exc)
            return None

    def seconds_until_due(self, report: DrainReport) -> float:
        """Return how long to sleep before the next drain."""
        interval = self.settings.interval_seconds
        if report.stopped_by in ("backoff",) and report.next_attempt_at:
            return max(0.0, min(interval, report.next_attempt_at - time.time()))
        if report.stopped_by == "lease":
            return min(interval, self.settings.lease_ttl / 2)
        due = self.db.execute("SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'").fetchone()[0]
        return interval if due is None else max(0.0, min(interval, due - time.time()))


def _alert_text(reason: str) -> str:
    return f"Sync to the state is paused: {reason}. Check the endpoint and token, then resume sync."
