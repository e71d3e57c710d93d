"""The save request of the JSON API and the responder pages: parsing it, and the result of a save."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.errors import BadRequest
from forms.model import Answers

REQUIRED_KEYS = ("id", "status", "template_id", "template_version", "answers")
SAVE_STATUSES = ("draft", "final")


@dataclass(frozen=True)
class SaveRequest:
    """A parsed save request (the JSON API body)."""

    id: str
    status: str
    template_id: str
    template_version: str
    base_revision: int | None
    answers: Answers
    acknowledged_warnings: frozenset[str]
    body_hash: str

    @property
    def finalize(self) -> bool:
        """Return whether the client asks to finalize."""
        return self.status == "final"


@dataclass(frozen=True)
class SaveResult:
    """What a save did: the record's id, revision, status and version, and the messages."""

    id: str
    revision: int
    status: str
    record_version: int | None
    messages: list[dict[str, Any]] = field(default_factory=list)
    created: bool = False

    def to_json(self) -> dict[str, Any]:
        """Return the API response body."""
        return {
            "id": self.id,
            "revision": self.revision,
            "status": self.status,
            "record_version": self.record_version,
            "messages": self.messages,
        }


def parse_request(payload: Any) -> SaveRequest:
    """Return the save request in a JSON body, or raise BadRequest naming what is wrong."""
    if not isinstance(payload, Mapping):
        raise BadRequest(_("The body must be a JSON object."))
    missing = [k for k in REQUIRED_KEYS if k not in payload]
    if missing:
        raise BadRequest(
            _("Missing key(s): %(keys)s.", keys=", ".join(missing)), details={"missing": missing}
        )
    _expect(isinstance(payload["id"], str) and _is_uuid(payload["id"]), "id", _l("a UUID string"))
    _expect(payload["status"] in SAVE_STATUSES, "status", _l("'draft' or 'final'"))
    for key in ("template_id", "template_version"):
        _expect(isinstance(payload[key], str) and payload[key] != "", key, _l("a non-empty string"))
    base = payload.get("base_revision")
    _expect(
        base is None or (isinstance(base, int) and not isinstance(base, bool) and base >= 0),
        "base_revision",
        _l("null or a whole number"),
    )
    _expect(isinstance(payload["answers"], Mapping), "answers", _l("an object keyed by field id"))
    acks = payload.get("acknowledged_warnings", [])
    _expect(
        isinstance(acks, list) and all(isinstance(a, str) for a in acks),
        "acknowledged_warnings",
        _l("a list of rule ids"),
    )
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return SaveRequest(
        payload["id"].lower(),
        payload["status"],
        payload["template_id"],
        payload["template_version"],
        base,
        dict(payload["answers"]),
        frozenset(acks),
        hashlib.sha256(canonical.encode()).hexdigest(),
    )


def _expect(ok: bool, key: str, what: Any) -> None:
    if not ok:
        raise BadRequest(_("'%(key)s' must be %(what)s.", key=key, what=str(what)), details={"field": key})


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False
