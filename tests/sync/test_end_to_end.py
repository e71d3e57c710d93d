"""End to end: a responder finalizes in the app, the worker delivers, the state holds it once."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from sync.status import sync_status
from sync.storage import open_database
from sync.worker import run_once
from tests.sync.sync_builders import WORKED, ReceiverProcess, held, outbox_states, settings_for, template

E2E_TOKEN = "e2e-token"


@pytest.fixture
def state(tmp_path: Path, app: Flask) -> Iterator[ReceiverProcess]:
    agency = app.config["SETTINGS"]["sync"]["agency_id"]
    process = ReceiverProcess(tmp_path / "state.sqlite", "--token", f"{E2E_TOKEN}:{agency}").start()
    yield process
    process.stop()


def responder_answers() -> dict[str, Any]:
    """Return the worked example as a responder enters it: fields the system fills are left out."""
    tpl = template()
    system = {f.id for f in tpl.fields.values() if f.input in ("auto", "derived")}
    answers = {k: v for k, v in copy.deepcopy(WORKED.answers()).items() if k not in system}
    answers["persons"] = [{k: v for k, v in row.items() if k not in system} for row in answers["persons"]]
    return answers


def _finalize(login_as: Callable[[str], Any]) -> str:
    api = login_as("responder")
    response = api.save(responder_answers(), status="final")
    if response.status_code == 422:  # warnings must be acknowledged, as on the tablet
        warnings = [m["rule"] for m in response.get_json()["messages"] if m["severity"] == "WARNING"]
        response = api.save(
            responder_answers(),
            status="final",
            acknowledged=warnings,
            encounter_id=json.loads(response.request.get_data())["id"],
        )
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    return str(response.get_json()["id"])


def test_encounter_finalized_in_the_app_reaches_the_state_exactly_once(
    app: Flask, login_as: Callable[[str], Any], state: ReceiverProcess
) -> None:
    encounter_id = _finalize(login_as)
    database = Path(app.config["DATABASE"])
    settings = settings_for(state.url, token=E2E_TOKEN, agency_id=app.config["SETTINGS"]["sync"]["agency_id"])

    report = run_once(database, settings)
    run_once(database, settings)  # nothing left: no second copy

    assert report.delivered == 1 and outbox_states(database) == {"delivered": 1}
    assert held(state.db) == {(encounter_id, 1): 1}
    record = state.get(
        f"/v1/submissions/{encounter_id}", headers={"Authorization": f"Bearer {E2E_TOKEN}"}
    ).json()["current"]["record"]
    assert record["record_status"] == "final" and record["persons"][0]["age_band"]["value"] == "35_44"
    text = json.dumps(record)
    assert "CL-004417" not in text and "J. Doe" not in text and "80205" not in text
    assert sync_status(open_database(database))["last_success_at"] is not None
