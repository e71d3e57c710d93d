"""The browser's validator (static/js/validation.js) and the server's (forms/validation.py) agree.

Every case of tests/shared_validation_cases.json runs through both, in every language the
messages are worded in; the messages (field, severity, wording, rule, row) and the normalized
answers must be identical, so a record a crew finalizes offline is judged, and explained in the
crew's language, exactly as the server will judge it.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from datetime import datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from forms import Template, load_shipped_template, load_template_data, normalize, validate
from forms.phrases import CATALOGUES, ENGLISH

ROOT = Path(__file__).resolve().parents[2]
CASES_FILE = ROOT / "tests" / "shared_validation_cases.json"
DOC = json.loads(CASES_FILE.read_text(encoding="utf-8"))
CASES = DOC["cases"]
LANGUAGES = (ENGLISH, *CATALOGUES)

RUN_IN_BROWSER = """async ({cases, templates}) => {
  const v = await import("/js/validation.js");
  return cases.map((c) => {
    const src = templates[c.template];
    const options = {finalize: c.finalize, extended: c.extended, now: new Date(c.now),
                     duplicateLookup: c.duplicate ? () => true : null, lang: c.lang};
    return {messages: v.validate(src, c.answers, options), normalized: v.normalize(src, c.answers, options)};
  });
}"""


def templates() -> dict[str, Template]:
    """Return the templates the cases name: the shipped one and the file's own."""
    found = {"shipped": load_shipped_template()}
    found.update({name: load_template_data(data, name) for name, data in DOC["templates"].items()})
    return found


def answers_of(case: dict[str, Any]) -> Any:
    """Return the answers of a case: its own, or the template's base answers patched."""
    if "answers" in case:
        return copy.deepcopy(case["answers"])
    answers = copy.deepcopy(DOC["base"][case["template"]])
    answers.update(case.get("set", {}))
    for name in case.get("drop", []):
        answers.pop(name, None)
    person = (
        answers["persons"][0] if isinstance(answers.get("persons"), list) and answers["persons"] else None
    )
    if person is not None:
        person.update(case.get("person", {}))
        for name in case.get("person_drop", []):
            person.pop(name, None)
    if "add_person" in case:
        answers["persons"].append(case["add_person"])
    return answers


def run_in_python(template: Template, case: dict[str, Any], lang: str) -> dict[str, Any]:
    """Return what the server's validator says about a case, in a language."""
    answers = answers_of(case)
    now = datetime.fromisoformat(case["now"])
    extended = frozenset(case.get("extended", []))
    lookup = (lambda _answers: True) if case.get("duplicate") else None
    messages = validate(
        template,
        answers,
        finalize=case["finalize"],
        now=now,
        extended=extended,
        duplicate_lookup=lookup,
        lang=lang,
    )
    normalized = normalize(template, answers, extended=extended, finalize=case["finalize"])
    return {"messages": [m.to_json() for m in messages], "normalized": normalized}


class _QuietStatic(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""


@pytest.fixture(scope="module")
def static_server() -> Iterator[str]:
    """Serve static/ on a loopback port; return its base URL."""
    handler = partial(_QuietStatic, directory=str(ROOT / "static"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser_results(static_server: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Run every case, in every language, through static/js/validation.js in headless Chromium, once.

    The templates carry the phrases as /template.json serves them (message_phrases)."""
    from playwright.sync_api import sync_playwright

    from tests.browser.chromium import launch

    sources = {name: {**t.to_json(), "message_phrases": CATALOGUES} for name, t in templates().items()}
    cases = [
        {
            **c,
            "answers": answers_of(c),
            "extended": c.get("extended", []),
            "duplicate": c.get("duplicate", False),
            "lang": lang,
        }
        for lang in LANGUAGES
        for c in CASES
    ]
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page()
        page.goto(static_server + "/css/app.css")
        results = page.evaluate(RUN_IN_BROWSER, {"cases": cases, "templates": sources})
        browser.close()
    return {(case["lang"], case["name"]): result for case, result in zip(cases, results, strict=True)}


@pytest.fixture(scope="module")
def python_templates() -> dict[str, Template]:
    """Return the loaded templates, once."""
    return templates()


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_browser_and_server_validation_agree(
    case: dict[str, Any],
    lang: str,
    python_templates: dict[str, Template],
    browser_results: dict[tuple[str, str], dict[str, Any]],
) -> None:
    server = run_in_python(python_templates[case["template"]], case, lang)
    browser = browser_results[(lang, case["name"])]
    assert browser["messages"] == server["messages"]
    assert browser["normalized"] == server["normalized"]
    if "expect" in case:
        assert [f"{m['rule']} {m['field']}" for m in server["messages"]] == case["expect"]
