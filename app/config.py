"""Settings: one table of every setting, read from defaults, a TOML file, then the environment.

The table below is the single list of settings. `config.example.toml` and
docs/configuration.md are generated from it (`python -m app.config example|docs`) and a
test keeps them equal, so the documentation can never drift from the code.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_PREFIX = "CREWLOG_"
CONFIG_ENV = "CREWLOG_CONFIG"

Settings = dict[str, dict[str, Any]]


class ConfigError(Exception):
    """A setting has a bad value, or the config file names something unknown."""


@dataclass(frozen=True)
class Setting:
    """One setting: where it lives, its type, its default and what it does."""

    section: str
    key: str
    type: str  # str, int, float, bool, list
    default: Any
    help: str
    minimum: int | None = None  # the smallest value allowed (int settings)

    @property
    def env_name(self) -> str:
        """Return the environment variable that overrides this setting."""
        return f"{ENV_PREFIX}{self.section}_{self.key}".upper()


def _s(section: str, key: str, type_: str, default: Any, help_: str, minimum: int | None = None) -> Setting:
    return Setting(section, key, type_, default, help_, minimum)


SETTINGS: tuple[Setting, ...] = (
    _s("server", "host", "str", "127.0.0.1", "Address `crewlog serve` listens on."),
    _s("server", "port", "int", 8080, "Port `crewlog serve` listens on."),
    _s("server", "threads", "int", 8, "Threads per serving process (waitress)."),
    _s(
        "server",
        "workers",
        "int",
        1,
        "Serving processes sharing the port (Linux/macOS). On a server use about four per core, "
        "with threads = 4: each process runs one request's Python at a time.",
    ),
    _s(
        "server",
        "writer_process",
        "bool",
        True,
        "Write record saves from one writer process, sharing disk flushes across serving "
        "processes (Linux; saves are written in the serving process when it is off or down).",
    ),
    _s(
        "server",
        "instance_path",
        "str",
        "instance",
        "Folder for the database and key files (relative paths start at the working directory).",
    ),
    _s(
        "server",
        "secret_key_file",
        "str",
        "",
        "File holding the session signing key; empty means <instance_path>/secret_key.",
    ),
    _s("database", "path", "str", "", "SQLite database file; empty means <instance_path>/crewlog.sqlite."),
    _s("security", "session_idle_minutes", "int", 30, "Log out after this many minutes without a request."),
    _s(
        "security", "session_absolute_hours", "int", 12, "Log out this many hours after login, active or not."
    ),
    _s("security", "login_max_failures", "int", 5, "Failed logins in a row before the account is locked.", 1),
    _s("security", "lockout_minutes", "int", 15, "How long a locked account or address stays locked.", 1),
    _s(
        "security",
        "address_max_failures",
        "int",
        20,
        "Failed logins from one client address (any usernames) within lockout_minutes before that"
        " address is refused for lockout_minutes; 0 turns this off.",
        0,
    ),
    _s(
        "security",
        "trusted_proxies",
        "int",
        0,
        "Reverse proxies in front of Crewlog that append to X-Forwarded-For; login throttling reads"
        " the client address that many hops back (0: the connection's own address).",
        0,
    ),
    _s(
        "security",
        "secure_cookies",
        "bool",
        True,
        "Send cookies over HTTPS only; set false only for http://localhost development.",
    ),
    _s("security", "max_body_kb", "int", 512, "Largest request body accepted, in KiB."),
    _s("template", "path", "str", "", "Template file to use instead of the shipped state template."),
    _s(
        "template",
        "extended_fields",
        "list",
        [],
        "Ids of the extended template fields this program collects.",
    ),
    _s("agency", "id", "str", "demo-agency", "Agency id assigned by the state (sent with every record)."),
    _s("agency", "name", "str", "Demo crisis response program", "Program name shown on pages."),
    _s("agency", "timezone", "str", "America/Denver", "IANA time zone of the program."),
    _s(
        "agency",
        "program_model",
        "str",
        "community_responder",
        "Program model code (template code list program_model) for units without their own.",
    ),
    _s("agency", "home_county", "str", "08031", "Default county FIPS code for new units."),
    _s("agency", "state_fips", "str", "08", "State FIPS code filled into incident_state."),
    _s("sync", "enabled", "bool", False, "Run the sync worker inside `crewlog serve`."),
    _s("sync", "endpoint", "str", "", "Base URL of the state endpoint, e.g. https://state.example/api."),
    _s("sync", "token", "str", "", "Bearer token the state issued to this agency."),
    _s("sync", "agency_id", "str", "", "Agency id for the state; empty means [agency] id."),
    _s(
        "sync",
        "require_approval",
        "bool",
        False,
        "Queue a record for the state only after a supervisor approves it.",
    ),
    _s("sync", "interval_seconds", "int", 30, "Seconds between sync runs when the queue is idle."),
    _s("sync", "batch_size", "int", 100, "Largest number of records sent in one request."),
    _s("sync", "connect_timeout_s", "float", 5.0, "Seconds to wait for a connection to the state."),
    _s("sync", "read_timeout_s", "float", 30.0, "Seconds to wait for the state's answer."),
    _s("sync", "max_backoff_s", "int", 600, "Longest wait between retries after failures, in seconds."),
    _s("receiver", "port", "int", 8090, "Port of the local reference receiver (`crewlog receiver`)."),
    _s("receiver", "db", "str", "", "Receiver database; empty means <instance_path>/receiver.sqlite."),
    _s("receiver", "token", "str", "", "Token the reference receiver accepts, as TOKEN or TOKEN:AGENCY."),
    _s(
        "review",
        "draft_overdue_hours",
        "int",
        24,
        "The shift log flags a draft still open this many hours after its call cleared.",
        1,
    ),
)

SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(s.section for s in SETTINGS))
_BY_KEY = {(s.section, s.key): s for s in SETTINGS}
_TYPE_WORDS = {
    "str": "text",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "list": "a list of text",
}


def defaults() -> Settings:
    """Return every setting at its default value."""
    result: Settings = {section: {} for section in SECTIONS}
    for s in SETTINGS:
        result[s.section][s.key] = list(s.default) if isinstance(s.default, list) else s.default
    return result


def load_settings(
    config_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Return settings from defaults, then the TOML file, then CREWLOG_* environment variables."""
    env = os.environ if env is None else env
    settings = defaults()
    path = config_file or env.get(CONFIG_ENV) or None
    if path:
        _merge(settings, _read_file(Path(path)), str(path))
    _merge_env(settings, env)
    if overrides:
        _merge(settings, overrides, "test config")
    return resolve_paths(settings)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _merge(settings: Settings, data: Mapping[str, Any], source: str) -> None:
    for section, values in data.items():
        if section not in SECTIONS:
            raise ConfigError(f"{source}: unknown section [{section}] (known: {', '.join(SECTIONS)})")
        if not isinstance(values, Mapping):
            raise ConfigError(f"{source}: [{section}] must be a table of settings")
        for key, value in values.items():
            setting = _BY_KEY.get((section, key))
            if setting is None:
                known = ", ".join(s.key for s in SETTINGS if s.section == section)
                raise ConfigError(f"{source}: unknown setting [{section}] {key} (known: {known})")
            settings[section][key] = check_value(setting, value, source)


def check_value(setting: Setting, value: Any, source: str) -> Any:
    """Return the value if it has the setting's type, else raise a ConfigError naming it."""
    kind = setting.type
    ok = {
        "str": isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "list": isinstance(value, list) and all(isinstance(v, str) for v in value),
    }[kind]
    if not ok:
        raise ConfigError(
            f"{source}: [{setting.section}] {setting.key} must be {_TYPE_WORDS[kind]}, got {value!r}"
        )
    _check_minimum(setting, value, f"{source}: [{setting.section}] {setting.key}")
    return float(value) if kind == "float" else value


def _check_minimum(setting: Setting, value: Any, where: str) -> None:
    if setting.minimum is not None and value < setting.minimum:
        raise ConfigError(f"{where} must be {setting.minimum} or more, got {value!r}")


def _merge_env(settings: Settings, env: Mapping[str, str]) -> None:
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("_")
        if section not in SECTIONS:
            continue  # not ours: other CREWLOG_* variables are left alone
        setting = _BY_KEY.get((section, key))
        if setting is None:
            raise ConfigError(f"environment {name}: unknown setting [{section}] {key}")
        settings[section][key] = parse_text(setting, raw, f"environment {name}")


def parse_text(setting: Setting, raw: str, source: str) -> Any:
    """Return the typed value of a setting given as text (environment variables)."""
    text = raw.strip()
    try:
        if setting.type == "int":
            _check_minimum(setting, number := int(text), source)
            return number
        if setting.type == "float":
            return float(text)
    except ValueError:
        raise ConfigError(f"{source}: must be {_TYPE_WORDS[setting.type]}, got {raw!r}") from None
    if setting.type == "bool":
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{source}: must be true or false, got {raw!r}")
    if setting.type == "list":
        return [item.strip() for item in text.split(",") if item.strip()]
    return raw


def resolve_paths(settings: Settings) -> Settings:
    """Fill the empty path settings from the instance folder and make paths absolute."""
    instance = Path(settings["server"]["instance_path"]).expanduser().absolute()
    settings["server"]["instance_path"] = str(instance)
    defaults_in_instance = {
        ("server", "secret_key_file"): "secret_key",
        ("database", "path"): "crewlog.sqlite",
        ("receiver", "db"): "receiver.sqlite",
    }
    for (section, key), name in defaults_in_instance.items():
        value = settings[section][key]
        settings[section][key] = str(Path(value).expanduser().absolute()) if value else str(instance / name)
    if not settings["sync"]["agency_id"]:
        settings["sync"]["agency_id"] = settings["agency"]["id"]
    return settings


if __name__ == "__main__":  # python -m app.config example|docs
    from app.config_docs import render_docs, render_example

    sys.stdout.write(render_example() if sys.argv[1:] == ["example"] else render_docs())
