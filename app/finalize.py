"""What finalizing adds to a record: auto fields, repeat clients, duplicate checks, state payload.

Which fields exist, which are auto-filled and which rule looks for duplicates all come
from the template; this module only knows how to compute each kind of auto value.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata
from typing import Any
from zoneinfo import ZoneInfo

import sqlite_utils

from app.config import Settings
from app.crypto import Keys, current_key_id
from app.units import Unit
from app.users import User
from forms.conditions import template_cached
from forms.model import Answers, Template
from forms.normalize import settled_after_setting

SOFTWARE_NAME = "Crewlog"
UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@functools.cache
def software_version() -> str:
    """Return Crewlog's installed version."""
    try:
        return metadata.version("crewlog")
    except metadata.PackageNotFoundError:
        return "0.0.0"


@dataclass
class RecordContext:
    """What saving a record needs besides the request: settings, keys and a clock."""

    settings: Settings
    keys: Keys
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @property
    def extended(self) -> frozenset[str]:
        """Return the extended fields this program collects."""
        return frozenset(self.settings["template"]["extended_fields"])

    def now(self) -> datetime:
        """Return the current time in the agency's time zone."""
        return self.clock().astimezone(ZoneInfo(self.settings["agency"]["timezone"]))


def real_value(value: Any) -> Any:
    """Return the real value of a stored answer (None for NOT values and pure PNs)."""
    if isinstance(value, dict):
        return value.get("value")
    return value


def utc_instant(value: Any) -> str | None:
    """Return an ISO datetime answer as a sortable UTC string, or None."""
    text = real_value(value)
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC).strftime(UTC_FORMAT)


@dataclass(frozen=True)
class Finalizer:
    """The people, unit and versions that fill a record's auto fields at finalize."""

    encounter_id: str
    record_version: int
    user: User
    unit: Unit | None
    completed_at: str

    def auto_values(self, template: Template, ctx: RecordContext) -> dict[str, Any]:
        """Return the values of the auto fields Crewlog knows how to fill."""
        agency = ctx.settings["agency"]
        values: dict[str, Any] = {
            "encounter_id": self.encounter_id,
            "record_version": self.record_version,
            "template_id": template.id,
            "template_version": template.version,
            "record_status": "final" if self.record_version == 1 else "amended",
            "agency_id": ctx.settings["sync"]["agency_id"] or agency["id"],
            "software_name": SOFTWARE_NAME,
            "software_version": software_version(),
            "program_model": (self.unit.program_model if self.unit else None) or agency["program_model"],
            "unit_id": self.unit.call_sign if self.unit else None,
            "incident_state": agency["state_fips"],
            "completed_by_user": self.user.username,
            "completed_by_role": self._role(template),
            "completed_at": self.completed_at,
        }
        return {k: v for k, v in values.items() if v is not None}

    def _role(self, template: Template) -> str | None:
        spec = template.fields.get("completed_by_role")
        codes = template.code_lists.get(spec.code_list or "") if spec else None
        for candidate in (self.user.team_role, self.user.role):
            if candidate and (codes is None or codes.has(candidate)):
                return candidate
        return None


def fill_auto(template: Template, answers: Answers, finalizer: Finalizer, ctx: RecordContext) -> Answers:
    """Return the answers with every known auto field of the template filled in."""
    filled = dict(answers)
    for field_id, value in finalizer.auto_values(template, ctx).items():
        spec = template.fields.get(field_id)
        if spec is not None and spec.group is None and spec.input == "auto":
            filled[field_id] = value
    return filled


def repeat_fields(template: Template) -> tuple[str | None, str | None]:
    """Return (person id field, repeat flag field) of the template's person rows, if any.

    The person id field is the one generalized for purpose "person"; the repeat flag is the
    derived boolean field of the same group. Cached on the template: every finalize asks.
    """
    return template_cached(template, "repeat_fields", lambda: _find_repeat_fields(template))


def _find_repeat_fields(template: Template) -> tuple[str | None, str | None]:
    person = next(
        (f for f in template.fields.values() if f.generalize and f.generalize.purpose == "person"), None
    )
    if person is None:
        return None, None
    flag = next(
        (
            f.id
            for f in template.fields.values()
            if f.group == person.group and f.type == "boolean" and f.input == "derived"
        ),
        None,
    )
    return person.id, flag


def person_keys(template: Template, answers: Answers, keys: Keys) -> list[str | None]:
    """Return the local lookup key of each person row (None where the row has no person id)."""
    person_field, _ = repeat_fields(template)
    group = template.fields[person_field].group if person_field else None
    rows = answers.get(group or "", []) if group else []
    result: list[str | None] = []
    for row in rows if isinstance(rows, list) else []:
        value = real_value(row.get(person_field)) if isinstance(row, dict) else None
        result.append(keys.index_key("person", value) if isinstance(value, str) and value.strip() else None)
    return result


def mark_repeat_clients(
    db: sqlite_utils.Database, template: Template, answers: Answers, encounter_id: str, ctx: RecordContext
) -> Answers:
    """Return the answers with each person row's repeat flag set from local history."""
    person_field, flag = repeat_fields(template)
    if person_field is None or flag is None:
        return answers
    group = template.fields[person_field].group or ""
    since_days = int(template.parameters.get("repeat_lookback_days", 365))
    anchor = utc_instant(answers.get("unit_notified_at")) or ctx.clock().strftime(UTC_FORMAT)
    start = datetime.fromisoformat(anchor) - timedelta(days=since_days)  # strptime is much slower
    rows = answers.get(group)
    if not isinstance(rows, list):
        return answers  # validation reports the malformed group
    rows = [dict(r) if isinstance(r, dict) else r for r in rows]
    for row, key in zip(rows, person_keys(template, answers, ctx.keys), strict=True):
        if not isinstance(row, dict):
            continue
        row[flag] = bool(key) and _seen_before(
            db, key or "", encounter_id, start.strftime(UTC_FORMAT), anchor
        )
    return {**answers, group: rows}


def repeat_flags_settled(template: Template, extended: frozenset[str]) -> bool:
    """Return whether setting the repeat flags leaves normalized answers normalized (no cascade)."""
    _, flag = repeat_fields(template)
    return flag is None or settled_after_setting(template, extended, flag)


def _seen_before(db: sqlite_utils.Database, key: str, encounter_id: str, start: str, end: str) -> bool:
    row = db.execute(
        "SELECT 1 FROM person_index p JOIN encounters e ON e.id = p.encounter_id"
        " WHERE p.person_key = ? AND e.id != ? AND e.status != 'voided'"
        " AND e.unit_notified_at >= ? AND e.unit_notified_at < ? LIMIT 1",
        [key, encounter_id, start, end],
    ).fetchone()
    return row is not None


def unique_key(template: Template, answers: Answers, keys: Keys) -> str | None:
    """Return the lookup key of the template's `unique` rule for these answers, or None.

    Rule fields may name payload outputs (psap_incident_hash); they are mapped back to
    the captured fields they are generalized from.
    """
    rule = next((r for r in template.rules if r.kind == "unique"), None)
    if rule is None:
        return None
    by_output = template_cached(
        template,
        "generalized_from",
        lambda: {f.generalize.output: f.id for f in template.fields.values() if f.generalize},
    )
    values = [real_value(answers.get(by_output.get(name, name))) for name in rule.spec.get("fields", [])]
    if not values or any(v in (None, "") for v in values):
        return None
    normalized = ["".join(str(v).split()).upper() for v in values]
    return keys.index_key(f"unique:{rule.id}", json.dumps(normalized))


def duplicate_lookup(
    db: sqlite_utils.Database,
    template: Template,
    encounter_id: str,
    keys: Keys,
    *,
    known: tuple[Answers, str | None] | None = None,
) -> Callable[[Answers], bool]:
    """Return the check the `unique` rule calls: another non-voided record has the same key.

    `known` is (answers, their unique key) already computed, used when the rule checks those answers.
    """

    def has_duplicate(answers: Answers) -> bool:
        key = known[1] if known and answers is known[0] else unique_key(template, answers, keys)
        if key is None:
            return False
        row = db.execute(
            "SELECT 1 FROM encounters WHERE incident_key = ? AND id != ? AND status != 'voided' LIMIT 1",
            [key, encounter_id],
        ).fetchone()
        return row is not None

    return has_duplicate


def state_payload(template: Template, answers: Answers, ctx: RecordContext) -> dict[str, Any]:
    """Return the de-identified payload the state receives for these finalized answers."""
    from forms.payload import shape_payload

    key_id = str(template.parameters.get("hmac_key_id") or current_key_id())
    return shape_payload(
        template,
        answers,
        hmac_key=ctx.keys.hmac_key(key_id),
        hmac_key_id=key_id,
        extended=ctx.extended,
        date_precision=str(template.parameters.get("date_precision", "day")),
    )


def index_columns(template: Template, answers: Answers, incident_key: str | None) -> dict[str, Any]:
    """Return the indexed encounter columns: UTC times, local date, first person's need and outcome.

    `incident_key` is the answers' unique_key(), which validation computed already.
    """
    group = answers.get(next(iter(template.groups), ""))
    rows = group if isinstance(group, list) else []
    first = rows[0] if rows and isinstance(rows[0], dict) else {}
    notified = answers.get("unit_notified_at")
    local = real_value(notified)
    return {
        "call_received_at": utc_instant(answers.get("call_received_at")),
        "unit_notified_at": utc_instant(notified),
        "encounter_date": local[:10] if isinstance(local, str) and len(local) >= 10 else None,
        "primary_need": _plain(first.get("primary_need")),
        "resolution": _plain(first.get("resolution")),
        "incident_key": incident_key,
    }


def _plain(value: Any) -> str | None:
    return value if isinstance(value, str) else None
