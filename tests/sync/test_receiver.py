"""The reference receiver answers exactly as the sync contract says."""

from __future__ import annotations

import json
import uuid

import requests

from tests.sync.sync_builders import AGENCY, TOKEN, ReceiverProcess, make_payload


def _batch(*records: dict) -> dict:
    return {"agency_id": AGENCY, "records": list(records)}


def _statuses(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["status"] for r in response.json()["results"]]


def test_submission_without_a_token_is_refused_with_401(healthy_receiver: ReceiverProcess) -> None:
    response = requests.post(healthy_receiver.url + "/v1/submissions", json=_batch(make_payload()), timeout=5)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"] == "unauthorized" and response.json()["errno"] == 101


def test_token_may_only_submit_for_its_own_agency(healthy_receiver: ReceiverProcess) -> None:
    record = make_payload(agency_id="ST-ZZ-0001")
    response = healthy_receiver.post("/v1/submissions", {"agency_id": "ST-ZZ-0001", "records": [record]})
    assert response.status_code == 403 and "ST-ZZ-0001" in response.json()["message"]


def test_malformed_bodies_get_a_400_naming_the_problem(healthy_receiver: ReceiverProcess) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    url = healthy_receiver.url + "/v1/submissions"
    not_json = requests.post(url, data=b"{nope", headers=headers, timeout=5)
    assert not_json.status_code == 400 and "not valid JSON" in not_json.json()["message"]
    no_records = healthy_receiver.post("/v1/submissions", {"agency_id": AGENCY})
    assert no_records.status_code == 400 and "records" in no_records.json()["message"]


def test_more_records_than_the_limit_is_refused_with_413(healthy_receiver: ReceiverProcess) -> None:
    limits = healthy_receiver.get("/v1/limits").json()
    assert limits == {"max_records": 500, "max_bytes": 5_000_000}
    response = healthy_receiver.post("/v1/submissions", _batch(*[{}] * 501))
    assert response.status_code == 413 and response.json()["details"]["max_records"] == 500


def test_each_record_gets_its_own_status(healthy_receiver: ReceiverProcess) -> None:
    first = make_payload()
    changed = dict(first, call_source="988")
    invalid = make_payload(sex="yes")
    older = dict(make_payload(), record_version=3, record_status="amended")

    assert _statuses(healthy_receiver.post("/v1/submissions", _batch(first, older))) == ["accepted"] * 2
    again = healthy_receiver.post(
        "/v1/submissions", _batch(first, changed, invalid, dict(older, record_version=2))
    )

    assert _statuses(again) == ["duplicate", "conflict", "rejected", "superseded_ignored"]
    rejected = again.json()["results"][2]["messages"]
    assert rejected and all(m["severity"] in ("FATAL", "ERROR") for m in rejected)
    assert any("sex" in (m["field"] or "") for m in rejected)


def test_warnings_are_accepted_and_reported(healthy_receiver: ReceiverProcess) -> None:
    record = make_payload()
    del record["persons"][0]["race_ethnicity"]  # R21: ask race/ethnicity, or record "refused"
    [result] = healthy_receiver.post("/v1/submissions", _batch(record)).json()["results"]
    assert result["status"] == "accepted_with_warnings"
    assert {m["severity"] for m in result["messages"]} == {"WARNING"}


def test_identifying_fields_sent_by_mistake_are_rejected(healthy_receiver: ReceiverProcess) -> None:
    record = make_payload(narrative="Found J. near the bus shelter")
    record["persons"][0]["person_name"] = "J. Doe"
    [result] = healthy_receiver.post("/v1/submissions", _batch(record)).json()["results"]
    assert result["status"] == "rejected"
    fields = {m["field"] for m in result["messages"]}
    assert fields == {"narrative", "persons[0].person_name"}
    assert "never sent" in result["messages"][0]["message"]


def test_unknown_template_version_is_rejected(healthy_receiver: ReceiverProcess) -> None:
    answer = healthy_receiver.post("/v1/submissions", _batch(make_payload(template_version="1999.1")))
    [result] = answer.json()["results"]
    assert result["status"] == "rejected" and "1999.1" in result["messages"][0]["message"]


def test_submission_lookup_returns_every_version_and_the_current_one(
    healthy_receiver: ReceiverProcess,
) -> None:
    v1 = make_payload(record_version=1, record_status="final")
    v2 = dict(v1, record_version=2, record_status="amended", call_source="311")
    healthy_receiver.post("/v1/submissions", _batch(v1, v2))

    held = healthy_receiver.get(f"/v1/submissions/{v1['encounter_id']}").json()
    assert [v["record_version"] for v in held["versions"]] == [1, 2]
    assert held["current"]["record"]["call_source"] == "311"
    assert healthy_receiver.get(f"/v1/submissions/{uuid.uuid4()}").status_code == 404


def test_template_is_served_with_an_etag_and_304_when_unchanged(healthy_receiver: ReceiverProcess) -> None:
    first = healthy_receiver.get("/v1/template/current")
    assert first.status_code == 200 and first.json()["template"]["id"] == "state-standard"
    etag = first.headers["ETag"]
    again = healthy_receiver.get("/v1/template/current", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag


def test_summary_page_shows_metrics_across_agencies(healthy_receiver: ReceiverProcess) -> None:
    healthy_receiver.post("/v1/submissions", _batch(make_payload()))
    page = requests.get(healthy_receiver.url + "/", timeout=10)
    assert page.status_code == 200 and "Encounters held" in page.text
    summary = requests.get(healthy_receiver.url + "/?format=json", timeout=10).json()
    assert summary["counts"]["records"] >= 1 and "encounter_volume" in summary["metrics"]


def test_fault_settings_are_checked(healthy_receiver: ReceiverProcess) -> None:
    response = requests.post(healthy_receiver.url + "/_faults", json={"fail_rate": 2}, timeout=5)
    assert response.status_code == 400 and "fail_rate" in response.json()["message"]
    response = requests.post(healthy_receiver.url + "/_faults", json={"explode": 1}, timeout=5)
    assert response.status_code == 400 and "explode" in response.json()["message"]


def test_unknown_paths_and_methods_answer_json_errors(healthy_receiver: ReceiverProcess) -> None:
    missing = healthy_receiver.get("/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["errno"] == 106
    wrong = requests.delete(
        healthy_receiver.url + "/v1/limits", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
    )
    assert wrong.status_code == 405 and json.loads(wrong.text)["errno"] == 107
