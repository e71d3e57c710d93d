"""The `crewlog` command, run through main([...]) and, for serve, as a real process."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import time
import tomllib
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app import cli
from app.crypto import Keys, open_answers
from app.db import connect
from forms.loader import load_template_data, shipped_template_path
from forms.validation import blocking, validate
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Return a settings file for a fresh instance under tmp_path."""
    for name in [n for n in os.environ if n.startswith("CREWLOG_")]:
        monkeypatch.delenv(name)
    path = tmp_path / "crewlog.toml"
    path.write_text(f'[server]\ninstance_path = "{tmp_path / "instance"}"\n', encoding="utf-8")
    return path


def run(
    config: Path,
    *args: str,
    stdin: str | None = None,
    monkeypatch: pytest.MonkeyPatch | None = None,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str, str]:
    if stdin is not None and monkeypatch is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = cli.main(["--config", str(config), *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def crewlog(config_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Return a function running crewlog on an initialised instance."""

    def call(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
        return run(config_file, *args, stdin=stdin, monkeypatch=monkeypatch, capsys=capsys)

    assert call("init")[0] == 0
    return call


def test_init_creates_owner_only_keys_the_database_and_activates_the_template(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(config_file, "init", capsys=capsys)
    assert code == 0 and "active template: state-standard 2026.1" in out
    instance = tmp_path / "instance"
    for key in ("secret_key", "data.key"):
        assert (instance / key).stat().st_mode & 0o777 == 0o600
    assert list(instance.glob("agency-hmac-k*.key"))
    code, out, _ = run(config_file, "init", capsys=capsys)
    assert code == 0 and "created key" not in out  # a second init keeps the keys


def test_commands_before_init_say_to_run_init(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(config_file, "user", "list", capsys=capsys)
    assert code == 1 and "run `crewlog init` first" in err


def test_user_add_with_password_from_stdin_then_list(crewlog: Any) -> None:
    code, out, _ = crewlog(
        "user",
        "add",
        "maria",
        "--role",
        "responder",
        "--team-role",
        "peer_support",
        "--display-name",
        "Maria G",
        "--password-stdin",
        stdin="a-long-enough-password\n",
    )
    assert code == 0 and "a-long-enough-password" not in out
    code, out, _ = crewlog("user", "list")
    assert "maria\tresponder\tpeer_support\tactive\tMaria G" in out


def test_user_add_without_password_prints_a_generated_one(crewlog: Any) -> None:
    code, out, _ = crewlog("user", "add", "sam", "--role", "supervisor")
    assert code == 0 and "password set to " in out


def test_unknown_role_is_refused_listing_the_allowed_roles(crewlog: Any) -> None:
    code, _, err = crewlog("user", "add", "bob", "--role", "boss")
    assert code == 1 and "choose one of responder, supervisor, admin" in err


def test_unknown_team_role_is_refused_listing_the_template_codes(crewlog: Any) -> None:
    code, _, err = crewlog("user", "add", "bob", "--role", "responder", "--team-role", "wizard")
    assert code == 1 and "unknown team role 'wizard'" in err and "peer_support" in err


def test_short_password_is_refused(crewlog: Any) -> None:
    code, _, err = crewlog("user", "add", "bob", "--role", "responder", "--password-stdin", stdin="short\n")
    assert code == 1 and "at least 12 characters" in err


def test_user_disable_and_reset_password(crewlog: Any) -> None:
    crewlog("user", "add", "kim", "--role", "responder")
    assert crewlog("user", "disable", "kim")[0] == 0
    assert "kim\tresponder\t-\tdisabled" in crewlog("user", "list")[1]
    code, out, _ = crewlog("user", "reset-password", "kim")
    assert code == 0 and "password set to" in out
    code, _, err = crewlog("user", "disable", "nobody")
    assert code == 1 and "no user named 'nobody'" in err


def test_unit_with_an_unknown_program_model_is_refused(crewlog: Any) -> None:
    code, _, err = crewlog("unit", "add", "CR-8", "--program-model", "van")
    assert code == 1 and "unknown program model 'van'" in err and "mobile_crisis_team" in err


def test_flask_init_db_command_applies_migrations(tmp_path: Path) -> None:
    from tests.conftest import make_app

    result = make_app(tmp_path / "inst").test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0 and "up to date" in result.output


def test_unit_add_and_list(crewlog: Any) -> None:
    assert crewlog("unit", "add", "CR-7", "--home-county", "08001")[0] == 0
    assert "CR-7\tcommunity_responder\t08001\tactive" in crewlog("unit", "list")[1]
    code, _, err = crewlog("unit", "add", "CR-7")
    assert code == 1 and "already exists" in err


def test_demo_creates_users_once_and_finalized_encounters_that_pass_validation(
    crewlog: Any, tmp_path: Path
) -> None:
    code, out, _ = crewlog("demo", "--encounters", "12")
    assert code == 0 and out.count("demo user ") == 3 and "12 finalized encounters" in out
    saved = tmp_path / "instance" / "demo-users.txt"
    assert saved.stat().st_mode & 0o777 == 0o600 and "supervisor " in saved.read_text()
    code, out, _ = crewlog("demo", "--encounters", "3", "--seed", "7")
    assert code == 0 and "demo user " not in out  # passwords only on the first run
    db = connect(tmp_path / "instance" / "crewlog.sqlite")
    keys = Keys.load(tmp_path / "instance")
    rows = db.execute("SELECT id, answers, encounter_date FROM encounters WHERE status = 'final'").fetchall()
    assert len(rows) == 15
    template = load_template_data(json.loads(db.execute("SELECT source FROM templates").fetchone()[0]))
    for encounter_id, stored, _ in rows:
        answers = open_answers(json.loads(stored), keys, encounter_id)
        assert not blocking(validate(template, answers, finalize=True, now=datetime.now(UTC)))
    dates = sorted(r[2] for r in rows)
    assert dates[0] < dates[-1]  # spread over several days


def test_template_validate_prints_a_summary_for_the_shipped_file(crewlog: Any) -> None:
    code, out, _ = crewlog("template", "validate", str(shipped_template_path()))
    assert code == 0 and "state-standard" in out


def test_template_validate_lists_every_problem_of_a_broken_file(crewlog: Any, tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(
        shipped_template_path()
        .read_text(encoding="utf-8")
        .replace('severity = "FATAL"', 'severity = "FATALL"', 1),
        encoding="utf-8",
    )
    code, out, _ = crewlog("template", "validate", str(broken))
    assert code == 1 and "FATALL" in out and "the template was not loaded" in out


def test_template_import_list_and_activate_a_new_version(crewlog: Any, tmp_path: Path) -> None:
    source = tomllib.loads(shipped_template_path().read_text(encoding="utf-8"))
    source["template"]["version"] = "2026.2"
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(source), encoding="utf-8")
    code, out, _ = crewlog("template", "import", str(newer))
    assert code == 0 and "template state-standard 2026.2 imported" in out
    assert "2026.1\tactive" in crewlog("template", "list")[1]
    assert crewlog("template", "activate", "state-standard", "2026.2")[0] == 0
    assert "2026.2\tactive" in crewlog("template", "list")[1]
    code, _, err = crewlog("template", "activate", "state-standard", "1999.1")
    assert code == 1 and "no template state-standard 1999.1 is held" in err


def test_audit_verify_passes_then_names_the_tampered_row(crewlog: Any, tmp_path: Path) -> None:
    crewlog("user", "add", "kim", "--role", "responder")
    crewlog("unit", "add", "CR-9")
    code, out, _ = crewlog("audit", "verify")
    assert code == 0 and "audit log intact: 2 entries" in out
    with sqlite3.connect(tmp_path / "instance" / "crewlog.sqlite") as raw:
        raw.execute("UPDATE audit_log SET target = 'CR-10' WHERE id = 2")
    code, _, err = crewlog("audit", "verify")
    assert code == 1 and "row 2 was changed" in err


def test_bad_setting_in_the_environment_stops_with_a_clear_message(
    config_file: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREWLOG_SECURITY_LOCKOUT_MINUTES", "soon")
    code, _, err = run(config_file, "init", capsys=capsys)
    assert code == 1 and "CREWLOG_SECURITY_LOCKOUT_MINUTES: must be a whole number" in err


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_runs_a_real_server_that_answers_health_checks(
    crewlog: Any, config_file: Path, tmp_path: Path, workers: str
) -> None:
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    command = [str(Path(sys.executable).parent / "crewlog"), "--config", str(config_file), "serve",
               "--host", "127.0.0.1", "--port", str(port), "--workers", workers]  # fmt: skip
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        answers = [health(port) for _ in range(4)]
        assert answers == [{"status": "ok"}] * 4, (tmp_path / "serve.log").read_text()
    finally:
        server.terminate()
        code = server.wait(timeout=10)
        log.close()
    assert code == 0
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)


def health(port: int) -> Any:
    """Return the health check's answer, waiting up to 10 s for the server to come up."""
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            time.sleep(0.1)
    return None
