"""Render config.example.toml and the settings table of docs/configuration.md from app.config.SETTINGS.

`python -m app.config example|docs` prints them; a test keeps both files equal to what
these functions return.
"""

from __future__ import annotations

from typing import Any

from app.config import SECTIONS, SETTINGS


def render_example() -> str:
    """Return config.example.toml: every setting at its default, its help as a comment."""
    lines = [
        "# Crewlog settings. Every setting is shown at its default value.",
        "# Each can also be set in the environment as CREWLOG_<SECTION>_<KEY>.",
        "",
    ]
    for section in SECTIONS:
        lines.append(f"[{section}]")
        for s in (s for s in SETTINGS if s.section == section):
            lines += [f"# {s.help}", f"{s.key} = {_toml_value(s.default)}"]
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def render_docs() -> str:
    """Return the Markdown table of settings used in docs/configuration.md."""
    rows = ["| setting | type | default | environment | meaning |", "|---|---|---|---|---|"]
    for s in SETTINGS:
        default = _toml_value(s.default)
        rows.append(f"| `[{s.section}] {s.key}` | {s.type} | `{default}` | `{s.env_name}` | {s.help} |")
    return "\n".join(rows) + "\n"
