# ruff: noqa: F811  (test arguments name the fixtures imported from tests.browser.fixtures)
"""The van has no signal: the form opens, validates, saves and queues offline, and delivers exactly once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser import crew
from tests.browser.chromium import launch_persistent
from tests.browser.fixtures import browser, context, live, playwright  # noqa: F401  (fixtures)
from tests.browser.live_server import LiveServer
from tests.conftest import PERSONAS, ApiClient, AuthActions, valid_answers

STATUS_DONE = "() => document.querySelector('#sync-status').dataset.waiting === '0'"


def test_form_works_offline_and_its_record_survives_a_browser_restart(
    playwright: Any, live: LiveServer, tmp_path: Path
) -> None:
    profile = tmp_path / "profile"
    before = len(live.encounters("rita"))
    ctx = launch_persistent(playwright, profile, base_url=live.url)
    page = ctx.new_page()
    crew.log_in(page, "responder")
    crew.open_form_offline(ctx, page)
    assert page.inner_text("#sync-status [data-net]") == "Offline"
    crew.choose(page, "location_type", "sidewalk")
    crew.finalize(page)
    assert "Did we make contact?: answer this to finalize." in page.inner_text(
        "[data-offline-msg][role=alert]"
    )
    assert crew.outbox(page) == []
    crew.fill_encounter(page)
    assert "?queued=" in crew.finalize_and_follow(page)
    assert "saved on this tablet" in page.inner_text("[data-offline-notice]")
    page.reload()
    crew.wait_ready(page)
    assert crew.waiting(page) == 1
    ctx.close()

    ctx = launch_persistent(playwright, profile, base_url=live.url)
    ctx.set_offline(True)
    page = ctx.new_page()
    page.goto("/encounters/new")
    crew.wait_ready(page)
    assert crew.waiting(page) == 1
    assert len(live.encounters("rita")) == before
    ctx.set_offline(False)
    crew.wait_until(page, STATUS_DONE)
    assert len(live.encounters("rita")) == before + 1
    assert page.inner_text("#sync-status [data-last]").startswith("Last sent")
    ctx.close()


def test_draft_comes_back_after_a_reload_without_retyping(context: Any) -> None:
    page = context.new_page()
    crew.log_in(page, "responder")
    crew.open_form_offline(context, page)
    incident = crew.fill_encounter(page)
    page.fill("textarea[name=narrative]", "Met at the bus shelter.")
    page.wait_for_timeout(500)  # autosave waits for a pause in typing
    page.reload()
    crew.wait_ready(page)
    assert page.input_value("input[name=psap_incident_id]") == incident
    assert page.input_value("textarea[name=narrative]") == "Met at the bus shelter."
    assert page.is_checked('input[name="persons-0-needs"][value="mental_health_crisis"]')
    assert "unfinished draft" in page.inner_text("[data-offline-notice]")


def test_people_are_added_and_come_back_with_the_draft_offline(context: Any) -> None:
    page = context.new_page()
    crew.log_in(page, "responder")
    crew.open_form_offline(context, page)
    crew.choose(page, "unit_disposition", "contact_made")
    crew.add_person(page)  # the row code (rows.js) comes from the service worker's cache
    page.fill("#persons-1-age_years", "12")
    page.wait_for_timeout(500)  # autosave waits for a pause in typing
    page.reload()
    crew.wait_ready(page)
    assert page.input_value("#persons-1-age_years") == "12"
    assert page.inner_text("#persons-1-title") == "Person 2"


def test_twenty_records_queued_offline_arrive_exactly_once(context: Any, live: LiveServer) -> None:
    page = context.new_page()
    crew.log_in(page, "responder")
    before = {e["id"] for e in live.encounters("rita")}
    crew.open_form_offline(context, page)
    for _ in range(20):
        crew.fill_encounter_quickly(page)
        assert "?queued=" in crew.finalize_and_follow(page)
    queued = {e["id"] for e in crew.outbox(page)}
    assert len(queued) == 20
    second = context.new_page()
    second.goto("/encounters/new")
    crew.wait_ready(second)
    context.set_offline(False)  # both tabs replay at once; one sender at a time, each record once
    crew.wait_until(page, STATUS_DONE, timeout_s=30)
    crew.wait_until(second, STATUS_DONE)
    after = live.encounters("rita")
    assert {e["id"] for e in after} - before == queued
    assert len(after) == len(before) + 20
    assert all(e["status"] == "final" for e in after if e["id"] in queued)


def test_server_error_then_created_is_retried_and_delivered_once(context: Any, live: LiveServer) -> None:
    page = context.new_page()
    crew.log_in(page, "responder")
    before = len(live.encounters("rita"))
    crew.open_form_online(page)
    live.faults.fail_next(1, 500)
    crew.fill_encounter(page)
    crew.finalize_and_follow(page)  # to the next blank form, or home if the retry already went through
    crew.wait_until(page, STATUS_DONE, timeout_s=20)  # retried by itself after a backoff
    assert_delivered_once(live.faults.saves, [500, 201])
    assert len(live.encounters("rita")) == before + 1


def test_answer_lost_after_the_server_saved_is_resent_without_a_duplicate(
    context: Any, live: LiveServer
) -> None:
    page = context.new_page()
    crew.log_in(page, "responder")
    before = len(live.encounters("rita"))
    crew.open_form_online(page)
    live.faults.fail_next(1, 502, after_commit=True)
    crew.fill_encounter(page)
    crew.finalize_and_follow(page)  # to the next blank form, or home if the retry already went through
    crew.wait_until(page, STATUS_DONE, timeout_s=20)
    assert_delivered_once(live.faults.saves, [502, 200])  # the resend is recognised as the same record
    assert len(live.encounters("rita")) == before + 1


def test_refused_record_is_kept_and_opens_with_the_servers_messages(context: Any, live: LiveServer) -> None:
    earlier = live.app.test_client()
    assert AuthActions(earlier).login("responder").status_code == 302
    first = ApiClient(earlier, PERSONAS["responder"]).save(
        valid_answers(psap_incident_id="INC-DUP-77"), status="final", acknowledged=[]
    )
    assert first.status_code == 201, first.get_json()
    before = len(live.encounters("rita"))
    page = context.new_page()
    crew.log_in(page, "responder")
    crew.open_form_offline(context, page)
    crew.fill_encounter(page, incident="INC-DUP-77")  # the same incident: only the server can tell
    assert "?queued=" in crew.finalize_and_follow(page)
    context.set_offline(False)
    page.locator("#sync-status [data-held] a").wait_for()
    assert [e["state"] for e in crew.outbox(page)] == ["rejected"]
    assert crew.waiting(page) == 1
    page.click("#sync-status [data-held] a")
    crew.wait_ready(page)
    assert "Possible duplicate record" in page.inner_text("[data-offline-msg][role=alert]")
    assert page.input_value("input[name=psap_incident_id]") == "INC-DUP-77"
    page.check("[data-offline-msg] input[name=acknowledged][value=R25]")
    assert crew.finalize_and_follow(page) == live.url + "/"
    assert len(live.encounters("rita")) == before + 1


def test_save_draft_keeps_it_on_the_tablet_offline_and_on_the_server_online(
    context: Any,
    live: LiveServer,
) -> None:
    page = context.new_page()
    crew.log_in(page, "responder")
    crew.open_form_offline(context, page)
    incident = crew.fill_encounter_quickly(page)
    page.click("button[name=action][value=save]")
    page.locator("[data-offline-notice]").wait_for()
    assert "draft is saved on this tablet" in page.inner_text("[data-offline-notice]")
    context.set_offline(False)
    with page.expect_navigation():
        page.click("button[name=action][value=save]")
    assert page.url.endswith("/edit")
    record = page.url.split("/")[-2]
    assert {"id": record, "status": "draft", "revision": 1} in live.encounters("rita")
    assert page.input_value("input[name=psap_incident_id]") == incident


def test_record_changed_elsewhere_is_kept_shown_and_sent_once_the_crew_confirms(
    context: Any,
    live: LiveServer,
) -> None:
    api = live.app.test_client()
    assert AuthActions(api).login("responder").status_code == 302
    rita = ApiClient(api, PERSONAS["responder"])
    record = rita.save(valid_answers(psap_incident_id="INC-BOTH-1")).get_json()["id"]
    page = context.new_page()
    crew.log_in(page, "responder")
    page.goto(f"/encounters/{record}/edit")
    crew.wait_ready(page)
    changed = rita.save(valid_answers(psap_incident_id="INC-BOTH-2"), encounter_id=record, base_revision=1)
    assert changed.status_code == 200  # saved elsewhere meanwhile: now revision 2
    crew.choose(page, "attested", "true")
    crew.finalize(page)
    page.locator("[data-offline-msg][role=alert]").wait_for()
    assert "changed on the server" in page.inner_text("[data-offline-msg][role=alert]")
    assert [e["state"] for e in crew.outbox(page)] == ["conflict"]
    assert {"id": record, "status": "draft", "revision": 2} in live.encounters("rita")
    assert crew.finalize_and_follow(page) == live.url + "/"
    assert {"id": record, "status": "final", "revision": 3} in live.encounters("rita")


def assert_delivered_once(saves: list[int], expected: list[int]) -> None:
    """Check the server's answers to the sends: the expected ones first, then only "already have it".

    A send still in flight when the page navigates away (the finalize hand-off to the next blank
    form) can reach the server and be sent again by the next page; the server must then answer
    200 for the same record and revision, never 201 a second time.
    """
    assert saves[: len(expected)] == expected, saves
    assert set(saves[len(expected) :]) <= {200}, saves
