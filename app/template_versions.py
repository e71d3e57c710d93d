"""Template versions held by this server: import, activate, and load (cached per process).

A record keeps the template id and version it was captured with, so every version ever
imported stays in the templates table; exactly one is active for new records.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from app.db import database_file, write_transaction
from forms.model import Template


class TemplateVersionError(ValueError):
    """A template version cannot be imported or activated as asked."""


_cache: dict[tuple[str, str, str], Template] = {}
_lock = threading.Lock()


def _db_key(db: sqlite_utils.Database) -> str:
    """Return the database file's path (templates are cached per file)."""
    return database_file(db)


def load_data(source: dict[str, Any], origin: str = "<database>") -> Template:
    """Return a Template from its JSON document (forms.loader checks it completely)."""
    from forms.loader import load_template_data

    return load_template_data(source, origin)


def import_template(db: sqlite_utils.Database, template: Template, *, activate: bool = False) -> bool:
    """Store a template version; return False if that exact version is already held."""
    source = json.dumps(template.to_json(), sort_keys=True)
    with write_transaction(db):
        row = db.execute(
            "SELECT source FROM templates WHERE id = ? AND version = ?", [template.id, template.version]
        ).fetchone()
        if row and json.loads(row[0]) != json.loads(source):
            raise TemplateVersionError(
                f"template {template.id} {template.version} is already held with different content:"
                " a changed template needs a new version"
            )
        if not row:
            db.execute(
                "INSERT INTO templates (id, version, source, active, imported_at) VALUES (?, ?, ?, 0, ?)",
                [template.id, template.version, source, datetime.now(UTC).isoformat(timespec="seconds")],
            )
        if activate:
            _activate(db, template.id, template.version)
    return not row


def activate(db: sqlite_utils.Database, template_id: str, version: str) -> None:
    """Make a held template version the active one for new records."""
    with write_transaction(db):
        _activate(db, template_id, version)


def _activate(db: sqlite_utils.Database, template_id: str, version: str) -> None:
    if not db.execute(
        "SELECT 1 FROM templates WHERE id = ? AND version = ?", [template_id, version]
    ).fetchone():
        held = ", ".join(f"{r['id']} {r['version']}" for r in list_all(db)) or "none"
        raise TemplateVersionError(f"no template {template_id} {version} is held (held: {held})")
    db.execute("UPDATE templates SET active = (id = ? AND version = ?)", [template_id, version])


def get(db: sqlite_utils.Database, template_id: str, version: str) -> Template | None:
    """Return a held template version, or None."""
    key = (_db_key(db), template_id, version)
    with _lock:
        if key in _cache:
            return _cache[key]
    row = db.execute("SELECT source FROM templates WHERE id = ? AND version = ?", [template_id, version])
    found = row.fetchone()
    if found is None:
        return None
    template = load_data(json.loads(found[0]), f"{template_id} {version}")
    with _lock:
        _cache[key] = template
    return template


def active(db: sqlite_utils.Database) -> Template | None:
    """Return the active template, or None when none was imported yet."""
    row = db.execute("SELECT id, version FROM templates WHERE active = 1").fetchone()
    return get(db, row[0], row[1]) if row else None


def list_all(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Return id, version, active and imported_at of every held version."""
    cursor = db.execute(
        "SELECT id, version, active, imported_at FROM templates ORDER BY imported_at, id, version"
    )
    return [{"id": r[0], "version": r[1], "active": bool(r[2]), "imported_at": r[3]} for r in cursor]


def configured_template(path: str) -> Template:
    """Return the template from [template] path, or the shipped one when the path is empty."""
    from forms.loader import load_shipped_template, load_template

    return load_template(Path(path)) if path else load_shipped_template()


def ensure_active(db: sqlite_utils.Database, path: str) -> Template:
    """Return the active template, importing and activating the configured one if none is."""
    current = active(db)
    if current is not None:
        return current
    template = configured_template(path)
    import_template(db, template, activate=True)
    return template
