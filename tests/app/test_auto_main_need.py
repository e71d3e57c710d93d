"""Auto when one need: the server fills the main need of a person with exactly one need at finalize."""

from __future__ import annotations

import uuid
from typing import Any

import sqlite_utils

from tests.conftest import valid_answers


def one_need_no_main_need() -> dict[str, Any]:
    answers = valid_answers()
    answers["persons"][0].update(needs=["suspected_overdose"], naloxone_administered=False)
    del answers["persons"][0]["primary_need"]
    return answers


def test_a_person_with_one_need_finalizes_without_picking_the_main_need(
    login_as: Any, db: sqlite_utils.Database
) -> None:
    rita, sam = login_as("responder"), login_as("supervisor")
    encounter_id = str(uuid.uuid4())
    response = rita.save(one_need_no_main_need(), status="final", encounter_id=encounter_id)
    assert response.status_code == 201, response.get_json()
    stored = rita.get(f"/api/v1/encounters/{encounter_id}").get_json()
    assert stored["answers"]["persons"][0]["primary_need"] == "suspected_overdose"
    shift_id = db.execute("SELECT shift_id FROM encounters WHERE id = ?", [encounter_id]).fetchone()[0]
    page = sam.get(f"/supervisor/shifts/{shift_id}").get_data(as_text=True)
    assert "Suspected overdose" in page.split(f'data-encounter="{encounter_id}"')[1].split("</tr>")[0]


def test_a_draft_with_one_need_keeps_the_main_need_open(login_as: Any) -> None:
    rita = login_as("responder")
    encounter_id = str(uuid.uuid4())
    assert rita.save(one_need_no_main_need(), encounter_id=encounter_id).status_code == 201
    stored = rita.get(f"/api/v1/encounters/{encounter_id}").get_json()
    assert "primary_need" not in stored["answers"]["persons"][0]


def test_two_needs_still_ask_for_the_main_need(login_as: Any) -> None:
    rita = login_as("responder")
    answers = one_need_no_main_need()
    answers["persons"][0]["needs"].append("welfare_check")
    response = rita.save(answers, status="final", encounter_id=str(uuid.uuid4()))
    assert response.status_code == 422
    fields = {m["field"] for m in response.get_json()["messages"]}
    assert "persons[0].primary_need" in fields
