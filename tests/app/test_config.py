"""Settings: defaults < file < environment, typed parsing with clear errors, docs kept honest."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from app import create_app
from app.config import SETTINGS, ConfigError, load_settings
from app.config_docs import render_docs, render_example

ROOT = Path(__file__).resolve().parents[2]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_apply_without_file_or_environment() -> None:
    settings = load_settings(None, env={})
    assert settings["security"]["session_idle_minutes"] == 30
    assert settings["security"]["lockout_minutes"] == 15
    assert settings["security"]["secure_cookies"] is True
    assert settings["template"]["extended_fields"] == []


def test_file_overrides_default_and_environment_overrides_file(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", "[security]\nsession_idle_minutes = 10\nlockout_minutes = 20\n")
    settings = load_settings(config, env={"CREWLOG_SECURITY_SESSION_IDLE_MINUTES": "5"})
    assert settings["security"]["session_idle_minutes"] == 5  # env beats file
    assert settings["security"]["lockout_minutes"] == 20  # file beats default
    assert settings["security"]["login_max_failures"] == 5  # default


def test_config_file_can_come_from_crewlog_config_variable(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", '[agency]\nname = "Eastside Crisis Team"\n')
    assert (
        load_settings(None, env={"CREWLOG_CONFIG": str(config)})["agency"]["name"] == "Eastside Crisis Team"
    )


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("CREWLOG_SECURITY_SECURE_COOKIES", "false", False),
        ("CREWLOG_SYNC_ENABLED", "yes", True),
        ("CREWLOG_SYNC_READ_TIMEOUT_S", "2.5", 2.5),
        (
            "CREWLOG_TEMPLATE_EXTENDED_FIELDS",
            "street_address, person_name",
            ["street_address", "person_name"],
        ),
    ],
)
def test_environment_values_are_parsed_by_type(variable: str, value: str, expected: object) -> None:
    section, key = variable.removeprefix("CREWLOG_").lower().split("_", 1)
    assert load_settings(None, env={variable: value})[section][key] == expected


def test_bad_environment_number_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="CREWLOG_SERVER_PORT: must be a whole number, got 'eighty'"):
        load_settings(None, env={"CREWLOG_SERVER_PORT": "eighty"})


def test_bad_environment_boolean_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="CREWLOG_SYNC_ENABLED: must be true or false"):
        load_settings(None, env={"CREWLOG_SYNC_ENABLED": "maybe"})


def test_unknown_setting_in_file_is_an_error_listing_known_keys(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", "[security]\nsession_idle_minute = 10\n")
    with pytest.raises(ConfigError, match=r"unknown setting \[security\] session_idle_minute \(known: "):
        load_settings(config, env={})


def test_unknown_section_in_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown section \[securty\]"):
        load_settings(write(tmp_path / "c.toml", "[securty]\nx = 1\n"), env={})


def test_wrong_type_in_file_is_an_error(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", '[security]\nmax_body_kb = "big"\n')
    with pytest.raises(ConfigError, match=r"\[security\] max_body_kb must be a whole number, got 'big'"):
        load_settings(config, env={})


def test_broken_toml_is_reported_with_the_file_name(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", "[security\n")
    with pytest.raises(ConfigError, match="c.toml: not valid TOML"):
        load_settings(config, env={})


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", env={})


def test_paths_default_inside_the_instance_folder(tmp_path: Path) -> None:
    settings = load_settings(None, env={"CREWLOG_SERVER_INSTANCE_PATH": str(tmp_path / "inst")})
    assert settings["database"]["path"] == str(tmp_path / "inst" / "crewlog.sqlite")
    assert settings["server"]["secret_key_file"] == str(tmp_path / "inst" / "secret_key")


def test_example_config_lists_exactly_every_setting_at_its_default() -> None:
    example_text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    parsed = tomllib.loads(example_text)
    listed = {(section, key) for section, values in parsed.items() for key in values}
    assert listed == {(s.section, s.key) for s in SETTINGS}
    assert all(parsed[s.section][s.key] == s.default for s in SETTINGS)
    assert all(f"# {s.help}" in example_text for s in SETTINGS)
    assert example_text == render_example(), "regenerate: python -m app.config example > config.example.toml"


def test_configuration_docs_match_the_settings_table() -> None:
    docs = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert render_docs() in docs, "regenerate the table: python -m app.config docs"


def test_app_refuses_to_start_without_a_secret_key_outside_testing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no secret key file .* run `crewlog init`"):
        create_app({"server": {"instance_path": str(tmp_path / "fresh")}})


def test_unknown_extended_field_in_settings_stops_the_app(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="street_adress are not extended fields"):
        create_app(
            {
                "TESTING": True,
                "server": {"instance_path": str(tmp_path)},
                "template": {"extended_fields": ["street_adress"]},
            }
        )


def test_a_setting_below_its_smallest_value_is_refused_naming_it(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", "[review]\ndraft_overdue_hours = 0\n")
    with pytest.raises(ConfigError, match=r"\[review\] draft_overdue_hours must be 1 or more, got 0"):
        load_settings(config, env={})
    with pytest.raises(ConfigError, match="CREWLOG_SECURITY_ADDRESS_MAX_FAILURES must be 0 or more, got -1"):
        load_settings(None, env={"CREWLOG_SECURITY_ADDRESS_MAX_FAILURES": "-1"})


def test_review_and_throttling_settings_have_their_documented_defaults() -> None:
    settings = load_settings(None, env={})
    assert settings["review"]["draft_overdue_hours"] == 24
    assert settings["security"]["address_max_failures"] == 20
    assert settings["security"]["trusted_proxies"] == 0
