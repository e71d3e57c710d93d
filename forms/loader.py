"""Load a state template file (TOML or JSON) into an immutable, fully checked Template.

Every problem is collected before anything is returned: a template with any error
raises TemplateError listing them all and is never half-loaded.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import tomli  # the compiled build of the standard library's tomllib: about 4 times faster

from forms.checks import check_template
from forms.model import Template
from forms.reader import Reader

log = logging.getLogger(__name__)

SHIPPED_TEMPLATE = "state-standard-2026.1.toml"


class TemplateError(Exception):
    """A template file has problems; `errors` lists every one of them."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def shipped_template_path() -> Path:
    """Return the path of the template shipped with Crewlog."""
    return Path(__file__).parent / "templates" / SHIPPED_TEMPLATE


@lru_cache(maxsize=1)
def load_shipped_template() -> Template:
    """Return the shipped template, loaded once per process."""
    return load_template(shipped_template_path())


def load_template(path: str | Path) -> Template:
    """Load and check a template file (.toml, or .json)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TemplateError([f"{path.name}: cannot read the file ({exc.strerror})"]) from exc
    return _build(_parse(raw, path), path.name)


def _parse(raw: bytes, path: Path) -> Any:
    """Parse TOML or JSON text, naming the line of a syntax error."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TemplateError([f"{path.name}: the file is not UTF-8 text (byte {exc.start})"]) from exc
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            msg = f"{path.name}: JSON syntax error: {exc.msg} (at line {exc.lineno}, column {exc.colno})"
            raise TemplateError([msg]) from exc
    try:
        return tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        raise TemplateError([f"{path.name}: TOML syntax error: {exc}"]) from exc


def load_template_data(data: Mapping[str, Any], source: str = "<data>") -> Template:
    """Check already-parsed template data and return the Template."""
    if not isinstance(data, Mapping):
        raise TemplateError([f"{source}: the template must be a table (JSON object)"])
    return _build(copy.deepcopy(dict(data)), source)


def _build(data: Any, source: str) -> Template:
    """Check data the loader owns (it becomes Template.source) and return the Template."""
    if not isinstance(data, dict):
        raise TemplateError([f"{source}: the template must be a table (JSON object)"])
    reader = Reader(data)
    template = reader.read()
    errors = _not_json(data) + reader.errors + check_template(template)
    if errors:
        raise TemplateError([f"{source}: {e}" for e in errors])
    log.debug("loaded template %s %s from %s", template.id, template.version, source)
    return template


def _not_json(data: dict[str, Any]) -> list[str]:
    """Return a problem for each value JSON cannot carry; fast when there is none."""
    try:
        json.dumps(data)
        return []
    except (TypeError, ValueError):
        return _not_plain(data)


def _not_plain(value: Any, path: str = "") -> list[str]:
    """Return a problem for each value JSON cannot carry (TOML dates and times)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _not_plain(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _not_plain(v, f"{path}[{i}]")]
    if value is None or isinstance(value, str | int | float | bool):
        return []
    return [f"{path}: dates and times must be written as quoted strings, got {value}"]
