# ruff: noqa: F811  (test arguments name the fixtures imported from tests.browser.fixtures)
"""Logins and tokens age while the van is offline; a shared tablet keeps each crew member's work apart."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import crew
from tests.browser.fixtures import browser, context, live, playwright  # noqa: F401  (fixtures)
from tests.browser.live_server import LiveServer

STATUS_DONE = "() => document.querySelector('#sync-status').dataset.waiting === '0'"


def queue_offline(context: Any, page: Any, count: int) -> None:
    """Open the form online, go offline and finalize `count` records into the outbox."""
    crew.open_form_offline(context, page)
    for _ in range(count):
        crew.fill_encounter_quickly(page)
        assert "?queued=" in crew.finalize_and_follow(page)


def test_everything_queued_is_delivered_after_an_expired_login_without_retyping(
    context: Any, live: LiveServer
) -> None:
    page = context.new_page()
    crew.log_in(page, "responder")
    before = len(live.encounters("rita"))
    queue_offline(context, page, 2)
    incident = crew.fill_encounter_quickly(page)  # a third one, not finished yet
    page.wait_for_timeout(500)
    context.clear_cookies()  # the login expires while the van is offline
    context.set_offline(False)
    login = page.locator("#sync-status [data-login]")
    login.wait_for()
    assert login.inner_text() == "Log in to send 2 encounters"
    assert len(live.encounters("rita")) == before
    login.click()
    crew.log_in(page, "responder")
    crew.wait_ready(page)
    crew.wait_until(page, STATUS_DONE)
    assert len(live.encounters("rita")) == before + 2
    assert page.input_value("input[name=psap_incident_id]") == incident


@pytest.fixture
def short_csrf_tokens(live: LiveServer) -> Iterator[int]:
    """Make CSRF tokens expire after 2 seconds for one test."""
    live.app.config["WTF_CSRF_TIME_LIMIT"] = 2
    yield 2
    live.app.config["WTF_CSRF_TIME_LIMIT"] = None


def test_record_is_delivered_when_the_pages_csrf_token_is_older_than_its_limit(
    context: Any, live: LiveServer, short_csrf_tokens: int
) -> None:
    page = context.new_page()
    crew.log_in(page, "responder")
    before = len(live.encounters("rita"))
    queue_offline(context, page, 1)
    page_token = page.input_value("#encounter-form input[name=csrf_token]")
    page.wait_for_timeout((short_csrf_tokens + 1) * 1000)
    stale = context.request.post(
        live.url + "/api/v1/encounters",
        data="{}",
        headers={"Content-Type": "application/json", "X-CSRFToken": page_token},
    )
    assert stale.status == 400 and stale.json()["error"] == "csrf"
    context.set_offline(False)
    crew.wait_until(page, STATUS_DONE)
    assert len(live.encounters("rita")) == before + 1


def test_second_user_on_the_same_tablet_neither_sees_nor_sends_the_first_users_queue(
    context: Any, live: LiveServer
) -> None:
    page = context.new_page()
    crew.log_in(page, "responder")
    rita_before, ray_before = len(live.encounters("rita")), len(live.encounters("ray"))
    queue_offline(context, page, 1)
    live.faults.fail_next(100, 503)  # the server is unwell: rita's record stays on the tablet
    context.set_offline(False)
    page.click("[data-sync-now]")
    crew.wait_until(page, "() => document.querySelector('#sync-status').dataset.waiting === '1'")
    dialogs: list[str] = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    with page.expect_navigation():
        page.click("form[action='/logout'] button")
    assert dialogs and dialogs[0].startswith("1 encounter is not sent yet")

    crew.log_in(page, "responder2")
    page.goto("/encounters/new")
    crew.wait_ready(page)
    sent_so_far = len(live.faults.saves)
    page.click("[data-sync-now]")
    crew.wait_until(page, STATUS_DONE)
    assert crew.outbox(page) == []
    assert page.input_value("input[name=psap_incident_id]") == ""
    assert len(live.faults.saves) == sent_so_far
    assert (len(live.encounters("rita")), len(live.encounters("ray"))) == (rita_before, ray_before)

    live.faults.clear()
    page.once("dialog", lambda dialog: dialogs.append(dialog.message))
    with page.expect_navigation():
        page.click("form[action='/logout'] button")
    assert len(dialogs) == 1  # nothing of ray's was waiting: no warning
    crew.log_in(page, "responder")
    crew.wait_until(page, STATUS_DONE)
    assert len(live.encounters("rita")) == rita_before + 1
    assert len(live.encounters("ray")) == ray_before
