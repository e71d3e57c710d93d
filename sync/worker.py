"""Run the sync worker: once, for ever, or in a daemon thread of `crewlog serve`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sync.delivery import AuditHook, DrainReport
from sync.drain import Worker
from sync.settings import SyncSettings, database_path

__all__ = [
    "DrainReport",
    "Worker",
    "WorkerThread",
    "run_forever",
    "run_in_thread",
    "run_once",
    "wake_workers",
]

log = logging.getLogger(__name__)


def run_once(db_path: str | Path, settings: SyncSettings, *, audit: AuditHook | None = None) -> DrainReport:
    """Drain what is due now and return; the lease is released afterwards."""
    worker = Worker(db_path, settings, audit=audit)
    try:
        return worker.run_once()
    finally:
        worker.close()


def run_forever(
    db_path: str | Path,
    settings: SyncSettings,
    *,
    stop: threading.Event | None = None,
    wake: threading.Event | None = None,
    audit: AuditHook | None = None,
) -> None:
    """Drain the outbox until `stop` is set, sleeping between runs; pull templates now and then."""
    stop = stop or threading.Event()
    wake = wake or threading.Event()
    worker = Worker(db_path, settings, audit=audit)
    try:
        while not stop.is_set():
            worker.pull_template_if_due()
            report = _safe_run(worker)
            wake.wait(worker.seconds_until_due(report))
            wake.clear()
    finally:
        worker.close()


def _safe_run(worker: Worker) -> DrainReport:
    try:
        return worker.run_once()
    except Exception:
        log.exception("sync run failed; retrying later")
        return DrainReport(stopped_by="error")


class WorkerThread(threading.Thread):
    """The worker running in a daemon thread inside `crewlog serve`."""

    def __init__(self, db_path: str | Path, settings: SyncSettings, audit: AuditHook | None = None) -> None:
        super().__init__(name="crewlog-sync", daemon=True)
        self.db_path, self.settings, self.audit = db_path, settings, audit
        self.stop_event = threading.Event()
        self.wake_event = threading.Event()

    def run(self) -> None:
        """Run the worker loop until stopped."""
        run_forever(self.db_path, self.settings, stop=self.stop_event, wake=self.wake_event, audit=self.audit)

    def wake(self) -> None:
        """Drain now rather than at the next interval (call after a finalize)."""
        self.wake_event.set()

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop the loop and wait for it to finish its current batch."""
        self.stop_event.set()
        self.wake_event.set()
        self.join(timeout)


_threads: list[WorkerThread] = []


def run_in_thread(
    config: SyncSettings | Mapping[str, Any],
    db_path: str | Path | None = None,
    *,
    audit: AuditHook | None = None,
) -> WorkerThread | None:
    """Start the worker in a daemon thread; accepts SyncSettings or the app's whole config mapping."""
    if isinstance(config, SyncSettings):
        settings = config
    else:
        settings = SyncSettings.from_config(config)
        db_path = db_path or database_path(config)
    if not settings.enabled:
        log.info("sync is disabled; no worker started")
        return None
    if db_path is None:
        raise ValueError("run_in_thread needs db_path when given SyncSettings")
    thread = WorkerThread(db_path, settings, audit)
    thread.start()
    _threads.append(thread)
    return thread


def wake_workers() -> None:
    """Wake every worker thread of this process so new outbox rows go out at once."""
    for thread in _threads:
        if thread.is_alive():
            thread.wake()
