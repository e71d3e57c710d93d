"""Whatever a client sends, the receiver answers with a clear 4xx or a per-record result, never a 5xx."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from sync.receiver import create_receiver
from tests.sync.sync_builders import AGENCY, TOKEN, make_payload, template

HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    db = tmp_path_factory.mktemp("receiver") / "state.sqlite"
    return create_receiver(db, {TOKEN: AGENCY}, template()).test_client()


def _with(**changes: Any) -> dict[str, Any]:
    return make_payload(**changes)


def _person(**changes: Any) -> dict[str, Any]:
    payload = make_payload()
    payload["persons"][0].update(changes)
    return payload


ODD_RECORDS = [
    None,
    1,
    "x",
    [],
    {},
    _with(encounter_id=[]),
    _with(template_id={"a": 1}),
    _with(record_version="2"),
    _with(agency_id=None),
    _with(persons="everyone"),
    _with(persons=[1, 2]),
    _with(call_source={"nv": ["x"]}),
    _with(call_source={"value": "911", "pn": "refused", "extra": 1}),
    _with(team_roles=[["emt"]]),
    _with(team_roles="emt"),
    _with(encounter_hour=99),
    _with(notify_s=-5),
    _with(unit_key="CR-3"),
    _with(incident_zip3=802),
    _person(needs=[{"x": 1}]),
    _person(age_band=None),
    _person(person_seq=1.5),
]


@pytest.mark.parametrize("record", ODD_RECORDS)
def test_an_odd_record_is_rejected_with_a_message_and_no_5xx(client: FlaskClient, record: Any) -> None:
    response = client.post(
        "/v1/submissions", data=json.dumps({"agency_id": AGENCY, "records": [record]}), headers=HEADERS
    )
    assert response.status_code == 200, response.text
    [result] = response.get_json()["results"]
    assert result["status"] == "rejected" and result["messages"]
    assert all(m["message"] for m in result["messages"])


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"null",
        b"[]",
        b'{"records": {}}',
        b'{"agency_id": 5, "records": []}',
        b"\xff\xfe",
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_an_odd_body_gets_a_400(client: FlaskClient, body: bytes) -> None:
    response = client.post("/v1/submissions", data=body, headers=HEADERS)
    assert response.status_code == 400 and response.get_json()["message"]


def test_a_body_above_the_byte_limit_gets_a_413(tmp_path: Path) -> None:
    app = create_receiver(tmp_path / "s.sqlite", {TOKEN: AGENCY}, template(), limits={"max_bytes": 1000})
    response = app.test_client().post("/v1/submissions", data=b"x" * 5000, headers=HEADERS)
    assert response.status_code == 413 and response.get_json()["details"]["max_bytes"] == 1000


def test_fault_control_is_off_unless_asked_for(client: FlaskClient) -> None:
    assert client.post("/_faults", json={"down": True}).status_code == 404
    assert client.post("/_template", json={}).status_code == 404
    assert client.get("/v1/limits", headers=HEADERS).status_code == 200
