# ruff: noqa: F811  (test arguments name the fixtures imported from tests.browser.fixtures)
"""A field's "Other answers" (NOT values and pertinent negatives) in a real browser. The page sends
them as text until the crew opens them; they still become chips when tapped, come back with a
draft, reach a new person with that person's own names, take the template's automatic values, and
are ordinary chips posted with the form when JavaScript is off."""

from __future__ import annotations

from typing import Any

from tests.browser import crew
from tests.browser.fixtures import browser, context, live, no_script, playwright  # noqa: F401  (fixtures)
from tests.browser.live_server import LiveServer
from tests.conftest import PERSONAS, ApiClient, AuthActions


def choose_other(page: Any, name: str, value: str) -> None:
    """Open a field's "Other answers" (unless open) and tap one of its chips."""
    details = page.locator(f"#wrap-{name} details.other-answers")
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    page.locator(f'input[name="{name}__nv"][value="{value}"] + span').click()


def other_is_chosen(page: Any, name: str, value: str) -> bool:
    """Open a field's "Other answers" (unless open) and say whether this chip is the chosen one."""
    details = page.locator(f"#wrap-{name} details.other-answers")
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    return bool(page.is_checked(f'input[name="{name}__nv"][value="{value}"]'))


def test_other_answers_open_as_chips_and_come_back_with_a_draft(context: Any) -> None:
    page = crew.open_form_with_contact(context, "/encounters/new?new=1")
    choose_other(page, "psap_incident_id", "not_recorded")
    assert page.is_visible('input[name="psap_incident_id__nv"][value="not_recorded"] + span')
    page.fill("#persons-0-age_years", "41")
    choose_other(page, "persons-0-age_years", "approximate")
    page.wait_for_timeout(500)  # autosave waits for a pause in changes
    page.goto("/encounters/new")  # the last unfinished draft comes back
    crew.wait_ready(page)
    assert "unfinished draft" in page.inner_text("[data-offline-notice]")
    assert other_is_chosen(page, "psap_incident_id", "not_recorded")
    assert page.input_value("#persons-0-age_years") == "41"
    assert other_is_chosen(page, "persons-0-age_years", "approximate")


def test_a_new_person_has_other_answers_of_its_own(context: Any) -> None:
    page = crew.open_form_with_contact(context, "/encounters/new?new=1")
    choose_other(page, "persons-0-race_ethnicity", "refused")  # opened on the first person ...
    crew.add_person(page)
    assert not other_is_chosen(page, "persons-1-race_ethnicity", "refused")  # starts blank
    choose_other(page, "persons-1-race_ethnicity", "refused")
    choose_other(page, "persons-0-race_ethnicity", "")  # "Clear" on the first person
    assert other_is_chosen(page, "persons-1-race_ethnicity", "refused")
    assert not other_is_chosen(page, "persons-0-race_ethnicity", "refused")
    choose_other(page, "persons-1-age_years", "approximate")  # ... and one never opened there
    assert not other_is_chosen(page, "persons-0-age_years", "approximate")


def test_a_person_added_to_a_draft_that_had_none_has_other_answers(context: Any, live: LiveServer) -> None:
    client = live.app.test_client()
    assert AuthActions(client).login("responder").status_code == 302
    record = ApiClient(client, PERSONAS["responder"]).save({"call_source": "911"}).get_json()["id"]
    page = crew.open_as_responder(context, f"/encounters/{record}/edit")
    crew.choose(page, "unit_disposition", "contact_made")
    crew.add_person(page)  # made from the page's blank row: there was none to copy
    choose_other(page, "persons-0-age_years", "approximate")
    assert other_is_chosen(page, "persons-0-age_years", "approximate")


def test_an_automatic_other_answer_is_set_without_opening_it(context: Any) -> None:
    page = crew.open_form_with_contact(context, "/encounters/new?new=1")
    crew.choose(page, "call_source", "walk_up_flag_down")  # self-initiated: nobody was en route
    assert other_is_chosen(page, "en_route_at", "not_applicable")


def test_without_javascript_other_answers_are_chips_saved_with_the_draft(no_script: Any) -> None:
    page = no_script
    crew.log_in(page, "responder")
    page.goto("/encounters/new")
    crew.choose(page, "unit_disposition", "contact_made")
    page.fill("#persons-0-age_years", "37")
    choose_other(page, "persons-0-age_years", "approximate")
    with page.expect_navigation():
        page.click("button[name=action][value=save]")
    page.wait_for_url("**/edit")
    assert "Draft saved." in page.inner_text("main")
    assert page.get_attribute("#wrap-persons-0-age_years details.other-answers", "open") is not None
    assert page.is_checked('input[name="persons-0-age_years__nv"][value="approximate"]')
