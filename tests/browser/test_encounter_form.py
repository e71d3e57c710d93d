# ruff: noqa: F811  (test arguments name the fixtures imported from tests.browser.fixtures)
"""The encounter form in a real browser: Enter never removes or adds a person, new person rows
start blank, a draft brings its people back (also one begun before the people section applied),
a field with a list of codes offers them, the fields after the first screen are drawn next (and at
once before Finalize), and without JavaScript rows still change by posting."""

from __future__ import annotations

from typing import Any

from tests.browser import crew
from tests.browser.fixtures import browser, context, live, no_script, playwright  # noqa: F401  (fixtures)
from tests.browser.live_server import LiveServer
from tests.conftest import PERSONAS, ApiClient, AuthActions


def test_enter_in_a_persons_text_field_saves_the_draft_and_keeps_every_person(context: Any) -> None:
    page = crew.open_form_with_contact(context)
    crew.add_person(page)
    page.fill("#persons-0-person_local_id", "C-1001")
    page.fill("#persons-1-person_local_id", "C-1002")
    with page.expect_navigation():
        page.press("#persons-0-person_local_id", "Enter")
    page.wait_for_url("**/edit")
    assert "Draft saved." in page.inner_text("main")
    assert page.input_value("#persons-0-person_local_id") == "C-1001"
    assert page.input_value("#persons-1-person_local_id") == "C-1002"
    assert page.inner_text("#group-persons").count("Remove person") == 2


def test_a_new_person_starts_blank_even_when_the_first_is_filled_in(context: Any) -> None:
    page = crew.open_form_with_contact(context)
    crew.choose(page, "persons-0-sex", "female")
    page.fill("#persons-0-age_years", "30")
    crew.choose(page, "persons-0-arrest_made", "true")
    crew.add_person(page)
    assert page.inner_text("#persons-1-title") == "Person 2"
    assert page.input_value("#persons-1-age_years") == ""
    assert not page.is_checked("input[name='persons-1-sex'][value=female]")
    assert page.is_checked("input[name='persons-1-arrest_made'][value='']")  # "Unanswered", as on a new form
    crew.choose(page, "persons-1-sex", "male")  # the copy's labels point at its own inputs
    assert page.is_checked("input[name='persons-1-sex'][value=male]")
    assert page.is_checked("input[name='persons-0-sex'][value=female]")
    page.click("#persons-1-age_years + button[data-step='1']")
    assert page.input_value("#persons-1-age_years") == "1"
    assert page.input_value("#persons-0-age_years") == "30"


def test_a_new_person_carries_none_of_the_first_persons_messages(context: Any) -> None:
    page = crew.open_form_with_contact(context)
    crew.finalize(page)  # the browser's validator marks what person 1 still needs
    page.locator("[data-offline-msg][role=alert]").wait_for()
    assert page.locator("[data-row='0'] .field-msg").count() > 0
    crew.add_person(page)
    assert page.locator("[data-row='1'] [data-field]").count() > 0
    assert page.locator("[data-row='1'] .field-msg").count() == 0


def test_a_person_is_added_to_a_saved_draft_that_had_none(context: Any, live: LiveServer) -> None:
    client = live.app.test_client()
    assert AuthActions(client).login("responder").status_code == 302
    record = ApiClient(client, PERSONAS["responder"]).save({"call_source": "911"}).get_json()["id"]
    page = crew.open_as_responder(context, f"/encounters/{record}/edit")
    assert page.locator("[data-row]").count() == 0
    crew.choose(page, "unit_disposition", "contact_made")
    crew.add_person(page)
    page.fill("#persons-0-age_years", "52")
    with page.expect_navigation():
        page.click("button[name=action][value=save]")
    assert "Draft saved." in page.inner_text("main")
    assert page.input_value("#persons-0-age_years") == "52"


def test_people_can_be_added_again_after_every_row_was_removed(context: Any) -> None:
    page = crew.open_form_with_contact(context)
    crew.remove_person(page, 0)
    assert page.locator("[data-row]").count() == 0
    crew.add_person(page)
    page.fill("#persons-0-age_years", "8")
    assert page.inner_text("#group-persons").count("Person 1") == 1
    assert page.input_value("#persons-0-age_years") == "8"


def test_a_draft_with_two_people_comes_back_after_a_reload(context: Any) -> None:
    page = crew.open_form_with_contact(context)
    page.fill("#persons-0-age_years", "41")
    crew.add_person(page)
    page.fill("#persons-1-age_years", "12")
    page.wait_for_timeout(500)  # autosave waits for a pause in typing
    page.reload()
    crew.wait_ready(page)
    assert "unfinished draft" in page.inner_text("[data-offline-notice]")
    assert page.inner_text("#persons-1-title") == "Person 2"
    assert page.input_value("#persons-0-age_years") == "41"
    assert page.input_value("#persons-1-age_years") == "12"


def test_a_draft_begun_before_contact_was_made_still_has_its_person(context: Any) -> None:
    page = crew.open_as_responder(context, "/encounters/new?new=1")
    assert not page.is_visible("#group-persons")  # people served do not apply yet
    crew.choose(page, "call_source", "911")
    page.wait_for_timeout(500)  # autosave waits for a pause in changes
    page.goto("/encounters/new")  # the unfinished draft comes back
    crew.wait_ready(page)
    assert "unfinished draft" in page.inner_text("[data-offline-notice]")
    crew.choose(page, "unit_disposition", "contact_made")
    assert page.inner_text("#persons-0-title") == "Person 1"
    page.fill("#persons-0-age_years", "30")
    assert page.input_value("#persons-0-age_years") == "30"


def test_the_county_field_offers_its_codes_from_the_first_touch(context: Any) -> None:
    page = crew.open_as_responder(context)
    page.click("#incident_county")
    assert page.evaluate("() => document.getElementById('incident_county').list?.options.length") > 10


# A field in the form's last section, after its first screen (see app/responder/layout.py).
LAST_FIELD = "#wrap-attested"
# Put fields back as not drawn yet, as they are for a moment after the first screen is drawn.
UNDRAW = "(ids) => ids.forEach((id) => document.getElementById(id).classList.add('later'))"


def test_the_rest_of_the_form_is_drawn_after_its_first_screen(context: Any) -> None:
    page = crew.open_as_responder(context)
    crew.wait_drawn(page)
    assert page.locator(".later").count() == 0
    assert page.is_visible(LAST_FIELD) and page.is_visible("#wrap-team_roles")
    crew.choose(page, "attested", "true")  # what is drawn later is answered like the rest
    assert page.is_checked("input[name=attested][value=true]")


def test_finalize_draws_every_field_not_drawn_yet_before_it_checks_them(context: Any) -> None:
    page = crew.open_as_responder(context)
    crew.wait_drawn(page)
    page.evaluate(UNDRAW, ["wrap-attested", "wrap-narrative"])
    assert not page.is_visible(LAST_FIELD)
    crew.finalize(page)  # the browser's validator marks what is missing and moves to the first of it
    page.locator("[data-offline-msg][role=alert]").wait_for()
    assert page.locator(".later").count() == 0
    assert page.is_visible(LAST_FIELD)
    assert page.locator(f"{LAST_FIELD} .field-msg").count() > 0


def test_a_jump_to_a_field_draws_every_field_not_drawn_yet(context: Any) -> None:
    page = crew.open_as_responder(context)
    crew.wait_drawn(page)
    page.evaluate(UNDRAW, ["wrap-attested"])
    page.evaluate("() => { location.hash = 'attested-0'; }")
    page.wait_for_function("() => !document.querySelector('.later')")
    assert page.is_visible(LAST_FIELD)


def test_the_browsers_validator_speaks_the_crews_language(browser: Any, live: LiveServer) -> None:
    ctx = browser.new_context(base_url=live.url, locale="es-ES")  # the tablet asks for Spanish
    try:
        page = crew.open_as_responder(ctx)
        assert page.get_attribute("html", "lang") == "es"
        crew.finalize(page)  # checked on the tablet first, with the template's Spanish and Crewlog's phrases
        message = page.locator(f"{LAST_FIELD} [data-offline-msg]")
        message.wait_for()
        said = message.inner_text()  # the label from the template's Spanish, the rest from forms.phrases
        assert said == "Confirmo que este registro es correcto: confirme esto (debe ser sí) para finalizar."
    finally:
        ctx.close()


def test_without_javascript_the_whole_form_is_drawn_at_once(no_script: Any) -> None:
    crew.log_in(no_script, "responder")
    no_script.goto("/encounters/new")
    assert no_script.locator(".later").count() > 0  # the server marks them; only the script waits
    assert no_script.is_visible(LAST_FIELD)


def test_without_javascript_the_county_field_offers_its_codes(no_script: Any) -> None:
    crew.log_in(no_script, "responder")
    no_script.goto("/encounters/new")
    assert no_script.locator("#incident_county-codes option").count() > 10


def test_without_javascript_rows_change_by_posting_and_enter_saves_the_draft(no_script: Any) -> None:
    page = no_script
    crew.log_in(page, "responder")
    page.goto("/encounters/new")
    assert page.is_visible("#group-persons")  # no script will show it later, so nothing starts hidden
    assert page.is_visible("text=Not needed with the current answers")
    crew.choose(page, "unit_disposition", "contact_made")
    with page.expect_navigation():
        page.click("[data-add-row=persons]")
    assert page.inner_text("#persons-1-title") == "Person 2"
    page.fill("#persons-1-person_local_id", "C-2002")
    with page.expect_navigation():
        page.press("#persons-1-person_local_id", "Enter")
    page.wait_for_url("**/edit")
    assert "Draft saved." in page.inner_text("main")
    assert page.input_value("#persons-1-person_local_id") == "C-2002"
    assert page.locator("[data-row]").count() == 2
