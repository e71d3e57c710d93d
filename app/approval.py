"""What approving adds to a record: who reviewed it and when, and the approved version's outbox row.

The standard template's review fields (`reviewed_by_role`: the reviewer's staff role, sent
to the state; `reviewed_at`: the approval time, kept by the program) are filled only when
the template has them and the program switched them on; the payload shaping decides, from
each field's to_state rule, what reaches the state.

The state holds each (encounter_id, record_version) forever, so an approval can change the
payload of a version only while that version has never been sent: a version already sent
keeps its payload, and the review fields reach the state with the record's next version.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

from app import encounters
from app.finalize import RecordContext
from app.users import User
from forms.model import Answers, Template
from forms.normalize import enabled

REVIEWED_BY_ROLE = "reviewed_by_role"
REVIEWED_AT = "reviewed_at"


def with_review(template: Template, answers: Answers, reviewer: User, ctx: RecordContext) -> Answers:
    """Return the answers with the review fields the program collects set for this approval."""
    values = {REVIEWED_BY_ROLE: staff_role(template, reviewer), REVIEWED_AT: _now(ctx)}
    marked = dict(answers)
    for name, value in values.items():
        spec = template.fields.get(name)
        if spec is not None and spec.group is None and enabled(spec, ctx.extended) and value is not None:
            marked[name] = value
    return marked


def staff_role(template: Template, user: User) -> str | None:
    """Return the user's role as a code of the reviewed-by field's list (team role first), or None."""
    spec = template.fields.get(REVIEWED_BY_ROLE)
    codes = template.code_lists.get(spec.code_list or "") if spec is not None else None
    for candidate in (user.team_role, user.role):
        if candidate and (codes is None or codes.has(candidate)):
            return candidate
    return None


def queue_approved(
    db: sqlite_utils.Database,
    encounter_id: str,
    record_version: int,
    payload: dict[str, Any],
    *,
    replace: bool,
) -> None:
    """Queue the approved version; with `replace`, also a new payload for a queued version never sent.

    A version that was queued at finalize and already sent (or being sent) keeps its payload.
    Runs inside the caller's transaction.
    """
    if replace:
        db.execute(
            "DELETE FROM outbox WHERE encounter_id = ? AND record_version = ? AND state = 'pending'"
            " AND attempts = 0",
            [encounter_id, record_version],
        )
        # the dashboard and the state CSV export re-shape the approved answers (app.dashboard)
        db.execute("INSERT OR IGNORE INTO metric_stale (encounter_id) VALUES (?)", [encounter_id])
    encounters.enqueue_for_state(db, encounter_id, record_version, payload)


def _now(ctx: RecordContext) -> str:
    return ctx.now().isoformat(timespec="seconds")
