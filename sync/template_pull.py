"""Pull the state's current template (ETag / If-None-Match); store new versions for an admin to activate."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import sqlite_utils

from sync.client import StateClient
from sync.status import set_values
from sync.storage import immediate

log = logging.getLogger(__name__)


def latest_etag(db: sqlite_utils.Database) -> str | None:
    """Return the ETag of the template fetched last, if any."""
    row = db.execute("SELECT etag FROM sync_templates ORDER BY fetched_at DESC LIMIT 1").fetchone()
    return None if row is None else str(row[0])


def pull_template(
    db: sqlite_utils.Database, client: StateClient, audit: Callable[[str, dict[str, Any]], None] | None = None
) -> str | None:
    """Fetch the state's template if it changed; store it and return its version, else return None.

    Nothing is activated here: the app shows the stored version to an admin.
    """
    fetched = client.current_template(latest_etag(db))
    if fetched is None:
        return None
    version = _checked_version(db, fetched.source)
    if version is None:
        return None
    with immediate(db):
        db.execute(
            "INSERT OR IGNORE INTO sync_templates (etag, version, source, fetched_at) VALUES (?, ?, ?, ?)",
            [fetched.etag or f"version:{version}", version, json.dumps(fetched.source), time.time()],
        )
    log.info("fetched state template %s", version)
    if audit is not None:
        audit("sync.template_fetched", {"version": version, "etag": fetched.etag})
    return version


def _checked_version(db: sqlite_utils.Database, source: dict[str, Any]) -> str | None:
    from forms.loader import TemplateError, load_template_data

    try:
        template = load_template_data(source, source="state template")
    except TemplateError as exc:
        error = "the state's template is invalid: " + "; ".join(exc.errors[:5])
        with immediate(db):
            set_values(db, {"last_error": error, "last_error_at": time.time()})
        log.warning(error)
        return None
    return f"{template.id} {template.version}"
