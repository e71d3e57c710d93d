"""Benchmark the template engine: loading the shipped template and computing its metrics.

Run: .venv/bin/python bench/forms_bench.py [--encounters 100000] [--seed 7]

Prints the median time to load and validate the shipped template (20 runs, budget
50 ms) and, over synthetic payload records of 100,000 encounters:

- reading them into a column store (forms/metric_store.py) and numbering its columns,
  what the dashboard does once in the background when a server starts, then record by
  record as they arrive (reported only);
- every shipped metric over that store, the first report after it was built (budget 1 s);
- the next report over other dates (the store keeps what reports derive; reported only);
- all metrics with all breakdowns (reported only);
- `compute_metrics` straight from the dicts: read, then compute (reported only).

Exits 1 when a budget is missed. Budgets are judged on CPU time (time.process_time):
the wall time is printed too, but on a shared machine it mostly measures the other
processes; a calibration line shows how fast this machine is right now.

Records are de-identified payloads as forms.payload.shape_payload makes them, already
in memory (decoding 100,000 JSON texts is the caller's cost and is not included;
`--from-json` decodes each record from its own text first, which makes field reads
slower because no two records share key objects), drawn
from a seeded random.Random: codes come from the template's code lists; about 8% of
encounters also carry an earlier version and 1% end voided.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from random import Random
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forms.loader import load_shipped_template, load_template, shipped_template_path  # noqa: E402
from forms.metrics import ColumnStore, compute_held, compute_metrics  # noqa: E402
from forms.model import Template  # noqa: E402

LOAD_BUDGET_S = 0.050
METRICS_BUDGET_S = 1.0
NOT_RECORDED = {"nv": "not_recorded"}


class Synth:
    """Draw realistic payload records for one template from a seeded generator."""

    def __init__(self, template: Template, seed: int, people: int = 30_000) -> None:
        self.template = template
        self.rng = Random(seed)
        self.people = [f"k2026:{self.rng.getrandbits(256):064x}" for _ in range(people)]
        self.units = [f"k2026:{self.rng.getrandbits(256):064x}" for _ in range(12)]
        self.agencies = ["ST-CR-0042", "ST-CR-0007", "ST-CR-0113"]
        self.counties = self.codes("fips_county")[:12]

    def codes(self, list_id: str) -> list[str]:
        """Return the codes of a template code list."""
        return [c.code for c in self.template.code_lists[list_id].codes]

    def pick(self, list_id: str, exclude: tuple[str, ...] = ()) -> str:
        """Return one code of a list."""
        return self.rng.choice([c for c in self.codes(list_id) if c not in exclude])

    def some(self, list_id: str, most: int = 3, exclude: tuple[str, ...] = ()) -> list[str]:
        """Return 1..most distinct codes of a list."""
        codes = [c for c in self.codes(list_id) if c not in exclude]
        return self.rng.sample(codes, self.rng.randint(1, most))

    def chance(self, p: float) -> bool:
        """Return True with probability p."""
        return self.rng.random() < p

    def seconds(self, median: float, spread: float = 0.6) -> int:
        """Return a log-normal duration in seconds around a median."""
        return max(1, int(self.rng.lognormvariate(0, spread) * median))

    def records(self, encounters: int) -> list[dict[str, Any]]:
        """Return payload records for this many encounters, earlier versions included."""
        out: list[dict[str, Any]] = []
        for index in range(encounters):
            record = self.encounter(index)
            if self.chance(0.08):
                out.append({**record, "record_version": 1, "record_status": "final"})
                record = {**record, "record_version": 2, "record_status": "amended"}
            if self.chance(0.01):
                record = {**record, "record_version": record["record_version"] + 1, "record_status": "voided"}
            out.append(record)
        return out

    def encounter(self, index: int) -> dict[str, Any]:
        """Return one encounter payload."""
        rng = self.rng
        day = date(2026, 1, 1) + timedelta(days=rng.randrange(365))
        source = rng.choices(
            ["911", "988", "311", "walk_up_flag_down", "proactive_outreach", "agency_referral"],
            [40, 15, 10, 15, 10, 10],
        )[0]
        dispatched = source not in ("walk_up_flag_down", "proactive_outreach")
        mode = rng.choices(["in_person", "phone_only", "both"], [70, 15, 15])[0]
        contact = self.chance(0.85)
        record: dict[str, Any] = {
            "template_id": self.template.id,
            "template_version": self.template.version,
            "agency_id": rng.choice(self.agencies),
            "encounter_id": f"{rng.getrandbits(128):032x}",
            "record_version": 1,
            "record_status": "final",
            "software_name": "Crewlog",
            "software_version": "1.0.0",
            "program_model": self.pick("program_model"),
            "unit_key": rng.choice(self.units),
            "team_roles": self.some("team_role", 2),
            "call_source": source,
            "dispatch_reason": self.pick("dispatch_reason", ("not_dispatched",))
            if dispatched
            else "not_dispatched",
            "contact_mode": mode,
            "encounter_date": day.isoformat(),
            "encounter_hour": rng.randrange(24),
            "incident_state": "08",
            "incident_county": rng.choice(self.counties),
            "incident_zip3": rng.choice(["800", "802", "803", "805", "000"]),
            "location_type": self.pick("location_type"),
            "unit_disposition": "contact_made"
            if contact
            else self.pick("unit_disposition", ("contact_made",)),
            "police_co_dispatched": self.chance(0.12),
            "police_requested_by_team": self.chance(0.04),
            "completed_by_role": self.pick("staff_role"),
            "completion_lag_min": self.seconds(25),
        }
        if dispatched:
            record["psap_incident_hash"] = f"k2026:{rng.getrandbits(256):064x}"
        self.times(record, dispatched, mode != "phone_only")
        if record["police_requested_by_team"]:
            record["police_request_reason"] = self.some("police_request_reason", 2)
        persons = (
            [self.person(seq, mode) for seq in range(1, rng.choice([1, 1, 1, 1, 2, 3]) + 1)]
            if contact
            else []
        )
        record["persons_contacted_count"] = len(persons)
        record["persons"] = persons
        return record

    def times(self, record: dict[str, Any], dispatched: bool, on_scene: bool) -> None:
        """Add the derived intervals that the answers would produce."""
        notify, chute, travel = self.seconds(150), self.seconds(60), self.seconds(700)
        record.update(notify_s=notify, task_s=self.seconds(3000), total_call_s=self.seconds(3400))
        if on_scene:
            record.update(chute_s=chute, travel_s=travel, on_scene_s=self.seconds(2200))
            record["police_on_scene_at_arrival"] = self.chance(0.08) if self.chance(0.95) else NOT_RECORDED
            record["injury_responder"] = self.rng.choices(["none", "minor", "serious"], [97, 2.5, 0.5])[0]
            if dispatched:
                record["response_s"] = notify + chute + travel

    def person(self, seq: int, mode: str) -> dict[str, Any]:
        """Return one person row."""
        rng = self.rng
        needs = self.some("needs", 3)
        row: dict[str, Any] = {
            "person_seq": seq,
            "person_link_key": rng.choice(self.people) if self.chance(0.93) else {"pn": "refused"},
            "age_band": self.age(),
            "sex": self.pick("sex"),
            "race_ethnicity": self.some("race_ethnicity", 2) if self.chance(0.85) else {"pn": "refused"},
            "housing_status": self.pick("housing_status"),
            "repeat_client": self.chance(0.35),
            "needs": needs,
            "primary_need": needs[0],
            "services": self.some("services", 4),
            "resolution": self.pick("resolution"),
            "arrest_made": self.chance(0.02),
            "involuntary_hold": self.chance(0.05),
            "injury_person_served": rng.choices(["none", "minor", "serious", "unknown"], [90, 6, 1, 3])[0],
            "referrals": self.some("referrals", 2, ("no_referral",)) if self.chance(0.7) else ["no_referral"],
            "follow_up_planned": self.chance(0.4),
        }
        self.outcome(row, mode, needs)
        return row

    def age(self) -> Any:
        """Return an age band, sometimes approximate or refused."""
        band = self.pick("age_band")
        roll = self.rng.random()
        return (
            {"value": band, "pn": "approximate"} if roll < 0.1 else {"pn": "refused"} if roll < 0.13 else band
        )

    def outcome(self, row: dict[str, Any], mode: str, needs: list[str]) -> None:
        """Add transport, naloxone, hold and follow-up details that depend on earlier answers."""
        rng = self.rng
        moved = mode != "phone_only" and self.chance(0.15)
        row["transport_disposition"] = (
            self.pick("transport_disposition", ("refused_transport", "no_transport"))
            if moved
            else "no_transport"
        )
        if moved:
            row["destination_type"] = self.pick("destination_type")
        if {"suspected_overdose", "substance_use_intoxication"} & set(needs):
            row["naloxone_administered"] = self.chance(0.3)
            if row["naloxone_administered"]:
                row["naloxone_doses"] = rng.choice([1, 1, 2, 3])
                row["naloxone_response"] = self.pick("naloxone_response")
        if row["involuntary_hold"]:
            row["involuntary_hold_initiated_by"] = self.pick("hold_initiator")
        if row["follow_up_planned"]:
            row["follow_up_due_days"] = rng.choice([1, 2, 7])
            if self.chance(0.7):
                row["follow_up_hours"] = round(rng.uniform(2, 120), 1)


def timed(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Return the median wall time and the median CPU time of run(), in seconds."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return statistics.median(walls), statistics.median(cpus)


def calibration_ms() -> float:
    """Return the CPU time of sum(range(10**6)) in ms (about 10-15 ms on an idle laptop)."""
    return timed(lambda: sum(range(10**6)), 5)[1] * 1000


def report(label: str, wall: float, cpu: float, budget: float | None, runs: int) -> bool:
    """Print one figure; return whether it is within its budget (judged on CPU time)."""
    limit = f"budget {budget * 1000:.0f} ms CPU" if budget is not None else "no budget"
    print(f"{label}: {cpu * 1000:.0f} ms CPU, {wall * 1000:.0f} ms wall (median of {runs}; {limit})")
    return budget is None or cpu <= budget


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the figures and return 1 when a budget is missed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--encounters", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--from-json", action="store_true", help="decode each record from JSON text first")
    args = parser.parse_args(argv)
    path = shipped_template_path()
    template = load_shipped_template()
    records = Synth(template, args.seed).records(args.encounters)
    if args.from_json:  # as a receiver loading one stored payload per database row would hold them
        records = [json.loads(text) for text in map(json.dumps, records)]
    base = compute_metrics(template, records)["period"]
    load = os.getloadavg()[0]
    print(f"machine: sum(range(10**6)) takes {calibration_ms():.1f} ms CPU; load average {load:.1f}")
    print(
        f"records: {len(records):,} payloads = {base['encounters']:,} encounters in the base set with "
        f"{base['persons']:,} person rows; {len(template.metrics)} metrics"
    )

    def built() -> ColumnStore:
        store = ColumnStore(template)
        store.add(records)
        store.number_all()  # as the dashboard's warm-up does
        return store

    fresh: list[ColumnStore] = []

    def first_report() -> None:
        compute_held(fresh.pop())

    stores = [built() for _ in range(3)]
    fresh.extend(stores)
    warm = stores[0]
    quarter = (date(2026, 4, 1), date(2026, 6, 30))
    within = [
        report("template load + validate", *timed(lambda: load_template(path), 20), LOAD_BUDGET_S, 20),
        report("read into a column store", *timed(built, 3), None, 3),
        report(
            "all metrics, first report over the store (the budget)",
            *timed(first_report, 3),
            METRICS_BUDGET_S,
            3,
        ),
        report(
            "all metrics, next report (another quarter)",
            *timed(lambda: compute_held(warm, start=quarter[0], end=quarter[1]), 3),
            None,
            3,
        ),
        report(
            "all metrics with breakdowns, over the store",
            *timed(lambda: compute_held(warm, breakdowns=True), 3),
            None,
            3,
        ),
        report(
            "compute_metrics from the dicts (read + compute)",
            *timed(lambda: compute_metrics(template, records), 3),
            None,
            3,
        ),
    ]
    print("within budget" if all(within) else "OVER BUDGET")
    return 0 if all(within) else 1


if __name__ == "__main__":
    raise SystemExit(main())
