"""The review round-trip as supervisors and crews live it: return, fix, approve, amend, void, sign off."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlite_utils
from flask import Flask
from werkzeug.datastructures import MultiDict

from app import template_versions
from forms.builder import form_data_from_answers, zone_named
from tests.app.supervisor_builders import finalize, post_form
from tests.conftest import add_personas, make_app, valid_answers


def outbox_versions(db: sqlite_utils.Database, encounter_id: str) -> dict[int, dict[str, Any]]:
    rows = db.execute("SELECT record_version, payload FROM outbox WHERE encounter_id = ?", [encounter_id])
    return {version: json.loads(payload) for version, payload in rows}


def status_of(db: sqlite_utils.Database, encounter_id: str) -> tuple[str, int | None]:
    row = db.execute("SELECT status, record_version FROM encounters WHERE id = ?", [encounter_id]).fetchone()
    return row[0], row[1]


def stored(api: Any, encounter_id: str) -> dict[str, Any]:
    body: dict[str, Any] = api.get(f"/api/v1/encounters/{encounter_id}").get_json()
    return body


def test_returned_record_reaches_the_responders_home_with_the_note(
    login_as: Any, db: sqlite_utils.Database
) -> None:
    rita, sam = login_as("responder"), login_as("supervisor")
    encounter_id = finalize(rita, valid_answers())
    response = post_form(
        sam,
        f"/supervisor/encounters/{encounter_id}/return",
        {"note": "Age looks wrong: check the client's date of birth."},
    )
    assert response.status_code == 302
    assert status_of(db, encounter_id)[0] == "returned"
    home = rita.get("/").get_data(as_text=True)
    assert "Age looks wrong: check the client&#39;s date of birth." in home
    mine = rita.get("/api/v1/encounters?mine=1").get_json()["encounters"]
    assert [(e["id"], e["status"]) for e in mine] == [(encounter_id, "returned")]


def test_responder_fixes_and_resubmits_then_supervisor_approves_and_it_locks(
    login_as: Any, db: sqlite_utils.Database
) -> None:
    rita, sam = login_as("responder"), login_as("supervisor")
    answers = valid_answers()
    encounter_id = finalize(rita, answers)
    post_form(
        sam, f"/supervisor/encounters/{encounter_id}/return", {"note": "Location is a park, not a sidewalk."}
    )
    answers["location_type"] = "park"
    finalize(rita, answers, encounter_id, base_revision=stored(rita, encounter_id)["revision"])
    assert status_of(db, encounter_id) == ("amended", 2)
    assert post_form(sam, f"/supervisor/encounters/{encounter_id}/approve", {"note": ""}).status_code == 302
    assert status_of(db, encounter_id) == ("approved", 2)
    again = rita.save(
        answers,
        status="final",
        encounter_id=encounter_id,
        base_revision=stored(rita, encounter_id)["revision"],
    )
    assert again.status_code == 409 and again.get_json()["error"] == "locked"
    assert sorted(outbox_versions(db, encounter_id)) == [1, 2]


def test_return_without_a_note_is_refused_and_changes_nothing(
    login_as: Any, db: sqlite_utils.Database
) -> None:
    rita, sam = login_as("responder"), login_as("supervisor")
    encounter_id = finalize(rita, valid_answers())
    response = post_form(sam, f"/supervisor/encounters/{encounter_id}/return", {"note": "   "})
    assert response.status_code == 400
    assert "Write a note telling the crew what to correct." in response.get_data(as_text=True)
    assert status_of(db, encounter_id) == ("final", 1)


def test_responder_cannot_approve_or_open_the_review_pages(login_as: Any, db: sqlite_utils.Database) -> None:
    rita = login_as("responder")
    encounter_id = finalize(rita, valid_answers())
    assert post_form(rita, f"/supervisor/encounters/{encounter_id}/approve", {}).status_code == 403
    assert rita.get(f"/supervisor/encounters/{encounter_id}").status_code == 403
    assert rita.get("/supervisor/metrics").status_code == 403
    assert status_of(db, encounter_id) == ("final", 1)


def test_responder_cannot_see_another_crews_records(login_as: Any) -> None:
    rita, ray = login_as("responder"), login_as("responder2")
    encounter_id = finalize(rita, valid_answers())
    assert ray.get(f"/api/v1/encounters/{encounter_id}").status_code == 404
    assert ray.get(f"/supervisor/encounters/{encounter_id}").status_code == 403
    assert ray.get("/supervisor/export.csv").status_code == 403


def amend_form(
    app: Flask, answers: dict[str, Any], encounter_id: str, revision: int, reason: str
) -> MultiDict:
    """Return the amendment form as the page posts it (the builder's own field names)."""
    with app.app_context():
        from app.db import get_db

        template = template_versions.active(get_db())
        assert template is not None
        data = form_data_from_answers(template, answers, zone=zone_named("America/Denver"))
    data.update(
        {
            "encounter_uuid": encounter_id,
            "base_revision": str(revision),
            "time_zone": "America/Denver",
            "reason": reason,
            "action": "amend",
        }
    )
    return data


def approved_record(login_as: Any) -> tuple[Any, Any, str, dict[str, Any]]:
    rita, sam = login_as("responder"), login_as("supervisor")
    answers = valid_answers()
    encounter_id = finalize(rita, answers)
    assert post_form(sam, f"/supervisor/encounters/{encounter_id}/approve", {}).status_code == 302
    return rita, sam, encounter_id, answers


def test_amendment_needs_a_reason_and_creates_a_new_revision_and_version(
    app: Flask, login_as: Any, db: sqlite_utils.Database
) -> None:
    rita, sam, encounter_id, _ = approved_record(login_as)
    page = sam.get(f"/supervisor/encounters/{encounter_id}/amend")
    assert page.status_code == 200 and "Reason for the amendment" in page.get_data(as_text=True)
    current = stored(sam, encounter_id)
    changed = {**current["answers"], "location_type": "park"}
    form = amend_form(app, changed, encounter_id, current["revision"], reason="")
    refused = sam.client.post(
        f"/supervisor/encounters/{encounter_id}/amend",
        data={**form.to_dict(flat=False), "csrf_token": sam.refresh_token()},
    )
    assert refused.status_code == 400
    assert "Say why the approved record is amended." in refused.get_data(as_text=True)
    assert status_of(db, encounter_id) == ("approved", 1)

    form = amend_form(
        app, changed, encounter_id, current["revision"], reason="Follow-up call: it was a park."
    )
    done = sam.client.post(
        f"/supervisor/encounters/{encounter_id}/amend",
        data={**form.to_dict(flat=False), "csrf_token": sam.refresh_token()},
    )
    assert done.status_code == 302, done.get_data(as_text=True)
    assert status_of(db, encounter_id) == ("amended", 2)
    revision = db.execute(
        "SELECT reason, status FROM encounter_revisions WHERE encounter_id = ?"
        " ORDER BY revision DESC LIMIT 1",
        [encounter_id],
    ).fetchone()
    assert revision == ("Follow-up call: it was a park.", "amended")
    versions = outbox_versions(db, encounter_id)
    assert versions[2]["location_type"] == "park" and versions[2]["record_status"] == "amended"


def test_amending_a_record_that_is_not_approved_is_refused(login_as: Any, db: sqlite_utils.Database) -> None:
    rita, sam = login_as("responder"), login_as("supervisor")
    encounter_id = finalize(rita, valid_answers())
    response = sam.get(f"/supervisor/encounters/{encounter_id}/amend")
    assert response.status_code == 302
    assert "Only approved records are amended" in sam.get(response.headers["Location"]).get_data(as_text=True)


def test_revision_diff_shows_the_changed_fields_with_their_labels(login_as: Any) -> None:
    rita, sam = login_as("responder"), login_as("supervisor")
    answers = valid_answers()
    encounter_id = finalize(rita, answers)
    post_form(sam, f"/supervisor/encounters/{encounter_id}/return", {"note": "Check the place and housing."})
    answers["location_type"] = "apartment"
    answers["persons"][0]["housing_status"] = "housed"
    finalize(rita, answers, encounter_id, base_revision=stored(rita, encounter_id)["revision"])
    page = sam.get(f"/supervisor/encounters/{encounter_id}").get_data(as_text=True)
    latest = page.split('data-revision="2"')[1]
    assert 'data-changed="location_type"' in latest and 'data-changed="persons[0].housing_status"' in latest
    assert '<td class="before">Sidewalk</td><td class="after">Apartment</td>' in latest
    assert 'Street, car, encampment</td><td class="after">Housed</td>' in latest
    assert 'data-changed="call_source"' not in latest


def test_every_view_of_an_encounter_is_audited_and_identifying_answers_stay_hidden_unless_asked(
    login_as: Any, db: sqlite_utils.Database
) -> None:
    rita, sam = login_as("responder"), login_as("supervisor")
    encounter_id = finalize(rita, valid_answers())
    plain = sam.get(f"/supervisor/encounters/{encounter_id}").get_data(as_text=True)
    assert "Found J. Doe near the bus shelter" not in plain and "CL-004417" not in plain
    assert "hidden (identifying)" in plain
    revealed = sam.get(f"/supervisor/encounters/{encounter_id}?pii=1").get_data(as_text=True)
    assert "Found J. Doe near the bus shelter" in revealed and "CL-004417" in revealed
    views = db.execute(
        "SELECT actor, details FROM audit_log WHERE action = 'encounter.view' AND target = ? ORDER BY id",
        [encounter_id],
    ).fetchall()
    assert [(actor, json.loads(details)["pii"]) for actor, details in views] == [
        ("sam", False),
        ("sam", True),
    ]


def test_shift_sign_off_is_refused_while_a_record_is_unapproved(
    login_as: Any, db: sqlite_utils.Database
) -> None:
    rita, sam = login_as("responder"), login_as("supervisor")
    encounter_id = finalize(rita, valid_answers())
    shift_id = db.execute("SELECT shift_id FROM encounters WHERE id = ?", [encounter_id]).fetchone()[0]
    assert post_form(rita, "/shift/end", {}).status_code == 302
    refused = post_form(sam, f"/supervisor/shifts/{shift_id}/sign-off", {})
    assert refused.status_code == 409
    assert "1 encounter(s) in this shift are not approved or voided yet" in refused.get_data(as_text=True)
    assert db.execute("SELECT signed_off_at FROM shifts WHERE id = ?", [shift_id]).fetchone()[0] is None
    post_form(sam, f"/supervisor/encounters/{encounter_id}/approve", {})
    assert post_form(sam, f"/supervisor/shifts/{shift_id}/sign-off", {}).status_code == 302
    assert 'data-signed-off="yes"' in sam.get(f"/supervisor/shifts/{shift_id}").get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'shift.sign_off'").fetchone()[0] == 1


def test_voiding_a_record_sends_a_voided_version_that_retracts_it(
    login_as: Any, db: sqlite_utils.Database
) -> None:
    rita, sam = login_as("responder"), login_as("supervisor")
    encounter_id = finalize(rita, valid_answers())
    assert post_form(sam, f"/supervisor/encounters/{encounter_id}/void", {"reason": ""}).status_code == 400
    assert (
        post_form(
            sam, f"/supervisor/encounters/{encounter_id}/void", {"reason": "Duplicate of the CR-2 record."}
        ).status_code
        == 302
    )
    assert status_of(db, encounter_id) == ("voided", 2)
    assert outbox_versions(db, encounter_id)[2]["record_status"] == "voided"


def test_with_approval_required_the_record_is_queued_only_when_approved(tmp_path: Path) -> None:
    app = make_app(tmp_path / "instance", sync={"require_approval": True})
    add_personas(app)
    from tests.conftest import PERSONAS, ApiClient, AuthActions

    def login(name: str) -> ApiClient:
        client = app.test_client()
        AuthActions(client).login(name)
        return ApiClient(client, PERSONAS[name])

    rita, sam = login("responder"), login("supervisor")
    encounter_id = finalize(rita, valid_answers())
    db = sqlite_utils.Database(app.config["DATABASE"])
    assert outbox_versions(db, encounter_id) == {}
    post_form(sam, f"/supervisor/encounters/{encounter_id}/approve", {})
    assert sorted(outbox_versions(db, encounter_id)) == [1]
    db.conn.close()
