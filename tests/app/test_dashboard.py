"""The metrics dashboard on a seeded program: numbers computed by hand, suppression, charts.

The seeded month (November 2026, unit CR-1), finalized through the real API:

| day | source | response (min) | client | police called | resolution             |
|-----|--------|----------------|--------|---------------|------------------------|
| 2   | 911    | 8              | A      | yes           | resolved_with_referral |
| 3   | 911    | 12             | A      | no            | resolved_on_scene      |
| 4   | 911    | 15             | A      | no            | resolved_with_referral |
| 5   | 911    | 9              | B      | yes           | person_left            |
| 6   | 911    | 20             | B      | no            | resolved_with_referral |
| 7   | 911    | 11             | C      | no            | resolved_with_referral |
| 8   | 911    | 14             | D      | no            | person_left            |
| 9   | 911    | 30             | E      | yes           | resolved_with_referral |
| 10  | 911    | 10             | F      | no            | resolved_with_referral |
| 11  | 911    | 13             | G      | no            | resolved_on_scene      |
| 12  | 911    | 16             | H      | no            | unresolved_other       |
| 13  | 911    | 25             | I      | no            | resolved_with_referral |
| 14  | 988    | phone only     | J      | no            | resolved_with_referral |
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
import sqlite_utils
from flask import Flask

from app import template_versions
from app.held_records import HeldStores
from app.supervisor import report_cache
from tests.app.supervisor_builders import call_answers, finalize, post_form
from tests.conftest import ApiClient

SEED = [  # (day, response minutes, client, police called, resolution)
    (2, 8, "A", True, "resolved_with_referral"),
    (3, 12, "A", False, "resolved_on_scene"),
    (4, 15, "A", False, "resolved_with_referral"),
    (5, 9, "B", True, "person_left"),
    (6, 20, "B", False, "resolved_with_referral"),
    (7, 11, "C", False, "resolved_with_referral"),
    (8, 14, "D", False, "person_left"),
    (9, 30, "E", True, "resolved_with_referral"),
    (10, 10, "F", False, "resolved_with_referral"),
    (11, 13, "G", False, "resolved_on_scene"),
    (12, 16, "H", False, "unresolved_other"),
    (13, 25, "I", False, "resolved_with_referral"),
]
RANGE = "start=2026-11-01&end=2026-11-15"


@pytest.fixture
def seeded(login_as: Any) -> ApiClient:
    """Seed the month above in day order (so repeat clients are recognized) and return the supervisor."""
    rita = login_as("responder")
    for day, minutes, client, police, resolution in SEED:
        finalize(
            rita,
            call_answers(
                day, response_min=minutes, client=f"CL-{client}", police=police, resolution=resolution
            ),
        )
    finalize(rita, call_answers(14, client="CL-J", phone_only=True))
    return login_as("supervisor")


def card(page: str, metric: str) -> dict[str, str]:
    """Return the data attributes of a metric's card."""
    found = re.search(rf'<article class="metric[^"]*" data-metric="{metric}"([^>]*)>', page)
    assert found, f"no card for {metric}"
    return {k: html.unescape(v) for k, v in re.findall(r'data-([a-z0-9-]+)="([^"]*)"', found.group(1))}


def test_exact_figures_equal_the_numbers_computed_by_hand(seeded: ApiClient) -> None:
    page = seeded.get(f"/supervisor/metrics?{RANGE}&exact=1").get_data(as_text=True)
    # Response time: the 12 dispatched in-person calls (the 988 phone call has no on-scene time).
    # Sorted minutes: 8 9 10 11 12 13 14 15 16 20 25 30.
    # Median of 12 = mean of the 6th and 7th = (13 + 14) / 2 = 13.5 min = 810 s.
    # p90, nearest rank: ceil(0.9 * 12) = 11th smallest = 25 min = 1500 s.
    response = card(page, "response_time")
    assert (response["n"], response["median-s"], response["p90-s"]) == ("12", "810", "1500")
    # Police backup: police called on days 2, 5 and 9, over the 12 in-person contacts: 3 / 12 = 25.0 %.
    police = card(page, "police_backup_rate")
    assert (police["numerator"], police["denominator"], police["percent"]) == ("3", "12", "25.0")
    # Resolved on scene: people of in-person contacts resolved on scene or with a referral:
    # all 12 but days 5, 8 (person left) and 12 (unresolved): 9 / 12 = 75.0 %.
    resolved = card(page, "resolved_on_scene_rate")
    assert (resolved["numerator"], resolved["denominator"], resolved["percent"]) == ("9", "12", "75.0")
    # Repeat contacts, distinct people: A..J = 10 people; seen before: A (days 3, 4) and B (day 6) = 2.
    # 2 / 10 = 20.0 %.
    repeat = card(page, "repeat_contact_rate")
    assert (repeat["numerator"], repeat["denominator"], repeat["percent"]) == ("2", "10", "20.0")
    assert card(page, "encounter_volume")["count"] == "13"
    assert 'data-encounters="13"' in page


def test_small_cells_are_suppressed_by_default_and_marked_in_the_exact_view(seeded: ApiClient) -> None:
    shared = seeded.get(f"/supervisor/metrics?{RANGE}").get_data(as_text=True)
    # 12 response times (n >= 11): shown. 3 police calls (numerator 1..10): hidden as the state publishes.
    assert card(shared, "response_time")["median-s"] == "810"
    police = card(shared, "police_backup_rate")
    assert (police["numerator"], police["denominator"], police["suppressed"]) == ("<11", "12", "True")
    assert "percent" not in police
    repeat = card(shared, "repeat_contact_rate")  # 2 of 10 people: both counts small
    assert (repeat["numerator"], repeat["denominator"]) == ("<11", "<11")
    exact = seeded.get(f"/supervisor/metrics?{RANGE}&exact=1").get_data(as_text=True)
    assert re.search(r'<article class="metric small-cell" data-metric="police_backup_rate"', exact)
    assert not re.search(r'<article class="metric small-cell" data-metric="response_time"', exact)


def test_breakdowns_and_weekly_charts_are_inline_svg(seeded: ApiClient) -> None:
    page = seeded.get(f"/supervisor/metrics?{RANGE}&exact=1&by=call_source").get_data(as_text=True)
    chart = page.split('id="chart-encounter_volume"')[1].split("</svg>")[0]
    # 12 calls came by 911 and 1 by 988: one bar each, labelled from the code list.
    assert chart.count('<rect class="bar') == 2 and "911: 12" in chart
    assert '<svg class="chart" id="chart-weekly-volume"' in page
    assert '<svg class="chart" id="chart-weekly-response"' in page
    # Week of Mon Nov 2: days 2-8 = 7 calls; week of Nov 9: days 9-14 = 6; week of Oct 26 (Nov 1): none.
    assert re.search(r'data-week="2026-10-26"><td>2026-10-26</td><td>0</td>', page)
    assert re.search(r'data-week="2026-11-02"><td>2026-11-02</td><td>7</td>', page)
    assert re.search(r'data-week="2026-11-09"><td>2026-11-09</td><td>6</td>', page)
    main = page.split("<main")[1].split("</main>")[0]
    assert "<script" not in main and not re.search(r'(src|href)="(https?:)?//', page)  # no CDN, no chart JS


def test_data_quality_panel_counts_not_values_per_field(login_as: Any, seeded: ApiClient) -> None:
    rita = login_as("responder")
    answers = call_answers(15, client="CL-K")
    del answers["location_type"]  # required: "not recorded" at finalize
    finalize(rita, answers)
    page = seeded.get(f"/supervisor/metrics?{RANGE}&exact=1").get_data(as_text=True)
    row = page.split('data-quality="location_type"')[1].split("</tr>")[0]
    # 1 of the 14 encounters has location_type not recorded: 1 / 14 = 7.1 %.
    assert 'data-not-values="1">1 (7.1%)' in row and "not_recorded 1" in row


def test_unit_filter_and_new_records_update_the_figures(login_as: Any, seeded: ApiClient) -> None:
    assert (
        card(seeded.get(f"/supervisor/metrics?{RANGE}&unit=CR-2").get_data(as_text=True), "encounter_volume")[
            "count"
        ]
        == "0"
    )
    ray = login_as("responder2")
    finalize(ray, call_answers(15, client="CL-Z"))
    assert (
        card(
            seeded.get(f"/supervisor/metrics?{RANGE}&unit=CR-2&exact=1").get_data(as_text=True),
            "encounter_volume",
        )["count"]
        == "1"
    )
    assert (
        card(seeded.get(f"/supervisor/metrics?{RANGE}&exact=1").get_data(as_text=True), "encounter_volume")[
            "count"
        ]
        == "14"
    )


def test_voided_and_amended_records_count_as_their_latest_version(
    seeded: ApiClient, db: sqlite_utils.Database
) -> None:
    day_two = db.execute("SELECT id FROM encounters WHERE encounter_date = '2026-11-02'").fetchone()[0]
    assert (
        post_form(seeded, f"/supervisor/encounters/{day_two}/void", {"reason": "Duplicate"}).status_code
        == 302
    )
    page = seeded.get(f"/supervisor/metrics?{RANGE}&exact=1").get_data(as_text=True)
    police = card(page, "police_backup_rate")  # day 2 had police called: now 2 of 11
    assert (police["numerator"], police["denominator"]) == ("2", "11")


def test_a_report_over_many_payloads_not_yet_in_memory_is_computed_in_the_background(
    seeded: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_cache, "INLINE_RECORDS", 5)
    report_cache.reports.wait(timeout=60)  # a warm-up a supervisor page may have started
    monkeypatch.setattr(report_cache.reports, "held", HeldStores())  # as after a restart: nothing held yet
    computing = seeded.get("/supervisor/metrics?start=2026-11-01&end=2026-11-14&exact=1")
    assert computing.status_code == 202
    assert "data-computing" in computing.get_data(as_text=True)
    assert '<meta http-equiv="refresh"' in computing.get_data(as_text=True)
    report_cache.reports.wait(timeout=60)
    done = seeded.get("/supervisor/metrics?start=2026-11-01&end=2026-11-14&exact=1")
    assert done.status_code == 200 and card(done.get_data(as_text=True), "encounter_volume")["count"] == "13"


def test_the_held_payloads_take_a_change_without_reading_the_others_again(
    seeded: ApiClient, db: sqlite_utils.Database, app: Flask
) -> None:
    page = seeded.get(f"/supervisor/metrics?{RANGE}&exact=1").get_data(as_text=True)
    before = card(page, "police_backup_rate")
    assert (before["numerator"], before["denominator"]) == ("3", "12")
    template = template_versions.active(db)
    assert template is not None
    held = report_cache.reports.held.get(str(app.config["DATABASE"]), template)
    seq = held.seq
    day_five = db.execute("SELECT id FROM encounters WHERE encounter_date = '2026-11-05'").fetchone()[0]
    voided = post_form(seeded, f"/supervisor/encounters/{day_five}/void", {"reason": "Duplicate"})
    assert voided.status_code == 302
    page = seeded.get(f"/supervisor/metrics?{RANGE}&exact=1").get_data(as_text=True)
    assert "data-stale" in page  # the last report, marked, while the new one computes
    assert card(page, "police_backup_rate")["numerator"] == "3"
    report_cache.reports.wait(timeout=60)
    page = seeded.get(f"/supervisor/metrics?{RANGE}&exact=1").get_data(as_text=True)
    after = card(page, "police_backup_rate")
    assert (after["numerator"], after["denominator"]) == ("2", "11")
    assert held.store.records == 13 + (held.seq - seq)  # only the changed payload was read again
    assert held.seq - seq == 1
