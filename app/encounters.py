"""Encounters: the save/finalize service behind the JSON API and the responder pages, and reads.

`save(db, user, payload)` is the one way a record is written. It validates and encrypts
outside the lock, then writes the encounter, its revision, its lookup keys and (when the
record goes to the state) its outbox row in ONE BEGIN IMMEDIATE transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import sqlite_utils
from flask import current_app
from flask_babel import gettext as _

from app import audit, finalize, history, shifts, template_versions, units
from app import encounter_store as store
from app.crypto import Keys, open_answers, seal_answers, sealed_text
from app.db import combined_write
from app.errors import Conflict, NotFound, RecordLocked, UnknownTemplate, ValidationFailed
from app.finalize import Finalizer, RecordContext
from app.language import request_language
from app.save_request import SaveRequest as SaveRequest
from app.save_request import SaveResult as SaveResult
from app.save_request import parse_request as parse_request
from app.users import User
from forms.model import Answers, Template

EDITABLE = ("draft", "returned")


def current_context() -> RecordContext:
    """Return the record context of the running Flask app."""
    ctx: RecordContext = current_app.extensions["crewlog.records"]
    return ctx


def save(
    db: sqlite_utils.Database, user: User, payload: Any, *, ctx: RecordContext | None = None
) -> SaveResult:
    """Save a draft or finalize a record as the API describes; raise a CrewlogError on refusal."""
    ctx = ctx or current_context()
    request = parse_request(payload)
    template = template_versions.get(db, request.template_id, request.template_version)
    if template is None:
        raise UnknownTemplate(
            _(
                "This server does not hold template %(id)s %(version)s. "
                "Reload the app to get the current form.",
                id=request.template_id,
                version=request.template_version,
            )
        )
    existing = store.stored_row(db, request.id)
    if existing is not None:
        replay = _check_existing(db, existing, user, request)
        if replay is not None:
            return replay
    prepared = _prepare(db, user, request, template, existing, ctx)
    return _write(db, user, request, prepared, existing, ctx)


def _check_existing(
    db: sqlite_utils.Database, existing: dict[str, Any], user: User, request: SaveRequest
) -> SaveResult | None:
    """Return the earlier result for an identical resend; raise if this save is not allowed."""
    if existing["created_by"] != user.id:
        raise NotFound(_("No such encounter."))
    if store.latest_hash(db, request.id, existing["revision"]) == request.body_hash:
        return SaveResult(request.id, existing["revision"], existing["status"], existing["record_version"])
    if existing["status"] not in EDITABLE:
        raise RecordLocked(
            _(
                "This record is %(status)s and can no longer be edited here. "
                "Ask a supervisor to return it for correction.",
                status=existing["status"],
            ),
            status=existing["status"],
        )
    if request.base_revision != existing["revision"]:
        raise Conflict(current_revision=existing["revision"])
    return None


@dataclass
class Prepared:
    """A validated save, ready to be written."""

    answers: Answers
    previous: Answers
    messages: list[dict[str, Any]]
    status: str
    record_version: int | None
    unit_id: int | None
    shift_id: int | None
    sealed: Answers = field(default_factory=dict)
    sealed_json: str = "{}"  # the sealed answers as stored, encoded before the write lock is taken
    payload: dict[str, Any] | None = None
    payload_json: str = ""  # the payload as queued, encoded before the write lock is taken
    columns: dict[str, Any] = field(default_factory=dict)
    person_keys: list[str] = field(default_factory=list)


def _prepare(
    db: sqlite_utils.Database,
    user: User,
    request: SaveRequest,
    template: Template,
    existing: dict[str, Any] | None,
    ctx: RecordContext,
) -> Prepared:
    from forms.validation import blocking, normalize, validate

    shift = shifts.get(db, existing["shift_id"]) if existing else shifts.open_for_user(db, user.id)
    unit_id = existing["unit_id"] if existing else (shift.unit_id if shift else None)
    previous = _previous_answers(existing, template, ctx.keys)
    record_version = existing["record_version"] if existing else None
    status = existing["status"] if existing else "draft"
    answers = request.answers
    if request.finalize:
        record_version = next_record_version(db, request.id, record_version)
        status = "final" if record_version == 1 else "amended"
        completed_at = previous.get("completed_at") or ctx.now().isoformat(timespec="seconds")
        finalizer = Finalizer(request.id, record_version, user, units.get(db, unit_id), completed_at)
        answers = finalize.fill_auto(template, answers, finalizer, ctx)
    extended = ctx.extended
    answers = normalize(template, answers, extended=extended, finalize=request.finalize)
    if request.finalize:
        answers = finalize.mark_repeat_clients(db, template, answers, request.id, ctx)
        answers = history.mark_prior_contacts(db, template, answers, request.id, ctx)
        if not finalize.repeat_flags_settled(template, extended):  # the flags may cascade
            answers = normalize(template, answers, extended=extended, finalize=True)
    incident_key = finalize.unique_key(template, answers, ctx.keys)
    messages = validate(
        template,
        answers,
        finalize=request.finalize,
        now=ctx.now(),
        extended=extended,
        duplicate_lookup=finalize.duplicate_lookup(
            db, template, request.id, ctx.keys, known=(answers, incident_key)
        ),
        normalized=True,
        lang=request_language(),
    )
    _refuse_if_blocked(messages, request, blocking)
    prepared = Prepared(
        answers,
        previous,
        [m.to_json() for m in messages],
        status,
        record_version,
        unit_id,
        shift.id if shift else None,
    )
    prepared.sealed = seal_answers(template, answers, ctx.keys, request.id)
    prepared.sealed_json = sealed_text(prepared.sealed)
    prepared.payload = _payload_if_due(template, answers, status, ctx)
    if prepared.payload is not None:
        prepared.payload_json = payload_text(prepared.payload)
    prepared.columns = finalize.index_columns(template, answers, incident_key)
    prepared.person_keys = [k for k in finalize.person_keys(template, answers, ctx.keys) if k]
    return prepared


def next_record_version(db: sqlite_utils.Database, encounter_id: str, current: int | None) -> int:
    """Return the version a finalize creates: +1 only once the current version was queued for the state."""
    if current is None:
        return 1
    queued = db.execute(
        "SELECT 1 FROM outbox WHERE encounter_id = ? AND record_version = ?", [encounter_id, current]
    ).fetchone()
    return current + 1 if queued else current


def _refuse_if_blocked(messages: list[Any], request: SaveRequest, blocking: Any) -> None:
    if blocking(messages):
        raise ValidationFailed(
            _("Some answers need attention: fix the fields listed."), messages=[m.to_json() for m in messages]
        )
    unacknowledged = [
        m for m in messages if m.severity == "WARNING" and m.rule not in request.acknowledged_warnings
    ]
    if request.finalize and unacknowledged:
        raise ValidationFailed(
            _("Check each warning and acknowledge it to finalize."),
            messages=[m.to_json() for m in unacknowledged],
        )


def _previous_answers(existing: dict[str, Any] | None, template: Template, keys: Keys) -> Answers:
    if existing is None:
        return {}
    return open_answers(json.loads(existing["answers"]), keys, existing["id"])


def _payload_if_due(
    template: Template, answers: Answers, status: str, ctx: RecordContext
) -> dict[str, Any] | None:
    if status not in ("final", "amended") or ctx.settings["sync"]["require_approval"]:
        return None
    return finalize.state_payload(template, answers, ctx)


def _write(
    db: sqlite_utils.Database,
    user: User,
    request: SaveRequest,
    prepared: Prepared,
    existing: dict[str, Any] | None,
    ctx: RecordContext,
) -> SaveResult:
    """Write encounter, revision, lookup keys, outbox row and audit entry in one transaction."""
    save = SaveWrite(
        user,
        replace(request, answers={}),  # what the write reads, without the answers already sealed
        replace(
            prepared, answers={}, previous={}, sealed={}, payload=None if prepared.payload is None else {}
        ),
        existing and {"revision": existing["revision"], "finalized_at": existing["finalized_at"]},
        ctx.clock().isoformat(timespec="seconds"),
        store.changed_fields(prepared.previous, prepared.answers),
    )
    result = combined_write(db, partial(write_save, save))
    if prepared.payload is not None and result.revision != (existing["revision"] if existing else 0):
        _wake_sync_workers()
    return result


@dataclass(frozen=True)
class SaveWrite:
    """A validated save as the write transaction needs it (sent to the writer process as is)."""

    user: User
    request: SaveRequest
    prepared: Prepared
    existing: dict[str, Any] | None
    now: str
    changed: list[str]


def write_save(save: SaveWrite, conn: sqlite_utils.Database) -> SaveResult:
    """Write one prepared save in the caller's transaction, or settle a save that lost a race."""
    request, prepared, user, now = save.request, save.prepared, save.user, save.now
    expected_revision = save.existing["revision"] if save.existing else None
    current = store.current_revision(conn, request.id)
    if current != expected_revision:  # someone saved in between (or this very save, resent)
        return _lost_race(conn, store.stored_row(conn, request.id), user, request)
    revision = (expected_revision or 0) + 1
    store.write_encounter(conn, request, prepared, user, save.existing, revision, now)
    store.add_revision(
        conn, request.id, revision, user.id, now, prepared.status, prepared.sealed_json, save.changed,
        request.body_hash,
    )  # fmt: skip
    store.replace_person_keys(conn, request.id, prepared.person_keys, new=current is None)
    if prepared.payload is not None and prepared.record_version is not None:
        enqueue_for_state(conn, request.id, prepared.record_version, prepared.payload_json)
    audit.record(
        conn,
        user.username,
        "encounter.finalize" if request.finalize else "encounter.save",
        request.id,
        {"revision": revision, "status": prepared.status, "record_version": prepared.record_version},
    )
    return SaveResult(
        request.id, revision, prepared.status, prepared.record_version, prepared.messages,
        created=save.existing is None,
    )  # fmt: skip


def payload_text(payload: dict[str, Any]) -> str:
    """Return a state payload as the outbox stores it (call it before taking the write lock)."""
    from sync.outbox import payload_text as encode

    return encode(payload)


def _wake_sync_workers() -> None:
    """Tell a sync worker running in this process that a record is waiting."""
    try:
        from sync.worker import wake_workers
    except ImportError:
        return
    wake_workers()


def _lost_race(
    db: sqlite_utils.Database, current: dict[str, Any] | None, user: User, request: SaveRequest
) -> SaveResult:
    if current is None:
        raise Conflict(current_revision=0)
    replay = _check_existing(db, current, user, request)
    if replay is None:
        raise Conflict(current_revision=current["revision"])
    return replay


def enqueue_for_state(
    db: sqlite_utils.Database, encounter_id: str, record_version: int, payload: dict[str, Any] | str
) -> None:
    """Queue a shaped record version (or its payload_text) in the sync outbox, in the caller's transaction."""
    from sync.outbox import enqueue

    enqueue(db, encounter_id, record_version, payload)


get = store.get
list_mine = store.list_mine
visible_to = store.visible_to
Encounter = store.Encounter


def prepare_finalize(
    db: sqlite_utils.Database,
    author: User,
    request: SaveRequest,
    template: Template,
    existing: dict[str, Any],
    ctx: RecordContext,
) -> Prepared:
    """Validate a finalize of an existing record as `save` does (used by amendments after approval).

    `author` is who the completion fields name (the record's author); the caller writes the
    result in its own transaction. Raises ValidationFailed like `save`.
    """
    return _prepare(db, author, request, template, existing, ctx)
