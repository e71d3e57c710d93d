# ruff: noqa: F811  (test arguments name the fixtures imported from tests.browser.fixtures)
"""Crewlog installs as an app: its service worker controls every page, its manifest is valid, and it
keeps only the app shell and the blank form, never the API or a page that shows a person's data."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import crew
from tests.browser.fixtures import browser, context, live, playwright  # noqa: F401  (fixtures)
from tests.browser.live_server import LiveServer
from tests.conftest import PERSONAS, ApiClient, AuthActions, valid_answers

CACHED_URLS = """async () => {
  const urls = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) urls.push([name, new URL(request.url).pathname]);
  }
  return urls;
}"""
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(body: bytes) -> tuple[int, int]:
    """Return (width, height) of a PNG image."""
    assert body[:8] == PNG_SIGNATURE, "not a PNG image"
    width, height = struct.unpack(">II", body[16:24])
    return width, height


def test_service_worker_controls_the_pages_and_the_manifest_is_installable(
    context: Any, live: LiveServer
) -> None:
    page = context.new_page()
    page.goto("/login")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    crew.log_in(page, "responder")
    assert page.evaluate("() => navigator.serviceWorker.controller.scriptURL") == live.url + "/sw.js"
    manifest_url = page.get_attribute("link[rel=manifest]", "href")
    response = context.request.get(live.url + manifest_url)
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = response.json()
    assert manifest["name"] == "Crewlog" and manifest["short_name"]
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert manifest["theme_color"].startswith("#") and manifest["background_color"].startswith("#")
    sizes = set()
    for icon in manifest["icons"]:
        image = context.request.get(live.url + icon["src"])
        assert image.ok, icon["src"]
        assert image.headers["content-type"].startswith(icon["type"])
        if icon["type"] == "image/png":
            width, height = png_size(image.body())
            assert icon["sizes"] == f"{width}x{height}"
            sizes.add(width)
    assert {192, 512} <= sizes


def test_a_static_file_the_worker_does_not_keep_still_reaches_the_page(context: Any) -> None:
    page = context.new_page()
    page.goto("/login")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    crew.log_in(page, "supervisor", "/supervisor/")
    assert page.evaluate("() => navigator.serviceWorker.controller !== null")
    rules = page.evaluate(
        "() => [...document.styleSheets].find((s) => s.href?.endsWith('/supervisor.css'))?.cssRules.length"
    )
    assert rules, "the supervisor's stylesheet (not in the app shell) did not load"


def test_api_answers_and_pages_with_a_persons_data_are_never_cached(context: Any, live: LiveServer) -> None:
    client = live.app.test_client()
    assert AuthActions(client).login("responder").status_code == 302
    draft = ApiClient(client, PERSONAS["responder"]).save(valid_answers(psap_incident_id="INC-PRIVATE-1"))
    record = draft.get_json()["id"]
    page = context.new_page()
    crew.log_in(page, "responder")
    crew.open_form_online(page)
    for path in (
        "/",
        f"/encounters/{record}/edit",
        f"/api/v1/encounters/{record}",
        "/api/v1/encounters?mine=1",
    ):
        page.goto(path)
    page.goto("/")
    cached = page.evaluate(CACHED_URLS)
    paths = {path for _, path in cached}
    assert "/encounters/new" in paths and "/static/css/app.css" in paths and "/template.json" in paths
    assert not [p for p in paths if p.startswith("/api/") or p == "/" or p.endswith("/edit")]
    context.set_offline(True)
    page.goto(f"/encounters/{record}/edit")
    assert "No connection" in page.inner_text("h1")
    assert "INC-PRIVATE-1" not in page.content()


@pytest.fixture
def deploy(live: LiveServer) -> Iterator[Any]:
    """Return a function that deploys a new build; the old build id comes back afterwards."""

    def new_build(build_id: str) -> None:
        live.app.config["PWA_BUILD_ID"] = build_id

    yield new_build
    live.app.config.pop("PWA_BUILD_ID", None)


def test_new_deploy_installs_a_new_worker_cleans_old_caches_and_keeps_unsent_data(
    context: Any, live: LiveServer, deploy: Any
) -> None:
    page = context.new_page()
    crew.log_in(page, "responder")
    before = len(live.encounters("rita"))
    crew.open_form_online(page)
    old_caches = page.evaluate("() => caches.keys()")
    live.faults.fail_next(100, 503)  # keep the record on the tablet across the deploy
    crew.fill_encounter_quickly(page)
    crew.finalize_and_follow(page)
    assert crew.waiting(page) == 1
    deploy("build-2")
    page.evaluate("async () => (await navigator.serviceWorker.getRegistration()).update()")
    crew.wait_until(page, f"async () => !(await caches.keys()).includes({old_caches[0]!r})")
    new_caches = page.evaluate("() => caches.keys()")
    assert new_caches and not set(new_caches) & set(old_caches)
    page.reload()
    crew.wait_ready(page)
    assert crew.waiting(page) == 1
    live.faults.clear()
    page.click("[data-sync-now]")
    crew.wait_until(page, "() => document.querySelector('#sync-status').dataset.waiting === '0'")
    assert len(live.encounters("rita")) == before + 1
