"""Review services: return for correction, approve, amend and void (shift sign-off: app.sign_off).

Each action checks the record's status and writes its change, its review note and its
audit entry in ONE BEGIN IMMEDIATE transaction. Actions that make a new record version
(amend, void) write the revision and the outbox row in that same transaction; approving
queues the approved version too (a no-op when finalize already queued it, the version
that reaches the state when `[sync] require_approval` held it back). When the program
collects the template's review fields, approving fills them and saves a new revision
(same record version) in that transaction too (app.approval).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlite_utils
from flask_babel import gettext as _

from app import approval, audit, encounters, finalize, template_versions, users
from app import encounter_store as store
from app.crypto import open_answers, seal_answers, sealed_text
from app.db import write_transaction
from app.errors import BadRequest, Conflict, NotFound, RecordLocked
from app.finalize import RecordContext
from app.users import User
from forms.model import Answers, Template

REVIEWABLE = ("final", "amended")
AMENDABLE = ("approved",)
VOIDED = "voided"
MAX_NOTE_LENGTH = 2000


def return_for_correction(db: sqlite_utils.Database, reviewer: User, encounter_id: str, note: str) -> None:
    """Send a finalized record back to its author with a note saying what to fix."""
    text = _required(note, "note", _("Write a note telling the crew what to correct."))
    with write_transaction(db):
        row = _reviewable(db, encounter_id, REVIEWABLE, _("returned for correction"))
        _set_status(db, row["id"], "returned")
        store.add_note(db, row["id"], reviewer.id, text, "return")
        audit.record(
            db,
            reviewer.username,
            "encounter.return",
            row["id"],
            {"revision": row["revision"], "record_version": row["record_version"]},
        )


def approve(
    db: sqlite_utils.Database,
    reviewer: User,
    encounter_id: str,
    note: str = "",
    *,
    ctx: RecordContext | None = None,
) -> None:
    """Approve a finalized record: it is locked, and only an amendment with a reason can change it.

    When the program collects the template's review fields, they are filled in and saved as a
    new revision (app.approval), and the approved version's payload carries them.
    """
    ctx = ctx or encounters.current_context()
    text = _optional(note)
    row = _reviewable(db, encounter_id, REVIEWABLE, _("approved"))
    template = _template(db, row)
    before = _answers(row, ctx)
    answers = approval.with_review(template, before, reviewer, ctx)
    payload = finalize.state_payload(template, answers, ctx)
    changed = store.changed_fields(before, answers) if answers != before else []
    sealed = sealed_text(seal_answers(template, answers, ctx.keys, row["id"])) if changed else ""
    with write_transaction(db):
        _same_revision(row, _reviewable(db, encounter_id, REVIEWABLE, _("approved")))
        revision = _approved_revision(db, row, reviewer, sealed, changed) if changed else row["revision"]
        if not changed:
            _set_status(db, row["id"], "approved")
        approval.queue_approved(db, row["id"], row["record_version"], payload, replace=bool(changed))
        store.add_note(db, row["id"], reviewer.id, text, "approve")
        audit.record(
            db,
            reviewer.username,
            "encounter.approve",
            row["id"],
            {"revision": revision, "record_version": row["record_version"], "changed": changed},
        )


def _approved_revision(
    db: sqlite_utils.Database, row: dict[str, Any], reviewer: User, sealed: str, changed: list[str]
) -> int:
    """Save the approved answers as a new revision; return its number.

    The revision keeps the request hash of the one before, so a tablet resending the body it
    finalized still gets the idempotent answer instead of "locked".
    """
    revision, now = int(row["revision"]) + 1, _now()
    db.execute(
        "UPDATE encounters SET status = 'approved', revision = ?, answers = ?, updated_at = ? WHERE id = ?",
        [revision, sealed, now, row["id"]],
    )
    body_hash = store.latest_hash(db, row["id"], row["revision"])
    store.add_revision(db, row["id"], revision, reviewer.id, now, "approved", sealed, changed, body_hash)
    return revision


def amend(
    db: sqlite_utils.Database,
    reviewer: User,
    encounter_id: str,
    answers: Answers,
    reason: str,
    *,
    base_revision: int | None,
    acknowledged: Iterable[str] = (),
    ctx: RecordContext | None = None,
) -> encounters.SaveResult:
    """Amend an approved record: validate like a finalize, then a new revision and version, re-synced."""
    ctx = ctx or encounters.current_context()
    why = _required(reason, "reason", _("Say why the approved record is amended."))
    existing = _reviewable(db, encounter_id, AMENDABLE, _("amended (only approved records are)"))
    if base_revision != existing["revision"]:
        raise Conflict(current_revision=existing["revision"])
    request = encounters.parse_request(
        {
            "id": existing["id"],
            "status": "final",
            "template_id": existing["template_id"],
            "template_version": existing["template_version"],
            "base_revision": base_revision,
            "answers": answers,
            "acknowledged_warnings": sorted(acknowledged),
        }
    )
    template = _template(db, existing)
    author = users.get(db, existing["created_by"]) or reviewer
    prepared = encounters.prepare_finalize(db, author, request, template, existing, ctx)
    payload = prepared.payload or finalize.state_payload(template, prepared.answers, ctx)
    assert prepared.record_version is not None
    now = ctx.clock().isoformat(timespec="seconds")
    with write_transaction(db):
        current = _reviewable(db, encounter_id, AMENDABLE, _("amended (only approved records are)"))
        _same_revision(existing, current)
        revision = existing["revision"] + 1
        store.write_encounter(db, request, prepared, reviewer, existing, revision, now)
        store.add_revision(
            db,
            existing["id"],
            revision,
            reviewer.id,
            now,
            prepared.status,
            prepared.sealed,
            store.changed_fields(prepared.previous, prepared.answers),
            request.body_hash,
            reason=why,
        )
        store.replace_person_keys(db, existing["id"], prepared.person_keys)
        encounters.enqueue_for_state(db, existing["id"], prepared.record_version, payload)
        store.add_note(db, existing["id"], reviewer.id, why, "amend")
        audit.record(
            db,
            reviewer.username,
            "encounter.amend",
            existing["id"],
            {"revision": revision, "record_version": prepared.record_version, "reason": why},
        )
    return encounters.SaveResult(
        existing["id"], revision, prepared.status, prepared.record_version, prepared.messages
    )


def void(
    db: sqlite_utils.Database,
    reviewer: User,
    encounter_id: str,
    reason: str,
    *,
    ctx: RecordContext | None = None,
) -> None:
    """Void a record (e.g. a duplicate): a new version marked voided retracts it at the state."""
    ctx = ctx or encounters.current_context()
    why = _required(reason, "reason", _("Say why the record is voided."))
    existing = _reviewable(db, encounter_id, None, _("voided"))
    template = _template(db, existing)
    answers, version = _voided_answers(existing, ctx)
    sealed = seal_answers(template, answers, ctx.keys, existing["id"])
    payload = finalize.state_payload(template, answers, ctx) if version is not None else None
    now = ctx.clock().isoformat(timespec="seconds")
    with write_transaction(db):
        _same_revision(existing, _reviewable(db, encounter_id, None, _("voided")))
        revision = existing["revision"] + 1
        db.execute(
            "UPDATE encounters SET status = 'voided', revision = ?, record_version = ?, answers = ?,"
            " updated_at = ? WHERE id = ?",
            [revision, version, sealed_text(sealed), now, existing["id"]],
        )
        store.add_revision(
            db,
            existing["id"],
            revision,
            reviewer.id,
            now,
            VOIDED,
            sealed,
            store.changed_fields(_answers(existing, ctx), answers),
            None,
            reason=why,
        )
        if payload is not None and version is not None and _ever_queued(db, existing["id"]):
            encounters.enqueue_for_state(db, existing["id"], version, payload)
        store.add_note(db, existing["id"], reviewer.id, why, "void")
        audit.record(
            db,
            reviewer.username,
            "encounter.void",
            existing["id"],
            {"revision": revision, "record_version": version, "reason": why},
        )


def _reviewable(
    db: sqlite_utils.Database, encounter_id: str, allowed: tuple[str, ...] | None, action: str
) -> dict[str, Any]:
    """Return the stored row, or raise when it is missing or its status does not allow the action."""
    row = store.stored_row(db, str(encounter_id).lower())
    if row is None:
        raise NotFound(_("No such encounter."))
    blocked = row["status"] == VOIDED if allowed is None else row["status"] not in allowed
    if blocked:
        raise RecordLocked(
            _("This record is %(status)s: it cannot be %(action)s.", status=row["status"], action=action),
            status=row["status"],
        )
    return row


def _same_revision(seen: dict[str, Any], current: dict[str, Any]) -> None:
    if current["revision"] != seen["revision"]:
        raise Conflict(current_revision=current["revision"])


def _template(db: sqlite_utils.Database, row: dict[str, Any]) -> Template:
    template = template_versions.get(db, row["template_id"], row["template_version"])
    if template is None:
        raise NotFound(
            _(
                "This server no longer holds template %(id)s %(version)s.",
                id=row["template_id"],
                version=row["template_version"],
            )
        )
    return template


def _answers(row: dict[str, Any], ctx: RecordContext) -> Answers:
    return open_answers(json.loads(row["answers"]), ctx.keys, row["id"])


def _voided_answers(row: dict[str, Any], ctx: RecordContext) -> tuple[Answers, int | None]:
    """Return the answers marked voided, with the next record version when one was ever finalized."""
    answers = _answers(row, ctx)
    if row["record_version"] is None:
        return answers, None
    version = int(row["record_version"]) + 1
    return {**answers, "record_version": version, "record_status": VOIDED}, version


def _ever_queued(db: sqlite_utils.Database, encounter_id: str) -> bool:
    row = db.execute("SELECT 1 FROM outbox WHERE encounter_id = ? LIMIT 1", [encounter_id]).fetchone()
    return row is not None


def _set_status(db: sqlite_utils.Database, encounter_id: str, status: str) -> None:
    db.execute(
        "UPDATE encounters SET status = ?, updated_at = ? WHERE id = ?", [status, _now(), encounter_id]
    )


def _required(text: Any, name: str, message: str) -> str:
    value = _optional(text)
    if not value:
        raise BadRequest(message, details={"field": name})
    return value


def _optional(text: Any) -> str:
    value = text.strip() if isinstance(text, str) else ""
    if len(value) > MAX_NOTE_LENGTH:
        raise BadRequest(
            _("Keep the note under %(n)d characters.", n=MAX_NOTE_LENGTH), details={"length": len(value)}
        )
    return value


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
