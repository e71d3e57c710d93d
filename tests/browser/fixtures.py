"""Browser fixtures: the real app on a loopback port (waitress) and one headless Chromium per module.

Test modules import them by name (a conftest.py here would shadow tests/conftest.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.chromium import launch
from tests.browser.live_server import LiveServer, serve
from tests.conftest import add_personas, make_app


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Serve the app, with every persona and their open shifts, on a fresh instance."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("CREWLOG_")]:
            patch.delenv(name)
        app = make_app(tmp_path_factory.mktemp("live") / "instance")
        add_personas(app)
        server = serve(app)
        yield server
        server.stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    """Start Playwright once per module."""
    from playwright.sync_api import sync_playwright

    runner = sync_playwright().start()
    yield runner
    runner.stop()


@pytest.fixture(scope="module")
def browser(playwright: Any) -> Iterator[Any]:
    """Launch Debian's chromium once per module."""
    chromium = launch(playwright)
    yield chromium
    chromium.close()


@pytest.fixture
def context(browser: Any, live: LiveServer) -> Iterator[Any]:
    """Return a fresh browser profile (cookies, storage, service worker) aimed at the live server."""
    live.faults.clear()
    ctx = browser.new_context(base_url=live.url)
    ctx.set_default_timeout(15000)
    yield ctx
    ctx.close()


@pytest.fixture
def no_script(browser: Any, live: LiveServer) -> Iterator[Any]:
    """Return a page in a browser profile with JavaScript turned off."""
    ctx = browser.new_context(base_url=live.url, java_script_enabled=False)
    yield ctx.new_page()
    ctx.close()
