"""The JSON API as the tablet uses it: CSRF on, real SQLite file, personas."""

from __future__ import annotations

import json
import uuid
from typing import Any

import sqlite_utils
from flask import Flask
from flask.testing import FlaskClient

from app import db as app_db
from tests.conftest import PERSONAS, ApiClient, AuthActions, encounter_body, valid_answers

FINAL_ACKS = ["R21"]  # the builder's person refused race/ethnicity: a warning to acknowledge


def finalize(api: ApiClient, answers: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    return api.save(answers or valid_answers(), status="final", acknowledged=FINAL_ACKS, **kwargs)


def revisions(db: sqlite_utils.Database, encounter_id: str) -> int:
    return int(
        db.execute(
            "SELECT count(*) FROM encounter_revisions WHERE encounter_id = ?", [encounter_id]
        ).fetchone()[0]
    )


def test_health_check_answers_without_login(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_not_logged_in_gets_401_json_never_a_redirect(client: FlaskClient) -> None:
    for response in (client.get("/api/v1/template"), client.post("/api/v1/encounters", json={})):
        assert response.status_code in (400, 401)
        assert response.is_json
        assert "Location" not in response.headers
    assert client.get("/api/v1/template").get_json()["error"] == "unauthorized"


def test_template_is_served_with_the_enabled_extended_fields(login_as: Any) -> None:
    body = login_as("responder").get("/api/v1/template").get_json()
    assert body["template"]["id"] == "state-standard"
    assert body["enabled_extended"] == []


def test_draft_is_created_then_updated(login_as: Any, db: sqlite_utils.Database) -> None:
    api = login_as("responder")
    encounter_id = str(uuid.uuid4())
    created = api.save({"call_source": "911"}, encounter_id=encounter_id)
    assert created.status_code == 201
    assert created.get_json() | {"messages": []} == {
        "id": encounter_id,
        "revision": 1,
        "status": "draft",
        "record_version": None,
        "messages": [],
    }
    updated = api.save({"call_source": "988"}, encounter_id=encounter_id, base_revision=1)
    assert updated.status_code == 200 and updated.get_json()["revision"] == 2
    changed = db.execute("SELECT changed_fields FROM encounter_revisions WHERE revision = 2").fetchone()[0]
    assert json.loads(changed) == ["call_source"]


def test_identical_resend_returns_the_same_revision_and_creates_nothing(
    login_as: Any, db: sqlite_utils.Database
) -> None:
    api = login_as("responder")
    body = encounter_body(valid_answers(), status="final", acknowledged=FINAL_ACKS)
    first = api.post("/api/v1/encounters", body)
    again = api.post("/api/v1/encounters", body)
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["revision"] == first.get_json()["revision"] == 1
    assert again.get_json()["status"] == "final"
    assert revisions(db, body["id"]) == 1
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1


def test_stale_base_revision_is_a_409_conflict_with_the_current_revision(login_as: Any) -> None:
    api = login_as("responder")
    encounter_id = str(uuid.uuid4())
    api.save({"call_source": "911"}, encounter_id=encounter_id)
    api.save({"call_source": "988"}, encounter_id=encounter_id, base_revision=1)
    stale = api.save({"call_source": "311"}, encounter_id=encounter_id, base_revision=1)
    assert stale.status_code == 409
    assert stale.get_json()["error"] == "conflict" and stale.get_json()["current_revision"] == 2


def test_draft_with_a_wrong_type_is_refused_naming_the_field(login_as: Any) -> None:
    response = login_as("responder").save(
        {"unit_disposition": "contact_made", "persons": [{"age_years": "forty"}]}
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "validation"
    assert any(m["field"] == "persons[0].age_years" and m["row"] == 0 for m in body["messages"])


def test_finalize_with_missing_answers_lists_each_field(login_as: Any) -> None:
    answers = valid_answers()
    del answers["cleared_at"]
    response = finalize(login_as("responder"), answers)
    assert response.status_code == 422
    fields = {m["field"] for m in response.get_json()["messages"]}
    assert "cleared_at" in fields


def test_finalize_needs_every_warning_acknowledged(login_as: Any) -> None:
    api = login_as("responder")
    answers = valid_answers()
    del answers["psap_incident_id"]  # R22: dispatched call without an incident number
    encounter_id = str(uuid.uuid4())
    refused = api.save(answers, status="final", encounter_id=encounter_id, acknowledged=["R21"])
    assert refused.status_code == 422
    assert [m["rule"] for m in refused.get_json()["messages"]] == ["R22"]
    accepted = api.save(answers, status="final", encounter_id=encounter_id, acknowledged=["R21", "R22"])
    assert accepted.status_code == 201
    assert accepted.get_json()["status"] == "final" and accepted.get_json()["record_version"] == 1


def test_malformed_requests_get_specific_400s(login_as: Any) -> None:
    api = login_as("responder")
    api.refresh_token()
    raw = api.client.post(
        "/api/v1/encounters",
        data="{not json",
        content_type="application/json",
        headers={"X-CSRFToken": api.token},
    )
    assert raw.status_code == 400 and "must be JSON" in raw.get_json()["message"]
    missing = api.post("/api/v1/encounters", {"id": str(uuid.uuid4())})
    assert (
        missing.status_code == 400
        and "status, template_id, template_version, answers" in missing.get_json()["message"]
    )
    bad_id = api.post("/api/v1/encounters", encounter_body({}, encounter_id="12345"))
    assert bad_id.status_code == 400 and bad_id.get_json()["message"] == "'id' must be a UUID string."
    bad_status = api.post("/api/v1/encounters", {**encounter_body({}), "status": "approved"})
    assert bad_status.status_code == 400 and "'status'" in bad_status.get_json()["message"]


def test_unknown_template_version_is_refused_with_a_clear_message(login_as: Any) -> None:
    body = {**encounter_body({}), "template_version": "1999.9"}
    response = login_as("responder").post("/api/v1/encounters", body)
    assert response.status_code == 422 and "1999.9" in response.get_json()["message"]


def test_numbers_json_does_not_allow_are_refused_naming_the_problem(login_as: Any) -> None:
    api = login_as("responder")
    api.refresh_token()
    body = json.dumps(encounter_body({"persons": [{"age_years": float("nan")}]}))
    response = api.client.post(
        "/api/v1/encounters", data=body, content_type="application/json", headers={"X-CSRFToken": api.token}
    )
    assert response.status_code == 400
    message = response.get_json()["message"]
    assert "must be JSON" in message and f"column {body.index('NaN') + 1}" in message  # points at NaN


def test_a_csrf_token_works_only_with_the_session_it_was_issued_to(login_as: Any) -> None:
    rita, ray = login_as("responder"), login_as("responder2")
    assert rita.save({"call_source": "911"}).status_code == 201
    assert rita.save({"call_source": "988"}).status_code == 201  # the same token, accepted again
    ray.token = rita.token
    refused = ray.save({"call_source": "911"})
    assert refused.status_code == 400 and refused.get_json()["error"] == "csrf"


def test_oversize_body_is_a_413_json(login_as: Any) -> None:
    api = login_as("responder")
    answers = {"narrative": "x" * (600 * 1024)}
    response = api.save(answers)
    assert response.status_code == 413
    assert response.get_json()["error"] == "too_large" and "512 KiB" in response.get_json()["message"]


def test_missing_csrf_token_is_a_400_json_csrf_error(login_as: Any) -> None:
    api = login_as("responder")
    response = api.client.post("/api/v1/encounters", json=encounter_body({}))
    assert response.status_code == 400
    assert response.get_json()["error"] == "csrf"


def test_finalized_record_cannot_be_edited_by_its_responder(login_as: Any) -> None:
    api = login_as("responder")
    encounter_id = str(uuid.uuid4())
    finalize(api, encounter_id=encounter_id)
    edit = api.save({"call_source": "988"}, encounter_id=encounter_id, base_revision=1)
    assert edit.status_code == 409
    assert edit.get_json()["error"] == "locked" and "supervisor" in edit.get_json()["message"]


def test_returned_record_is_edited_by_its_author_and_refinalized_as_an_amendment(
    login_as: Any, db: sqlite_utils.Database
) -> None:
    api = login_as("responder")
    encounter_id = str(uuid.uuid4())
    answers = valid_answers()
    finalize(api, answers, encounter_id=encounter_id)
    db.execute("UPDATE encounters SET status = 'returned' WHERE id = ?", [encounter_id])
    answers["location_type"] = "park"
    draft = api.save(answers, encounter_id=encounter_id, base_revision=1)
    assert draft.status_code == 200 and draft.get_json()["status"] == "returned"
    final = finalize(api, answers, encounter_id=encounter_id, base_revision=2)
    assert final.get_json()["status"] == "amended" and final.get_json()["record_version"] == 2
    versions = db.execute(
        "SELECT record_version FROM outbox WHERE encounter_id = ? ORDER BY 1", [encounter_id]
    )
    assert [r[0] for r in versions] == [1, 2]


def test_version_sent_to_nobody_is_not_bumped_when_refinalized(tmp_path: Any) -> None:
    from tests.conftest import add_personas, make_app

    app = make_app(tmp_path / "inst", sync={"require_approval": True})
    add_personas(app)
    client = app.test_client()
    AuthActions(client).login("responder")
    api = ApiClient(client, PERSONAS["responder"])
    encounter_id = str(uuid.uuid4())
    answers = valid_answers()
    assert finalize(api, answers, encounter_id=encounter_id).get_json()["record_version"] == 1
    db = app_db.connect(app.config["DATABASE"])
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0  # waits for approval
    db.execute("UPDATE encounters SET status = 'returned' WHERE id = ?", [encounter_id])
    again = finalize(api, {**answers, "location_type": "park"}, encounter_id=encounter_id, base_revision=1)
    assert again.get_json()["record_version"] == 1 and again.get_json()["status"] == "final"


def test_encounter_is_visible_to_author_and_reviewers_only(login_as: Any) -> None:
    author = login_as("responder")
    encounter_id = str(uuid.uuid4())
    author.save({"call_source": "911", "narrative": "Met J. Doe"}, encounter_id=encounter_id)
    path = f"/api/v1/encounters/{encounter_id}"
    mine = author.get(path)
    assert mine.status_code == 200 and mine.get_json()["answers"]["narrative"] == "Met J. Doe"
    assert login_as("responder2").get(path).status_code == 404
    assert login_as("supervisor").get(path).get_json()["revision"] == 1
    assert login_as("admin").get(path).status_code == 200


def test_other_responder_cannot_overwrite_an_encounter(login_as: Any) -> None:
    encounter_id = str(uuid.uuid4())
    login_as("responder").save({"call_source": "911"}, encounter_id=encounter_id)
    response = login_as("responder2").save({"call_source": "988"}, encounter_id=encounter_id, base_revision=1)
    assert response.status_code == 404


def test_my_list_holds_drafts_and_returned_records_with_the_return_note(
    login_as: Any, db: sqlite_utils.Database
) -> None:
    api = login_as("responder")
    draft_id, returned_id, final_id = (str(uuid.uuid4()) for _ in range(3))
    api.save({"call_source": "911"}, encounter_id=draft_id)
    api.save({"call_source": "988"}, encounter_id=returned_id)
    finalize(api, encounter_id=final_id)
    db.execute("UPDATE encounters SET status = 'returned' WHERE id = ?", [returned_id])
    db.execute(
        "INSERT INTO review_notes (encounter_id, author, note, created_at, kind) VALUES"
        " (?, (SELECT id FROM users WHERE username = 'sam'), 'Add the ZIP code', '2026-01-01', 'return')",
        [returned_id],
    )
    listed = {e["id"]: e for e in api.get("/api/v1/encounters?mine=1").get_json()["encounters"]}
    assert set(listed) == {draft_id, returned_id}
    assert listed[returned_id]["return_note"] == "Add the ZIP code"
    assert login_as("responder2").get("/api/v1/encounters?mine=1").get_json()["encounters"] == []


def test_finalize_fills_the_auto_fields_and_queues_a_deidentified_payload(
    login_as: Any, db: sqlite_utils.Database
) -> None:
    api = login_as("responder")
    encounter_id = str(uuid.uuid4())
    finalize(api, encounter_id=encounter_id)
    answers = api.get(f"/api/v1/encounters/{encounter_id}").get_json()["answers"]
    assert answers["unit_id"] == "CR-1" and answers["record_status"] == "final"
    assert answers["completed_by_user"] == "rita"
    assert answers["completed_by_role"] == "behavioral_health_clinician"
    assert answers["persons_contacted_count"] == 1 and answers["persons"][0]["person_seq"] == 1
    payload = json.loads(
        db.execute("SELECT payload FROM outbox WHERE encounter_id = ?", [encounter_id]).fetchone()[0]
    )
    assert payload["unit_key"].startswith("k2026:") and "unit_id" not in payload
    assert "person_local_id" not in payload["persons"][0] and "narrative" not in payload
    assert payload["persons"][0]["person_link_key"].startswith("k2026:")


def test_second_encounter_with_the_same_client_marks_a_repeat_client(login_as: Any) -> None:
    api = login_as("responder")
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    finalize(api, valid_answers(hours_ago=30), encounter_id=first)
    finalize(api, valid_answers(hours_ago=3), encounter_id=second)
    first_row = api.get(f"/api/v1/encounters/{first}").get_json()["answers"]["persons"][0]
    second_row = api.get(f"/api/v1/encounters/{second}").get_json()["answers"]["persons"][0]
    assert first_row["repeat_client"] is False and second_row["repeat_client"] is True


def test_same_incident_number_on_the_same_unit_warns_of_a_duplicate(login_as: Any) -> None:
    api = login_as("responder")
    finalize(api, valid_answers(psap_incident_id="2026-0314-00871"))
    again = finalize(api, valid_answers(psap_incident_id="2026-0314-00871"))
    assert again.status_code == 422
    assert [m["rule"] for m in again.get_json()["messages"]] == ["R25"]
    other_unit = finalize(login_as("responder2"), valid_answers(psap_incident_id="2026-0314-00871"))
    assert other_unit.status_code == 201


def test_unknown_api_path_answers_json(login_as: Any) -> None:
    response = login_as("responder").get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.get_json()["errno"] == 111


def test_viewing_a_record_is_audited(login_as: Any, db: sqlite_utils.Database, app: Flask) -> None:
    api = login_as("supervisor")
    author = login_as("responder")
    encounter_id = str(uuid.uuid4())
    author.save({"call_source": "911"}, encounter_id=encounter_id)
    api.get(f"/api/v1/encounters/{encounter_id}")
    row = db.execute("SELECT actor, action FROM audit_log WHERE target = ? ORDER BY id DESC", [encounter_id])
    assert row.fetchone() == ("sam", "encounter.view")


GARBAGE_ANSWERS: list[Any] = [
    {"persons": "everyone"},
    {"unit_disposition": "contact_made", "persons": [1, "two", None]},
    {"unit_disposition": "contact_made", "persons": [{"age_years": {"nv": 5}}]},
    {"call_source": {"pn": ["x"]}},
    {"unit_notified_at": "yesterday-ish", "cleared_at": "2026-13-45T99:99:99"},
    {"team_roles": "behavioral_health_clinician"},
    {"call_source": ["911", "988"]},
    {"narrative": {"value": None, "pn": None}},
    {"no_such_field": 1},
    {"call_received_at": 12345, "incident_zip": 80205},
    {"unit_disposition": "contact_made", "persons": [{"age_years": 10**30}]},
    {"narrative": "lone surrogate \ud800 and nul \u0000"},
    {"": "", "persons": []},
]


def test_garbage_answers_never_cause_a_server_error(login_as: Any) -> None:
    api = login_as("responder")
    for answers in GARBAGE_ANSWERS:
        for status in ("draft", "final"):
            response = api.save(answers, status=status)
            assert response.status_code < 500, (answers, status, response.get_data(as_text=True))
            assert response.is_json


def test_garbage_bodies_never_cause_a_server_error(login_as: Any) -> None:
    api = login_as("responder")
    bodies: list[Any] = [
        [],
        "text",
        42,
        None,
        {"id": None},
        {**encounter_body({}), "answers": []},
        {**encounter_body({}), "base_revision": "one"},
        {**encounter_body({}), "base_revision": True},
        {**encounter_body({}), "acknowledged_warnings": "R21"},
        {**encounter_body({}), "id": 7},
    ]
    for body in bodies:
        response = api.post("/api/v1/encounters", body)
        assert response.status_code == 400, (body, response.get_data(as_text=True))
