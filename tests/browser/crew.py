"""What a crew member does in the browser: log in, open the form, fill it, finalize, watch the status."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.conftest import PERSONAS

AGENCY_ZONE = ZoneInfo("America/Denver")  # the [agency] timezone default the live server runs with


def log_in(page: Any, persona: str, next_path: str = "/") -> None:
    """Log in through the login page and wait for the page it leads to."""
    who = PERSONAS[persona]
    page.wait_for_load_state()
    if "/login" not in page.url or page.locator("input[name=username]").count() == 0:
        page.goto(f"/login?next={next_path}")
    page.fill("input[name=username]", who.username)
    page.fill("input[name=password]", who.password)
    page.click("form[action^='/login'] button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def open_form_online(page: Any) -> None:
    """Open the new-encounter form online and wait until the service worker keeps it for offline use."""
    page.goto("/encounters/new")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    wait_until(
        page,
        "async () => (await caches.keys()).some((n) => n.endsWith('-pages')) && "
        "!!(await caches.match('/encounters/new'))",
    )
    wait_ready(page)


def open_form_offline(context: Any, page: Any) -> None:
    """Open the form online (the service worker keeps it), go offline and load it again from the cache."""
    open_form_online(page)
    context.set_offline(True)
    page.reload()
    wait_ready(page)


def open_as_responder(context: Any, address: str = "/encounters/new") -> Any:
    """Log in as the responder in a new page, open the address (a new encounter) there; return the page."""
    page = context.new_page()
    log_in(page, "responder")
    page.goto(address)
    wait_ready(page)
    return page


def open_form_with_contact(context: Any, address: str = "/encounters/new") -> Any:
    """Open the new-encounter form and make contact, so the people section shows; return the page."""
    page = open_as_responder(context, address)
    choose(page, "unit_disposition", "contact_made")
    return page


def add_person(page: Any) -> None:
    """Tap "Add person" and wait for the new row (rows.js loads at the first change of rows)."""
    before = page.locator("[data-row]").count()
    page.click("[data-add-row=persons]")
    page.wait_for_function(f"() => document.querySelectorAll('[data-row]').length > {before}")


def remove_person(page: Any, row: int) -> None:
    """Tap the Remove button of a person row and wait until the row is gone."""
    page.click(f"[data-row='{row}'] [data-remove-row]")
    page.locator(f"[data-row='{row}']").wait_for(state="detached")


def wait_ready(page: Any) -> None:
    """Wait until the offline module has opened the record on the form page."""
    page.wait_for_function("() => document.documentElement.dataset.offlineReady !== undefined")


def wait_drawn(page: Any) -> None:
    """Wait until the whole form is drawn: the fields after its first screen come a few a frame."""
    page.wait_for_function("() => document.documentElement.dataset.formDrawn !== undefined")


def wait_until(page: Any, predicate: str, timeout_s: float = 15) -> Any:
    """Poll an async predicate in the page until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = page.evaluate(predicate)
        if value or time.monotonic() > deadline:
            assert value, f"still false after {timeout_s}s: {predicate}"
            return value
        page.wait_for_timeout(100)


def choose(page: Any, name: str, value: str) -> None:
    """Tap the chip with this value (the label is what a finger touches)."""
    page.locator(f'input[name="{name}"][value="{value}"] + label').click()


def wall_clock(minutes_ago: int) -> str:
    """Return a datetime-local value in the agency's zone, some minutes ago."""
    moment = datetime.now(AGENCY_ZONE) - timedelta(minutes=minutes_ago)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


CHOICES = [
    ("call_source", "911"),
    ("dispatch_reason", "well_person_check"),
    ("contact_mode", "in_person"),
    ("unit_disposition", "contact_made"),
    ("police_requested_by_team", "false"),
    ("persons-0-needs", "mental_health_crisis"),
    ("persons-0-primary_need", "mental_health_crisis"),
    ("persons-0-race_ethnicity", "white"),
    ("persons-0-services", "assessment_screening"),
    ("persons-0-resolution", "resolved_with_referral"),
    ("persons-0-arrest_made", "false"),
    ("persons-0-involuntary_hold", "false"),
    ("persons-0-follow_up_planned", "false"),
    ("attested", "true"),
]
SET_INPUTS = """(entries) => {
  const form = document.getElementById("encounter-form");
  for (const [name, value] of entries) {
    const input = form.querySelector(`[name="${name}"][value="${value}"]`)
      || form.querySelector(`[name="${name}"]`);
    if (input.type === "radio" || input.type === "checkbox") input.checked = true; else input.value = value;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }
}"""


def fill_encounter_quickly(page: Any, incident: str | None = None) -> str:
    """Fill the same answers as fill_encounter in one step (for tests that queue many records)."""
    incident = incident or f"INC-{uuid.uuid4().hex[:8]}"
    times = [
        ("unit_notified_at", wall_clock(120)),
        ("arrived_on_scene_at", wall_clock(110)),
        ("cleared_at", wall_clock(60)),
        ("psap_incident_id", incident),
    ]
    page.evaluate(SET_INPUTS, [list(pair) for pair in CHOICES + times])
    return incident


def fill_encounter(page: Any, incident: str | None = None) -> str:
    """Fill what a 911 welfare check with one person needs to finalize, tap by tap; return its incident."""
    incident = incident or f"INC-{uuid.uuid4().hex[:8]}"
    choose(page, "call_source", "911")
    page.fill("input[name=psap_incident_id]", incident)
    choose(page, "dispatch_reason", "well_person_check")
    choose(page, "contact_mode", "in_person")
    page.fill("input[name=unit_notified_at]", wall_clock(120))
    page.fill("input[name=arrived_on_scene_at]", wall_clock(110))
    page.fill("input[name=cleared_at]", wall_clock(60))
    choose(page, "unit_disposition", "contact_made")
    choose(page, "police_requested_by_team", "false")
    choose(page, "persons-0-needs", "mental_health_crisis")
    choose(page, "persons-0-primary_need", "mental_health_crisis")
    choose(page, "persons-0-race_ethnicity", "white")
    choose(page, "persons-0-services", "assessment_screening")
    choose(page, "persons-0-resolution", "resolved_with_referral")
    choose(page, "persons-0-arrest_made", "false")
    choose(page, "persons-0-involuntary_hold", "false")
    choose(page, "persons-0-follow_up_planned", "false")
    choose(page, "attested", "true")
    return incident


def finalize(page: Any) -> None:
    """Tap Finalize (the page stays when the record needs fixing)."""
    page.click("button[name=action][value=finalize]")


def finalize_and_follow(page: Any) -> str:
    """Tap Finalize, wait for the page it leads to and return that page's address."""
    with page.expect_navigation():
        finalize(page)
    if "/encounters/new" in page.url:
        wait_ready(page)
    return str(page.url)


def waiting(page: Any) -> int:
    """Return how many encounters the status bar says wait on this tablet (once it has said)."""
    page.wait_for_function("() => document.querySelector('#sync-status').dataset.waiting !== undefined")
    return int(page.get_attribute("#sync-status", "data-waiting"))


def outbox(page: Any) -> list[dict[str, Any]]:
    """Return the outbox entries of the logged-in user, read from IndexedDB."""
    return page.evaluate("""async () => {
      const store = await import("/static/js/offline/store.js");
      return store.all("outbox", document.body.dataset.userId);
    }""")
