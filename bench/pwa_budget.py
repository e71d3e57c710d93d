"""Check the encounter form's weight and speed in headless Chromium against the PWA budgets.

Run: .venv/bin/python bench/pwa_budget.py [--runs 5]

Serves the real app (waitress, loopback, temporary instance), logs in as a responder and
opens the new-encounter form once online so the service worker installs. It prints every
file the form page loads (raw and gzip bytes), the totals, the JavaScript total, and the
time until the form is usable when it comes from the service worker's cache with the CPU
throttled 4x (the median of --runs offline loads, timed only once the worker controls the page
and holds the blank form; "usable" is when the form's first screen is drawn, form.js has run and
the offline module listens, so what the crew types is autosaved: drafts are then read from
IndexedDB, and the fields after the first screen drawn a few a frame, without blocking them; the
moment the whole form is drawn is printed too).
Budgets: page with everything it loads <= 120 KB raw
and <= 35 KB gzip, JavaScript <= 30 KB raw, usable <= 300 ms. Files the page fetches only
later (the validator and the template, on Finalize), the service worker's install download
and the JavaScript the form loads when a draft comes back or a record waits to be sent are
reported but not budgeted. Exits 1 when a budget is missed.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from app import users  # noqa: E402
from tests.browser.live_server import serve  # noqa: E402
from tests.conftest import PERSONAS, add_personas, make_app  # noqa: E402

KB = 1024
BUDGETS = {"raw": 120 * KB, "gzip": 35 * KB, "js": 30 * KB, "usable_ms": 300}
FORM = "/encounters/new"
LATER = ("/static/js/validation.js", "/template.json")  # fetched on Finalize, not to open the form
# For scale, not budgeted: a page with no form, drawn (DOMContentLoaded, then a frame) the same way.
DRAWN = """addEventListener("DOMContentLoaded", () => requestAnimationFrame(() => setTimeout(() => {
  document.documentElement.dataset.drawn = String(Math.round(performance.now())); })));"""
# The value of <html data-NAME>, or null while the page has not marked that moment.
MARK = "document.documentElement.dataset.{name} ?? null"
# The moments of the last navigation: page received (from the worker), read (parsed), scripts run.
PHASES = """(({ responseEnd, domInteractive, domContentLoadedEventEnd }) => ({
  received: responseEnd, read: domInteractive, scripted: domContentLoadedEventEnd,
}))(performance.getEntriesByType("navigation")[0])"""
# A record waiting in this tablet's outbox: the next page load sends it, loading the replay module.
QUEUE_ONE = """async () => (await import("/static/js/offline/store.js")).put("outbox", {
  user: document.body.dataset.userId, id: crypto.randomUUID(), rev: 1, state: "waiting",
  queuedAt: Date.now(), body: {} })"""
# An unfinished draft on this tablet: the next load of the form brings it back (the draft module loads).
KEEP_DRAFT = """async () => (await import("/static/js/offline/store.js")).put("drafts", {
  user: document.body.dataset.userId, id: crypto.randomUUID(), isNew: true, base: "", savedAt: Date.now(),
  snapshot: { rows: {}, values: [] } })"""


def sizes(body: bytes) -> tuple[int, int]:
    """Return (raw, gzip -6) byte counts of a response body."""
    return len(body), len(gzip.compress(body, compresslevel=6))


def log_in(page: Any) -> None:
    """Log in as the responder persona."""
    who = PERSONAS["responder"]
    page.goto("/login")
    page.fill("input[name=username]", who.username)
    page.fill("input[name=password]", who.password)
    page.click("form[action^='/login'] button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def moment(page: Any, name: str) -> int:
    """Wait until the page marks <html data-NAME>; return its milliseconds since navigation start.

    Polled over a bare DevTools session: Playwright's own waits first inject its helper script
    (some 80 ms of the page's main thread with the CPU throttled), which would land inside the
    very load being timed and delay the mark by that much.
    """
    cdp = page.context.new_cdp_session(page)
    ask = {"expression": MARK.format(name=name), "returnByValue": True}
    try:
        for _ in range(1500):
            found = cdp.send("Runtime.evaluate", ask)
            if found["result"].get("value") is not None:
                return int(found["result"]["value"])
            time.sleep(0.02)
    finally:
        cdp.detach()
    raise TimeoutError(f"the page never marked data-{name}")


def phases(page: Any) -> dict[str, int]:
    """Return when the loaded page arrived, was read, and had run its scripts (ms since navigation).

    Read from the Navigation Timing entry over a bare DevTools session, after the load was timed.
    """
    cdp = page.context.new_cdp_session(page)
    try:
        entry = cdp.send("Runtime.evaluate", {"expression": PHASES, "returnByValue": True})
    finally:
        cdp.detach()
    return {name: int(value) for name, value in entry["result"]["value"].items()}


def wait_usable(page: Any) -> int:
    """Wait until the form is usable; return the milliseconds since navigation start."""
    return moment(page, "usable")


def wait_cached(page: Any) -> None:
    """Wait until the service worker controls the page and keeps the blank form for offline use."""
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    for _ in range(150):  # wait_for_function stops at the first settled Promise, even a false one
        if page.evaluate(f"async () => !!(await caches.match({FORM!r}))"):
            return
        page.wait_for_timeout(200)
    raise RuntimeError("the service worker never kept the blank form: offline loads would show /offline")


def page_files(context: Any, page: Any, base: str) -> list[tuple[str, int, int]]:
    """Load the form online; return (path, raw, gzip) of the page and every same-origin file it loads."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(urlsplit(r.url).path) if r.url.startswith(base) else None)
    page.goto(FORM)
    wait_usable(page)
    page.wait_for_load_state("networkidle")
    paths = list(dict.fromkeys(p for p in seen if p not in ("/sw.js",) and not p.startswith("/api/")))
    return [(path, *sizes(context.request.get(base + path).body())) for path in paths]


def js_with_a_record_waiting(context: Any, page: Any, base: str) -> int:
    """Queue a record, open the form online again; return the raw bytes of JavaScript it loads."""
    page.goto(FORM)
    page.evaluate(QUEUE_ONE)
    files = page_files(context, context.new_page(), base)
    return sum(raw for path, raw, _ in files if path.endswith(".js"))


def js_with_a_draft_kept(browser: Any, base: str) -> int:
    """Keep a draft in a fresh profile, open the form again; return the raw bytes of JavaScript it loads."""
    context = browser.new_context(base_url=base)
    page = context.new_page()
    log_in(page)
    page.goto(FORM)
    wait_usable(page)
    page.evaluate(KEEP_DRAFT)
    files = page_files(context, context.new_page(), base)
    context.close()
    return sum(raw for path, raw, _ in files if path.endswith(".js"))


def install_download(context: Any, page: Any, base: str) -> list[tuple[str, int, int]]:
    """Return (path, raw, gzip) of what the service worker stores at install."""
    shell = page.evaluate(
        "async () => { const name = (await caches.keys()).find((n) => n.endsWith('-shell'));"
        " return (await (await caches.open(name)).keys()).map((r) => r.url); }"
    )
    return [(urlsplit(u).path, *sizes(context.request.get(u).body())) for u in shell]


def time_to_usable(context: Any, page: Any, runs: int) -> dict[str, list[int]]:
    """Time offline loads from the service worker with the CPU throttled 4x: the form's usable and
    drafts-read (offlineReady) moments, where its time went (page received, read, scripts run),
    and for scale the offline page (no form) drawn."""
    context.set_offline(True)
    context.add_init_script(DRAWN)
    cdp = context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
    names = ("usable", "ready", "whole", "empty", "received", "read", "scripted")
    times: dict[str, list[int]] = {name: [] for name in names}
    for _ in range(runs):
        page.goto(FORM + "?new=1")
        times["usable"].append(wait_usable(page))
        times["ready"].append(moment(page, "offlineReady"))
        times["whole"].append(moment(page, "formDrawn"))
        for name, value in phases(page).items():
            times[name].append(value)
        page.goto("/offline")
        times["empty"].append(moment(page, "drawn"))
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    context.set_offline(False)
    return times


def table(title: str, rows: list[tuple[str, int, int]]) -> None:
    """Print files with their sizes in KB."""
    print(title)
    for path, raw, packed in rows:
        print(f"  {path:<42} {raw / KB:8.1f} KB raw {packed / KB:7.1f} KB gzip")


def measure(runs: int) -> dict[str, Any]:
    """Serve the app, load the form in Chromium and return the figures."""
    users.use_fast_hashing()
    with tempfile.TemporaryDirectory() as folder:
        for name in [n for n in os.environ if n.startswith("CREWLOG_")]:
            del os.environ[name]
        app = make_app(Path(folder) / "instance")
        add_personas(app)
        live = serve(app)
        try:
            with sync_playwright() as playwright:
                executable = shutil.which("chromium") or "/usr/bin/chromium"
                browser = playwright.chromium.launch(executable_path=executable, headless=True)
                context = browser.new_context(base_url=live.url)
                page = context.new_page()
                log_in(page)
                page.goto(FORM)
                wait_cached(page)
                files = page_files(context, context.new_page(), live.url)
                shell = install_download(context, page, live.url)
                times = time_to_usable(context, page, runs)
                waiting_js = js_with_a_record_waiting(context, page, live.url)
                draft_js = js_with_a_draft_kept(browser, live.url)
                browser.close()
        finally:
            live.stop()
    return {"files": files, "shell": shell, "times": times, "waiting_js": waiting_js, "draft_js": draft_js}


def report(figures: dict[str, Any]) -> list[str]:
    """Print the figures; return the budgets missed."""
    files, shell, times = figures["files"], figures["shell"], figures["times"]
    table("Encounter form page and the files it loads:", files)
    raw, packed = sum(f[1] for f in files), sum(f[2] for f in files)
    js = sum(f[1] for f in files if f[0].endswith(".js"))
    later = [f for f in shell if f[0] in LATER]
    table("Fetched on Finalize (from the service worker's cache):", later)
    print(
        f"Service worker install download: {sum(f[1] for f in shell) / KB:.1f} KB raw in {len(shell)} files"
    )
    usable = int(statistics.median(times["usable"]))
    print(
        f"Total: {raw / KB:.1f} KB raw, {packed / KB:.1f} KB gzip (budgets {BUDGETS['raw'] // KB} / "
        f"{BUDGETS['gzip'] // KB} KB)"
    )
    print(
        f"JavaScript loaded by the form: {js / KB:.1f} KB raw (budget {BUDGETS['js'] // KB} KB); with the "
        f"validator: {(js + sum(f[1] for f in later if f[0].endswith('.js'))) / KB:.1f} KB; when a draft "
        f"comes back: {figures['draft_js'] / KB:.1f} KB; while a record waits to be sent: "
        f"{figures['waiting_js'] / KB:.1f} KB (not budgeted)"
    )
    print(
        f"Usable from the service worker cache, CPU 4x slower: median {usable} ms of {times['usable']} "
        f"(budget {BUDGETS['usable_ms']} ms)"
    )
    median = {name: int(statistics.median(values)) for name, values in times.items()}
    print(
        f"  where the time goes (medians): page from the worker at {median['received']} ms, read at "
        f"{median['read']} ms, scripts run (DOMContentLoaded) at {median['scripted']} ms, then drawn"
    )
    print(
        f"  for scale, not budgeted: the rest of the form (after its first screen) drawn at median "
        f"{median['whole']} ms; drafts read at median {median['ready']} ms; the offline page (no form) "
        f"drawn at median {median['empty']} ms"
    )
    checks = {"raw": raw, "gzip": packed, "js": js, "usable_ms": usable}
    return [f"{name} {value} > {BUDGETS[name]}" for name, value in checks.items() if value > BUDGETS[name]]


def main() -> int:
    """Measure, print, and exit 1 when a budget is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="offline loads to time (median)")
    missed = report(measure(parser.parse_args().runs))
    if missed:
        print("MISSED: " + "; ".join(missed))
        return 1
    print("All PWA budgets met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
