"""CSV exports: the de-identified state shape for supervisors, the full local export for admins."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import sqlite_utils

from app import template_versions
from forms.model import Template
from tests.app.supervisor_builders import call_answers, finalize, post_form

RANGE = "start=2026-11-01&end=2026-11-30"


def template_of(db: sqlite_utils.Database) -> Template:
    template = template_versions.active(db)
    assert template is not None
    return template


def rows_of(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def two_people(day: int) -> dict[str, Any]:
    answers = call_answers(day, client="CL-100")
    second = {**answers["persons"][0], "person_local_id": "CL-200", "age_years": 91, "sex": "female"}
    answers["persons"].append(second)
    return answers


def test_state_export_has_no_never_sent_or_identifying_field_and_parses(
    login_as: Any, db: sqlite_utils.Database
) -> None:
    rita, sam = login_as("responder"), login_as("supervisor")
    finalize(rita, two_people(3))
    finalize(rita, call_answers(4, client="CL-300"))
    response = sam.get(f"/supervisor/export.csv?{RANGE}")
    rows = rows_of(response)
    header = set(rows[0])
    for f in template_of(db).fields.values():
        if f.to_state == "never" or f.privacy == "pii":
            assert f.id not in header and f"{f.id}_nv" not in header, f.id
    assert {"person_link_key", "age_band", "incident_zip3", "response_s", "psap_incident_hash"} <= header
    body = response.get_data(as_text=True)
    for identifying in ("CL-100", "CL-200", "80205", "Found J. Doe", "INC-"):
        assert identifying not in body
    # One row per person: the first encounter has two people, the second one.
    assert len(rows) == 3
    ages = [(r["age_band"], r["age_band_nv"]) for r in rows]
    assert ages == [("35_44", "approximate"), ("90_plus", ""), ("35_44", "approximate")]
    assert (
        rows[0]["race_ethnicity_nv"] == "refused"
        and rows[0]["needs"] == "mental_health_crisis;homelessness_basic_needs"
    )
    assert rows[0]["incident_zip3"] == "802" and rows[0]["response_s"] == str(15 * 60)


def test_state_export_is_the_payload_the_sync_sends(login_as: Any, db: sqlite_utils.Database) -> None:
    rita, sam = login_as("responder"), login_as("supervisor")
    encounter_id = finalize(rita, call_answers(5, client="CL-400"))
    sent = json.loads(
        db.execute("SELECT payload FROM outbox WHERE encounter_id = ?", [encounter_id]).fetchone()[0]
    )
    row = rows_of(sam.get(f"/supervisor/export.csv?{RANGE}"))[0]
    assert row["encounter_id"] == sent["encounter_id"] and row["unit_key"] == sent["unit_key"]
    assert row["person_link_key"] == sent["persons"][0]["person_link_key"]
    assert row["task_s"] == str(sent["task_s"]) and row["record_status"] == "final"


def test_every_export_is_audited(login_as: Any, db: sqlite_utils.Database) -> None:
    rita, sam = login_as("responder"), login_as("supervisor")
    finalize(rita, call_answers(6))
    rows_of(sam.get(f"/supervisor/export.csv?{RANGE}&unit=CR-1"))
    entry = db.execute("SELECT actor, details FROM audit_log WHERE action = 'export.state_csv'").fetchone()
    assert entry[0] == "sam"
    assert json.loads(entry[1]) == {"start": "2026-11-01", "end": "2026-11-30", "unit": "CR-1", "records": 1}


def test_full_export_is_for_admins_and_needs_a_confirmation(login_as: Any, db: sqlite_utils.Database) -> None:
    rita, sam, ada = login_as("responder"), login_as("supervisor"), login_as("admin")
    finalize(rita, two_people(7))
    rita.save(call_answers(8, client="CL-DRAFT"))  # a draft is in the local export too
    assert sam.get("/supervisor/export/full").status_code == 403
    assert (
        post_form(
            sam, "/supervisor/export/full.csv", {"start": "2026-11-01", "end": "2026-11-30", "confirm": "yes"}
        ).status_code
        == 403
    )
    unconfirmed = post_form(ada, "/supervisor/export/full.csv", {"start": "2026-11-01", "end": "2026-11-30"})
    assert unconfirmed.status_code == 400
    assert "Tick the box to confirm" in unconfirmed.get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'export.full_csv'").fetchone()[0] == 0
    assert "I will protect the identifying data" in ada.get(f"/supervisor/export/full?{RANGE}").get_data(
        as_text=True
    )
    rows = rows_of(
        post_form(
            ada, "/supervisor/export/full.csv", {"start": "2026-11-01", "end": "2026-11-30", "confirm": "yes"}
        )
    )
    assert [(r["status"], r["person_local_id"]) for r in rows] == [
        ("final", "CL-100"),
        ("final", "CL-200"),
        ("draft", "CL-DRAFT"),
    ]
    assert rows[0]["narrative"].startswith("Found J. Doe") and rows[0]["incident_zip"] == "80205"
    assert rows[1]["age_years"] == "91"
    entry = db.execute("SELECT actor, details FROM audit_log WHERE action = 'export.full_csv'").fetchone()
    assert entry[0] == "ada" and json.loads(entry[1])["records"] == 2 and json.loads(entry[1])["confirmed"]


def test_text_that_a_spreadsheet_would_run_is_neutralised(login_as: Any) -> None:
    rita, ada = login_as("responder"), login_as("admin")
    finalize(rita, call_answers(9, narrative='=HYPERLINK("http://evil.example","click")'))
    rows = rows_of(
        post_form(
            ada, "/supervisor/export/full.csv", {"start": "2026-11-01", "end": "2026-11-30", "confirm": "yes"}
        )
    )
    assert rows[0]["narrative"].startswith("'=HYPERLINK")
