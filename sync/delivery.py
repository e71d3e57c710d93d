"""Send one claimed batch to the state and decide what becomes of each row."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sync.client import (
    FAILURE_STATUSES,
    AdminActionNeeded,
    BatchRefused,
    BatchTooLarge,
    NetworkFailure,
    RecordResult,
    StateClient,
    Throttled,
)
from sync.outbox import OutboxRow, Settlement

log = logging.getLogger(__name__)

AuditHook = Callable[[str, dict[str, Any]], None]


@dataclass
class DrainReport:
    """What one drain did: counts, and why it stopped."""

    requests: int = 0
    sent: int = 0
    delivered: int = 0
    quarantined: int = 0
    retried: int = 0
    failures: int = 0
    stopped_by: str = "idle"
    paused: str | None = None
    next_attempt_at: float | None = None
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Return the report as a JSON-able dict."""
        return dict(self.__dict__)


@dataclass
class BatchOutcome:
    """The settlement of a batch plus what the worker must do next."""

    settlement: Settlement = field(default_factory=Settlement)
    stop: str | None = None
    pause_reason: str | None = None
    wait_s: float | None = None
    error: str | None = None
    smaller_batch: int | None = None
    success: bool = False
    rows: dict[int, OutboxRow] = field(default_factory=dict)


def full_jitter(failures: int, base: float, cap: float, rng: random.Random) -> float:
    """Return a full-jitter exponential backoff: uniform in [0, min(cap, base * 2^(failures-1))]."""
    ceiling = min(cap, base * (2 ** min(max(failures - 1, 0), 30)))
    return rng.uniform(0, ceiling)


def deliver(client: StateClient, batch: list[OutboxRow], report: DrainReport) -> BatchOutcome:
    """Send the batch, splitting it on 413 or a refused request, and settle every row."""
    outcome = BatchOutcome(rows={row.id: row for row in batch})
    _send(client, batch, report, outcome)
    return outcome


def _send(client: StateClient, batch: list[OutboxRow], report: DrainReport, outcome: BatchOutcome) -> None:
    if outcome.stop:
        outcome.settlement.retry.extend(row.id for row in batch)
        return
    report.requests += 1
    report.sent += len(batch)
    try:
        results = client.submit([row.payload for row in batch])
    except (BatchTooLarge, BatchRefused) as exc:
        _split(client, batch, report, outcome, exc)
        return
    except AdminActionNeeded as exc:
        _stop(batch, outcome, "paused", str(exc))
        outcome.pause_reason = str(exc)
        return
    except (Throttled, NetworkFailure) as exc:
        _stop(batch, outcome, "backoff", str(exc))
        outcome.wait_s = exc.retry_after
        return
    outcome.success = True
    _settle_results(batch, results, outcome)


def _split(
    client: StateClient,
    batch: list[OutboxRow],
    report: DrainReport,
    outcome: BatchOutcome,
    exc: BatchTooLarge | BatchRefused,
) -> None:
    if len(batch) == 1:
        reason = "larger than the state accepts" if isinstance(exc, BatchTooLarge) else "refused by the state"
        error = f"{reason}: {exc}"
        response = json.dumps({"status": "refused", "messages": [{"severity": "FATAL", "message": error}]})
        outcome.settlement.quarantined.append((batch[0].id, error, response))
        return
    half = len(batch) // 2
    if isinstance(exc, BatchTooLarge):
        outcome.smaller_batch = half
    log.info("state refused a batch of %d (%s); sending halves", len(batch), exc)
    _send(client, batch[:half], report, outcome)
    _send(client, batch[half:], report, outcome)


def _stop(batch: list[OutboxRow], outcome: BatchOutcome, why: str, error: str) -> None:
    outcome.stop = why
    outcome.error = error
    outcome.settlement.retry.extend(row.id for row in batch)
    outcome.settlement.retry_error = error


def _settle_results(batch: list[OutboxRow], results: list[RecordResult], outcome: BatchOutcome) -> None:
    by_key = {(r.encounter_id, r.record_version): r for r in results}
    settlement = outcome.settlement
    for row in batch:
        result = by_key.get((row.encounter_id, row.record_version))
        if result is None or not (result.delivered or result.status in FAILURE_STATUSES):
            settlement.retry.append(row.id)
            status = "no result" if result is None else f"unknown status {result.status!r}"
            settlement.retry_error = f"the state's answer had {status} for this record"
        elif result.delivered:
            settlement.delivered.append((row.id, json.dumps(result.to_json())))
        else:
            settlement.quarantined.append((row.id, describe_refusal(result), json.dumps(result.to_json())))


def describe_refusal(result: RecordResult) -> str:
    """Return a one-line summary of why the state refused a record."""
    parts = [str(m.get("message") or m.get("field") or "") for m in result.messages[:5]]
    more = f" (+{len(result.messages) - 5} more)" if len(result.messages) > 5 else ""
    return f"{result.status}: " + ("; ".join(parts) or "no message") + more
