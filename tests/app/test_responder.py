"""Responder pages through the Flask client with CSRF on: shifts, the encounter form, statuses.

`PageForm` reads a page's form the way a browser would (every control's name and value,
checked boxes only), so these tests submit exactly what the page offers.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import threading
import uuid
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlite_utils
from flask import Flask
from werkzeug.datastructures import MultiDict

from app import encounter_store, template_versions, users
from app.db import write_transaction
from app.responder import layout
from app.responder.editing import browser_template
from forms.builder import form_data_from_answers
from forms.conditions import evaluate
from forms.loader import load_template_data
from forms.model import Template

ROOT = Path(__file__).resolve().parents[2]


from tests import conftest as _shared  # noqa: E402
from tests.browser.crew import add_person, remove_person  # noqa: E402

PERSONAS, AuthActions, valid_answers = _shared.PERSONAS, _shared.AuthActions, _shared.valid_answers
ZONE = ZoneInfo("America/Denver")


class PageForm(HTMLParser):
    """The controls of one <form> on a page and what a browser would submit from it."""

    def __init__(self, html: str, form_id: str | None = None) -> None:
        super().__init__()
        self.form_id, self.inside, self.select, self.textarea = form_id, False, None, None
        self.data: MultiDict[str, str] = MultiDict()
        self.names: set[str] = set()
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and (self.form_id is None or a.get("id") == self.form_id):
            self.inside = True
        if not self.inside or "name" not in a and tag != "option":
            return
        if tag == "input" and a.get("type") not in ("submit", "button"):
            self.names.add(a["name"])
            if a.get("type") not in ("radio", "checkbox") or "checked" in a:
                self.data.add(a["name"], a.get("value", ""))
        elif tag == "select":
            self.select = a["name"]
            self.names.add(a["name"])
        elif tag == "option" and self.select and "selected" in a:
            self.data.add(self.select, a.get("value", ""))
        elif tag == "textarea":
            self.textarea = a["name"]
            self.names.add(a["name"])
            self.data.add(a["name"], "")

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.data.setlist(self.textarea, [self.data.get(self.textarea, "") + data.strip("\n")])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def fill(self, values: MultiDict[str, str] | dict[str, Any]) -> PageForm:
        """Set controls as a user would; every name must exist on the page."""
        items = values.lists() if isinstance(values, MultiDict) else values.items()
        for name, value in items:
            assert name in self.names, f"the page has no control named {name!r}"
            self.data.setlist(name, value if isinstance(value, list) else [str(value)])
        return self

    def clear(self, name: str) -> PageForm:
        """Untick or empty a control."""
        self.data.setlist(name, [])
        return self


class Crew:
    """A logged-in responder using the pages."""

    def __init__(self, app: Flask, persona: str = "responder") -> None:
        self.app, self.client = app, app.test_client()
        assert AuthActions(self.client).login(persona).status_code == 302

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def form(self, path: str) -> PageForm:
        response = self.get(path)
        assert response.status_code == 200, response.get_data(as_text=True)[-2000:]
        return PageForm(response.get_data(as_text=True), "encounter-form")

    def submit(self, path: str, form: PageForm, action: str = "save") -> Any:
        data = form.data.copy()
        data["action"] = action
        return self.client.post(path, data=data)


def _template(app: Flask) -> Template:
    with app.app_context():
        from app.db import get_db

        template = template_versions.active(get_db())
    assert template is not None
    return template


def _wall(minutes_ago: int) -> str:
    return (datetime.now(ZONE) - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%S")


def _typed(app: Flask, answers: dict[str, Any]) -> MultiDict[str, str]:
    """Return what a responder taps and types for these answers."""
    return form_data_from_answers(_template(app), answers, zone=ZONE)


def _text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def _stored(db: sqlite_utils.Database, app: Flask, encounter_id: str) -> Any:
    with app.app_context():
        return encounter_store.get(db, encounter_id)


def _edit_path(response: Any) -> str:
    location = response.headers["Location"]
    assert location.endswith("/edit"), location
    return str(location)


# --- shifts and home -------------------------------------------------------------------


def test_responder_ends_then_starts_a_shift_with_crew_roles(app: Flask) -> None:
    crew = Crew(app)
    token = PageForm(_text(crew.get("/"))).data["csrf_token"]
    assert crew.client.post("/shift/end", data={"csrf_token": token}).status_code == 302
    home = _text(crew.get("/"))
    assert "No shift open" in home and "/shift/start" in home

    page = PageForm(_text(crew.get("/shift/start")))
    page.fill(
        {
            "unit": "1",
            "crew-0-team_role": "behavioral_health_clinician",
            "crew-1-name": "Officer Diaz",
            "crew-1-team_role": "police_co_responder",
        }
    )
    assert crew.client.post("/shift/start", data=page.data).status_code == 302
    home = _text(crew.get("/"))
    assert "Shift on CR-1" in home
    assert "Rita (BH clinician)" in home and "Officer Diaz (Police officer)" in home


def test_a_crew_member_without_a_role_is_refused_with_the_row_named(app: Flask) -> None:
    crew = Crew(app)
    token = PageForm(_text(crew.get("/"))).data["csrf_token"]
    crew.client.post("/shift/end", data={"csrf_token": token})
    page = PageForm(_text(crew.get("/shift/start"))).fill({"unit": "1", "crew-1-name": "Sam Lee"})
    response = crew.client.post("/shift/start", data=page.data)
    assert response.status_code == 422
    assert "Crew member 2: Pick this person's team role." in html.unescape(_text(response))


def test_new_encounter_without_a_shift_sends_the_crew_to_start_one(app: Flask) -> None:
    crew = Crew(app)
    token = PageForm(_text(crew.get("/"))).data["csrf_token"]
    crew.client.post("/shift/end", data={"csrf_token": token})
    response = crew.get("/encounters/new")
    assert response.status_code == 302 and response.headers["Location"].endswith("/shift/start")


# --- the encounter form ------------------------------------------------------------------


def test_new_encounter_page_is_prefilled_from_the_shift_and_carries_a_uuid(app: Flask) -> None:
    form = Crew(app).form("/encounters/new")
    assert uuid.UUID(form.data["encounter_uuid"]).version == 4
    assert form.data.getlist("team_roles") == ["behavioral_health_clinician"]
    assert form.data["incident_county"] == "08031"
    assert form.data["persons-0-row_marker"] == "1"
    assert form.data["time_zone"] == "America/Denver"


def _fields_marked(page: str) -> tuple[list[str], list[str]]:
    """Return the page's fields in order, and those marked to be drawn after the first screen."""
    wraps = re.findall(r'<div class="field([^"]*)" id="wrap-([a-z_]+)"', page)
    return [name for _, name in wraps], [name for css, name in wraps if "later" in css.split()]


def test_a_blank_form_marks_what_comes_after_its_first_screen_to_be_drawn_later(app: Flask) -> None:
    crew = Crew(app)
    fields, later = _fields_marked(_text(crew.get("/encounters/new")))
    first = fields[: len(fields) - len(later)]
    assert first and later and fields == first + later  # the first screen, then all the rest
    assert first[:2] == ["team_roles", "call_source"]
    assert {"call_received_at", "narrative", "attested"} <= set(later)
    assert len(first) <= layout.FIRST_SCREEN_ROWS / 2  # a field takes two rows at least


def test_a_page_with_messages_is_drawn_whole(app: Flask) -> None:
    crew = Crew(app)
    form = crew.form("/encounters/new")
    refused = crew.submit("/encounters/new", form, "finalize")
    assert refused.status_code == 422
    fields, later = _fields_marked(_text(refused))
    assert fields and later == []  # the summary links to any field: every one is drawn at once


def test_draft_saves_incomplete_and_reloads_with_answers_intact(
    app: Flask, db: sqlite_utils.Database
) -> None:
    crew = Crew(app)
    form = crew.form("/encounters/new").fill(
        {
            "call_source": "911",
            "contact_mode": "in_person",
            "call_received_at": "2026-03-14T13:02:11",
            "persons-0-age_years": "37",
            "persons-0-age_years__nv": "approximate",
            "persons-0-race_ethnicity__nv": "refused",
            "persons-0-needs": ["mental_health_crisis", "welfare_check"],
            "police_co_dispatched": "false",
            "unit_disposition": "contact_made",
        }
    )
    response = crew.submit("/encounters/new", form)
    assert response.status_code == 302
    stored = _stored(db, app, form.data["encounter_uuid"])
    assert stored.status == "draft"
    assert stored.answers["call_received_at"] == "2026-03-14T13:02:11-06:00"
    assert stored.answers["persons"][0]["age_years"] == {"value": 37, "pn": "approximate"}
    assert stored.answers["persons"][0]["race_ethnicity"] == {"pn": "refused"}
    assert stored.answers["police_co_dispatched"] is False

    again = crew.form(_edit_path(response))
    assert again.data["call_source"] == "911"
    assert again.data["call_received_at"] == "2026-03-14T13:02:11"
    assert (
        again.data["persons-0-age_years"] == "37" and again.data["persons-0-age_years__nv"] == "approximate"
    )
    assert again.data.getlist("persons-0-needs") == ["mental_health_crisis", "welfare_check"]
    assert again.data["police_co_dispatched"] == "false"
    assert again.data["base_revision"] == str(stored.revision)


def test_finalize_shows_errors_then_warnings_then_finalizes(app: Flask, db: sqlite_utils.Database) -> None:
    crew = Crew(app)
    answers = valid_answers()
    del answers["psap_incident_id"], answers["attested"]
    form = crew.form("/encounters/new").fill(_typed(app, answers))

    refused = crew.submit("/encounters/new", form, "finalize")
    page = _text(refused)
    assert refused.status_code == 422
    assert 'role="alert"' in page and 'href="#attested-0"' in page
    assert "I confirm this record is accurate" in page.split('id="error-summary"')[1].split("</div>")[0]
    kept = _stored(db, app, form.data["encounter_uuid"])
    assert kept.status == "draft"  # nothing typed is lost

    form = PageForm(page, "encounter-form").fill({"attested": "true"})
    warned = crew.submit(f"/encounters/{kept.id}/edit", form, "finalize")
    page = _text(warned)
    assert warned.status_code == 422
    assert 'name="acknowledged" value="R22"' in page and "Incident number missing" in page

    form = PageForm(page, "encounter-form").fill({"acknowledged": "R22"})
    done = crew.submit(f"/encounters/{kept.id}/edit", form, "finalize")
    assert done.status_code == 302 and done.headers["Location"].endswith("/")
    final = _stored(db, app, kept.id)
    assert final.status == "final" and final.record_version == 1
    assert final.answers["psap_incident_id"] == {"nv": "not_recorded"}
    assert "Finalized" in _text(crew.get("/"))


def test_a_field_that_does_not_apply_is_not_stored(app: Flask, db: sqlite_utils.Database) -> None:
    crew = Crew(app)
    form = crew.form("/encounters/new").fill(
        {
            "contact_mode": "phone_only",
            "en_route_at": _wall(30),
            "call_source": "988",
            "police_on_scene_at_arrival": "true",
        }
    )
    assert crew.submit("/encounters/new", form).status_code == 302
    answers = _stored(db, app, form.data["encounter_uuid"]).answers
    assert answers["contact_mode"] == "phone_only"
    assert "en_route_at" not in answers and "police_on_scene_at_arrival" not in answers


def test_person_rows_are_added_and_removed_without_javascript(app: Flask, db: sqlite_utils.Database) -> None:
    crew = Crew(app)
    form = crew.form("/encounters/new").fill(
        {"persons-0-age_years": "30", "unit_disposition": "contact_made"}
    )
    added = crew.submit("/encounters/new", form, "add_row:persons")
    assert added.status_code == 200 and "Person 2" in _text(added)
    form = PageForm(_text(added), "encounter-form").fill({"persons-1-age_years": "9"})
    removed = crew.submit("/encounters/new", form, "remove_row:persons:0")
    assert "Person 2" not in _text(removed)
    form = PageForm(_text(removed), "encounter-form")
    assert crew.submit("/encounters/new", form).status_code == 302
    rows = _stored(db, app, form.data["encounter_uuid"]).answers["persons"]
    assert [row["age_years"] for row in rows] == [9]


def test_returned_record_shows_the_note_and_can_be_fixed_and_finalized_again(
    app: Flask, db: sqlite_utils.Database, login_as: Any
) -> None:
    saved = login_as("responder").save(valid_answers(), status="final").get_json()
    supervisor = users.by_username(db, PERSONAS["supervisor"].username)
    with write_transaction(db):
        db.execute("UPDATE encounters SET status = 'returned' WHERE id = ?", [saved["id"]])
        encounter_store.add_note(
            db, saved["id"], supervisor.id, "Age looks wrong: check the ID card.", "return"
        )
    crew = Crew(app)
    home = _text(crew.get("/"))
    assert "Returned for correction" in home and "Age looks wrong: check the ID card." in home

    path = f"/encounters/{saved['id']}/edit"
    page = _text(crew.get(path))
    assert "Age looks wrong" in page and 'value="finalize"' in page
    form = PageForm(page, "encounter-form").fill({"persons-0-age_years": "41"})
    form.clear("persons-0-age_years__nv")
    assert crew.submit(path, form, "finalize").status_code == 302
    amended = _stored(db, app, saved["id"])
    assert amended.status == "amended" and amended.record_version == 2
    assert amended.answers["persons"][0]["age_years"] == 41


def test_a_finalized_record_is_shown_read_only_and_a_forced_post_is_refused(
    app: Flask, db: sqlite_utils.Database, login_as: Any
) -> None:
    saved = login_as("responder").save(valid_answers(), status="final").get_json()
    crew = Crew(app)
    path = f"/encounters/{saved['id']}/edit"
    page = _text(crew.get(path))
    assert "Finalized" in page and 'value="finalize"' not in page and "<fieldset disabled" in page
    form = PageForm(page, "encounter-form").fill({"narrative": "changed"})
    refused = crew.submit(path, form)
    assert refused.status_code == 409
    assert "Ask a supervisor to return it for correction" in _text(refused)


def test_another_responders_record_is_not_found(app: Flask, login_as: Any) -> None:
    saved = login_as("responder").save(valid_answers()).get_json()
    assert Crew(app, "responder2").get(f"/encounters/{saved['id']}/edit").status_code == 404


def test_home_lists_the_shifts_records_with_their_status(app: Flask, login_as: Any) -> None:
    api = login_as("responder")
    api.save(valid_answers())
    api.save(valid_answers(), status="final")
    home = _text(Crew(app).get("/"))
    shift_part = home.split("Encounters this shift")[1].split("Your drafts")[0]
    assert shift_part.count('class="badge badge-draft"') == 1
    assert shift_part.count('class="badge badge-final"') == 1
    assert home.split("Your drafts")[1].count("Continue") == 1


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"persons-0-age_years": "thirty"}, "Not a valid integer value."),
        ({"call_received_at": "yesterday"}, "Not a valid datetime value."),
        ({"call_source": "999999"}, "Not a valid choice."),
        ({"encounter_uuid": "not-a-uuid"}, "The encounter id is missing or damaged."),
        ({"time_zone": "Mars/Olympus"}, "Unknown time zone."),
        (
            {"persons-0-age_years": "300", "unit_disposition": "contact_made"},
            "Age: enter a whole number from 0 to 120",
        ),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(app: Flask, fields: dict[str, str], expected: str) -> None:
    crew = Crew(app)
    form = crew.form("/encounters/new").fill(fields)
    response = crew.submit("/encounters/new", form)
    assert response.status_code == 422
    assert expected in html.unescape(_text(response))


def test_a_post_without_the_csrf_token_is_refused(app: Flask) -> None:
    crew = Crew(app)
    form = crew.form("/encounters/new")
    form.clear("csrf_token")
    assert crew.submit("/encounters/new", form).status_code == 400


# --- the page's JavaScript ----------------------------------------------------------------


def test_pages_carry_no_inline_script_and_the_scripts_fit_the_budget(app: Flask) -> None:
    page = _text(Crew(app).get("/encounters/new"))
    for tag in page.split("<script")[1:]:
        head = tag.split(">")[0]
        assert 'src="' in head or 'type="application/json"' in head
    assert (
        sum((ROOT / "static" / "js" / name).stat().st_size for name in ("conditions.js", "form.js"))
        <= 20 * 1024
    )


PARITY_TEMPLATE = {
    "template": {"id": "parity", "version": "1", "title": "Parity", "effective_date": "2026-01-01"},
    "parameters": {"target_s": 1200, "window": ["a", "b"]},
    "not_values": [
        {"code": "not_recorded", "label": "Not recorded", "kind": "not"},
        {"code": "refused", "label": "Refused", "kind": "pn"},
        {"code": "approximate", "label": "Approximate", "kind": "pn"},
    ],
    "sections": [{"id": "s", "title": "S"}, {"id": "p", "title": "P", "group": "persons"}],
    "groups": [{"id": "persons", "label": "People"}],
    "fields": [
        {
            "id": f,
            "section": sec,
            "label": f,
            "type": t,
            "usage": "O",
            "tier": "core",
            "input": "tap",
            "privacy": "metric",
            "to_state": "send",
            **({"code_list": "codes"} if "enum" in t else {}),
        }
        for f, sec, t in [
            ("x", "s", "text"),
            ("n", "s", "number"),
            ("b", "s", "boolean"),
            ("m", "s", "multi_enum"),
            ("t", "s", "datetime"),
            ("d", "s", "date"),
            ("age", "p", "integer"),
            ("race", "p", "multi_enum"),
        ]
    ],
    "code_lists": {"codes": {"codes": [{"code": c, "label": c} for c in ("a", "b", "c")]}},
    "filters": {
        "big": {"field": "n", "op": "ge", "value": {"param": "target_s"}},
        "both": {"all": [{"use": "big"}, {"field": "b", "op": "is_true"}]},
    },
}
PARITY_CONDITIONS = [
    {"field": "x", "op": "eq", "value": "a"},
    {"field": "x", "op": "ne", "value": "a"},
    {"field": "x", "op": "in", "value": ["a", "refused"]},
    {"field": "x", "op": "not_in", "value": ["a", "b"]},
    {"field": "x", "op": "eq", "value": "not_recorded"},
    {"field": "x", "op": "is_set"},
    {"field": "x", "op": "is_not_set"},
    {"field": "n", "op": "lt", "value": 1200},
    {"field": "n", "op": "ge", "value": {"param": "target_s"}},
    {"field": "n", "op": "eq", "value": 1200},
    {"field": "n", "op": "eq", "value": True},
    {"field": "b", "op": "is_true"},
    {"field": "b", "op": "is_false"},
    {"field": "b", "op": "eq", "value": False},
    {"field": "m", "op": "eq", "value": "a"},
    {"field": "m", "op": "ne", "value": "a"},
    {"field": "m", "op": "in", "value": {"param": "window"}},
    {"field": "m", "op": "not_in", "value": ["c"]},
    {"field": "t", "op": "lt", "value": "2026-03-14T13:00:00-06:00"},
    {"field": "t", "op": "ge", "value": "2026-03-14"},
    {"field": "t", "op": "gt", "value": "2026-03-14T19:00:00Z"},
    {"field": "d", "op": "le", "value": "2026-03-14"},
    {"field": "d", "op": "gt", "value": "2026-03-13T23:00:00"},
    {"field": "age", "op": "ge", "value": 18},
    {"field": "age", "op": "in", "value": ["approximate"]},
    {"field": "race", "op": "eq", "value": "refused"},
    {"field": "race", "op": "is_set"},
    {"field": "missing", "op": "ne", "value": 1},
    {"use": "both"},
    {"not": {"use": "big"}},
    {"all": []},
    {"any": []},
    {"any": [{"field": "x", "op": "is_set"}, {"field": "age", "op": "lt", "value": 5}]},
]
PARITY_VALUES = [
    {},
    {
        "x": "a",
        "n": 1200,
        "b": True,
        "m": ["a", "b"],
        "t": "2026-03-14T13:17:45-06:00",
        "d": "2026-03-14",
        "persons": [{"age": {"value": 37, "pn": "approximate"}, "race": {"pn": "refused"}}, {"age": 4}],
    },
    {
        "x": {"nv": "not_recorded"},
        "n": 1199.5,
        "b": {"pn": "refused"},
        "m": [],
        "t": "2026-03-14T12:59:59",
        "d": "2026-03-13",
        "persons": [{"age": 17, "race": ["a"]}],
    },
    {
        "x": "",
        "n": "1300",
        "b": False,
        "m": ["c"],
        "t": "2026-03-14T19:00:01Z",
        "d": "not a date",
        "persons": [],
    },
]


def _python_results(template: Template) -> list[list[bool]]:
    results = []
    for cond in PARITY_CONDITIONS:
        row_results = []
        for values in PARITY_VALUES:
            row_results.append(evaluate(cond, values, template))
            row_results += [evaluate(cond, values, template, row) for row in values.get("persons", [])]
        results.append(row_results)
    return results


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the browser evaluator")
@pytest.mark.parametrize("shape", ["page", "full"])
def test_the_browser_evaluator_agrees_with_the_server_on_every_operator(shape: str) -> None:
    template = load_template_data(PARITY_TEMPLATE)
    as_json = browser_template(template) if shape == "page" else template.to_json()
    script = (
        f"import {{ evaluate }} from {json.dumps((ROOT / 'static/js/conditions.js').as_uri())};\n"
        "const {template, conditions, values} = JSON.parse(require_input());\n"
        "console.log(JSON.stringify(conditions.map((c) => values.flatMap((v) => "
        "[evaluate(c, v, template), ...(v.persons || []).map((r) => evaluate(c, v, template, r))]))));\n"
    ).replace("require_input()", "(await import('node:fs')).readFileSync(0, 'utf8')")
    payload = json.dumps({"template": as_json, "conditions": PARITY_CONDITIONS, "values": PARITY_VALUES})
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        input=payload,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    browser = json.loads(done.stdout)
    for cond, mine, theirs in zip(PARITY_CONDITIONS, browser, _python_results(template), strict=True):
        assert mine == theirs, f"{cond}: browser {mine} != server {theirs}"


# --- the page in a real browser -----------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def live_url(app: Flask) -> Any:
    """Serve the app on a loopback port for the browser."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def browser() -> Any:
    """Return one headless Chromium for this module's browser tests."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.skip("needs chromium")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


@pytest.fixture
def tablet(browser: Any, live_url: str) -> Any:
    """Return a logged-in page the size of a phone on a new encounter; fail on any console error."""
    context = browser.new_context(viewport={"width": 360, "height": 800})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(live_url + "/login")
    page.fill("input[name=username]", PERSONAS["responder"].username)
    page.fill("input[name=password]", PERSONAS["responder"].password)
    page.click("button[type=submit]")
    page.goto(live_url + "/encounters/new")
    yield page
    context.close()
    assert problems == []


def _chip(page: Any, name: str, value: str) -> None:
    page.click(f"label[for='{page.get_attribute(f'input[name={name!r}][value={value!r}]', 'id')}']")


def test_fields_appear_and_hide_as_the_crew_answers(tablet: Any) -> None:
    page = tablet
    assert page.is_hidden("#group-persons")
    _chip(page, "unit_disposition", "contact_made")
    assert page.is_visible("#group-persons")
    assert page.is_visible("#wrap-en_route_at")
    _chip(page, "contact_mode", "phone_only")
    assert page.is_hidden("#wrap-en_route_at") and page.is_hidden("#wrap-police_on_scene_at_arrival")
    assert page.is_hidden("#wrap-persons-0-naloxone_administered")
    _chip(page, "persons-0-needs", "suspected_overdose")
    assert page.is_visible("#wrap-persons-0-naloxone_administered")
    _chip(page, "call_source", "walk_up_flag_down")
    assert page.is_checked("input[name=dispatch_reason][value=not_dispatched]")


def test_now_fills_the_local_time_and_a_second_tap_clears_a_chip(tablet: Any) -> None:
    page = tablet
    page.click("[data-now=call_received_at]")
    # a datetime-local value leaves out ":00" seconds, so both forms must parse
    shown = datetime.fromisoformat(page.input_value("#call_received_at")).replace(tzinfo=ZONE)
    assert abs((datetime.now(ZONE) - shown).total_seconds()) < 120
    _chip(page, "location_type", "park")
    assert page.is_checked("input[name=location_type][value=park]")
    _chip(page, "location_type", "park")
    assert not page.is_checked("input[name=location_type][value=park]")


def test_person_rows_are_added_removed_and_saved_from_the_page(
    tablet: Any, app: Flask, db: sqlite_utils.Database
) -> None:
    page = tablet
    _chip(page, "unit_disposition", "contact_made")
    page.fill("#persons-0-age_years", "30")
    add_person(page)
    page.fill("#persons-1-age_years", "9")
    assert page.inner_text("#group-persons").count("Person 2") == 1
    remove_person(page, 0)
    assert "Person 2" not in page.inner_text("#group-persons")
    encounter_id = page.input_value("input[name=encounter_uuid]")
    page.click("button[value=save]")
    page.wait_for_url("**/edit")
    assert "Draft saved." in page.inner_text("main")
    rows = _stored(db, app, encounter_id).answers["persons"]
    assert [row["age_years"] for row in rows] == [9]
