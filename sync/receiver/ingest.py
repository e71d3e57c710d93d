"""Decide each record's status at the state: duplicate, conflict, rejected, superseded or accepted."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from forms.model import BLOCKING_SEVERITIES, Template
from sync.canonical import canonical_json
from sync.receiver.payload_check import Message, PayloadChecker, envelope_problems, message
from sync.receiver.store import Ingest, ReceiverStore, ingest_transaction

CONFLICT_TEXT = (
    "a different body was already received for this encounter_id and record_version;"
    " send a change as a new record_version"
)


class TemplateCatalog:
    """The template versions the state accepts records of; the first is the current one."""

    def __init__(self, templates: Sequence[Template]) -> None:
        if not templates:
            raise ValueError("the receiver needs at least one template")
        self.current = templates[0]
        self.checkers = {(t.id, t.version): PayloadChecker(t) for t in templates}

    def publish(self, template: Template) -> None:
        """Make a template the current one (records of older versions stay acceptable)."""
        self.checkers.setdefault((template.id, template.version), PayloadChecker(template))
        self.current = template

    def known(self) -> str:
        """Return the accepted template versions, for messages."""
        return ", ".join(f"{tid} {version}" for tid, version in self.checkers)


def ingest_batch(
    store: ReceiverStore, catalog: TemplateCatalog, agency_id: str, records: Sequence[Any]
) -> list[dict[str, Any]]:
    """Process a batch in one transaction and return one result per record, in order."""
    ids = [
        r["encounter_id"] for r in records if isinstance(r, dict) and isinstance(r.get("encounter_id"), str)
    ]
    with ingest_transaction(store, agency_id, ids) as tx:
        return [_one(tx, catalog, record) for record in records]


def _result(record: Any, status: str, messages: list[Message]) -> dict[str, Any]:
    ok = isinstance(record, dict)
    return {
        "encounter_id": record.get("encounter_id") if ok else None,
        "record_version": record.get("record_version") if ok else None,
        "status": status,
        "messages": messages,
    }


def _refuse(tx: Ingest, record: Any, status: str, messages: list[Message]) -> dict[str, Any]:
    tx.reject(record, status, messages)
    return _result(record, status, messages)


def _one(tx: Ingest, catalog: TemplateCatalog, record: Any) -> dict[str, Any]:
    problems = envelope_problems(record, tx.agency_id)
    if problems:
        return _refuse(tx, record, "rejected", problems)
    eid, version = record["encounter_id"], record["record_version"]
    body = canonical_json(record)
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    held = tx.held(eid, version)
    if held is not None:
        return _repeat(tx, record, held, digest)
    checker = catalog.checkers.get((record["template_id"], record["template_version"]))
    if checker is None:
        text = f"template {record['template_id']} {record['template_version']} is not known here"
        return _refuse(
            tx,
            record,
            "rejected",
            [message("FATAL", "template_version", f"{text} (accepted: {catalog.known()})", "template")],
        )
    messages = checker.check(record)
    if any(m["severity"] in BLOCKING_SEVERITIES for m in messages):
        return _refuse(tx, record, "rejected", messages)
    current = tx.current(eid)
    if current is not None and current[0] != tx.agency_id:
        return _refuse(tx, record, "rejected", [_foreign()])
    newest = current is None or version > current[1]
    status = ("accepted_with_warnings" if messages else "accepted") if newest else "superseded_ignored"
    tx.store(record, body, digest, status, messages, newest)
    return _result(record, status, messages)


def _repeat(tx: Ingest, record: dict[str, Any], held: tuple[str, str], digest: str) -> dict[str, Any]:
    if held[0] != tx.agency_id:
        return _refuse(tx, record, "rejected", [_foreign()])
    if held[1] != digest:
        return _refuse(tx, record, "conflict", [message("ERROR", None, CONFLICT_TEXT, "idempotency")])
    tx.count_repeat(record["encounter_id"], record["record_version"])
    return _result(record, "duplicate", [])


def _foreign() -> Message:
    return message("FATAL", "encounter_id", "this encounter_id is held for another agency", "envelope")
