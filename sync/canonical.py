"""Canonical JSON of a record and its SHA-256: how both sides of the contract compare bodies."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(record: Any) -> str:
    """Return the record as JSON with sorted keys, no spaces, and UTF-8 characters kept."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def body_hash(record: Any) -> str:
    """Return the lowercase hex SHA-256 of the record's canonical JSON (UTF-8)."""
    return hashlib.sha256(canonical_json(record).encode("utf-8")).hexdigest()
