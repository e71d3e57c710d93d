"""API load benchmark: 32 logged-in tablets finalizing encounters against a real `crewlog serve`.

Starts `crewlog serve` (waitress) on a loopback port with a temporary instance, logs in
32 clients (one requests.Session each, in threads), and lets each finalize encounters
through POST /api/v1/encounters for about 10 s. Each client is paced at --rate submits/s
(default 10, so 320/s are offered in total); --rate 0 sends as fast as the server answers.
Prints p50/p95/p99 latency and submits/s; exits non-zero if p95 > 50 ms or < 300 submits/s.

    .venv/bin/python bench/api_load.py [--clients 32] [--seconds 10] [--rate 10]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-password-123"
P95_BUDGET_MS = 50.0
RATE_FLOOR = 300.0
OFFSET = timezone(timedelta(hours=-6))


def free_port() -> int:
    """Return a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_instance(folder: Path, clients: int, workers: int) -> Path:
    """Create the instance, one responder per client and units with open shifts; return the config."""
    config = folder / "crewlog.toml"
    config.write_text(
        f'[server]\ninstance_path = "{folder / "instance"}"\nthreads = 8\nworkers = {workers}\n'
        "[security]\nsecure_cookies = false\nlogin_max_failures = 1000\n",
        encoding="utf-8",
    )
    subprocess.run(
        [sys.executable, "-m", "app.cli", "--config", str(config), "init"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    sys.path.insert(0, str(ROOT))
    from app import config as app_config
    from app import db, shifts, units, users

    users.use_fast_hashing()  # logins are not what this measures
    conn = db.connect(app_config.load_settings(config)["database"]["path"])
    for team in range(clients // 4 + 1):
        unit = units.create(conn, f"CR-{team + 1}", program_model="community_responder", home_county="08031")
        crew = []
        for n in range(team * 4, min(clients, team * 4 + 4)):
            user = users.create(conn, f"bench{n:02d}", PASSWORD, "responder", team_role="peer_support")
            crew.append({"user_id": user.id, "name": user.username, "team_role": "peer_support"})
        if crew:
            shifts.start(conn, unit.id, crew[0]["user_id"], crew)
    conn.conn.close()
    return config


def start_server(config: Path, port: int, log: Any) -> subprocess.Popen[bytes]:
    """Start `crewlog serve` and wait until /healthz answers."""
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli",
            "--config",
            str(config),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    for _ in range(200):
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return server
        except requests.RequestException:
            time.sleep(0.05)
    server.terminate()
    raise SystemExit("crewlog serve did not start")


def answers(rng: random.Random, hours_ago: float) -> dict[str, Any]:
    """Return a varied, valid one-person encounter that started hours_ago."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours_ago)

    def at(minutes: int) -> str:
        return (start + timedelta(minutes=minutes)).astimezone(OFFSET).isoformat()

    scene = rng.randint(8, 30)
    person = {
        "person_local_id": f"CL-{rng.randint(1, 3000):06d}",
        "age_years": rng.randint(16, 85),
        "sex": rng.choice(["female", "male"]),
        "race_ethnicity": [rng.choice(["white", "asian", "hispanic_latino"])],
        "housing_status": rng.choice(["housed", "unsheltered", "sheltered"]),
        "needs": ["mental_health_crisis"],
        "primary_need": "mental_health_crisis",
        "services": rng.sample(
            ["assessment_screening", "de_escalation_counseling", "information_referral"], 2
        ),
        "resolution": rng.choice(["resolved_on_scene", "resolved_with_referral"]),
        "transport_disposition": "no_transport",
        "arrest_made": False,
        "involuntary_hold": False,
        "injury_person_served": "none",
        "referrals": ["mh_outpatient"],
        "follow_up_planned": False,
    }
    return {
        "team_roles": ["peer_support"],
        "call_source": rng.choice(["911", "988", "311"]),
        "psap_incident_id": uuid.uuid4().hex[:16],
        "dispatch_reason": "well_person_check",
        "contact_mode": "in_person",
        "call_received_at": at(0),
        "unit_notified_at": at(2),
        "en_route_at": at(3),
        "arrived_on_scene_at": at(3 + scene),
        "left_scene_at": at(40 + scene),
        "cleared_at": at(45 + scene),
        "incident_county": "08031",
        "incident_zip": f"802{rng.randint(10, 99)}",
        "location_type": "sidewalk",
        "unit_disposition": "contact_made",
        "police_on_scene_at_arrival": False,
        "police_co_dispatched": False,
        "police_requested_by_team": False,
        "injury_responder": "none",
        "narrative": "Bench encounter.",
        "attested": True,
        "persons": [person],
    }


class Tablet(threading.Thread):
    """One logged-in client finalizing encounters until the deadline."""

    def __init__(
        self, base: str, username: str, seconds: float, rate: float, seed: int, start: threading.Event
    ):
        super().__init__(daemon=True)
        self.base, self.username, self.seconds, self.rate = base, username, seconds, rate
        self.rng, self.start_signal = random.Random(seed), start
        self.session = requests.Session()
        self.latencies: list[float] = []
        self.bodies: list[str] = []
        self.failures: list[str] = []

    def login(self) -> None:
        """Log in through the real form and fetch an API CSRF token."""
        page = self.session.get(f"{self.base}/login", timeout=10).text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token, "no CSRF token on the login page"
        response = self.session.post(
            f"{self.base}/login",
            allow_redirects=False,
            timeout=10,
            data={"username": self.username, "password": PASSWORD, "csrf_token": token.group(1)},
        )
        assert response.status_code == 302, f"login failed for {self.username}: {response.status_code}"
        self.session.headers["X-CSRFToken"] = self.session.get(f"{self.base}/api/v1/csrf").json()[
            "csrf_token"
        ]

    def prepare(self) -> list[str]:
        """Return the request bodies this client will send (built before the clock starts)."""
        count = int(self.seconds * (self.rate or 60) * 1.5) + 10
        return [
            json.dumps({"id": str(uuid.uuid4()), "status": "final", "template_id": "state-standard",
                        "template_version": "2026.1", "base_revision": None,
                        "answers": answers(self.rng, 2 + n / 100), "acknowledged_warnings": []})
            for n in range(count)
        ]  # fmt: skip

    def run(self) -> None:
        """Send the prepared bodies at the paced rate until the deadline."""
        bodies = self.bodies
        self.start_signal.wait()
        deadline = time.perf_counter() + self.seconds
        next_send = time.perf_counter() + self.rng.random() / max(self.rate, 1)
        sent = 0
        while time.perf_counter() < deadline and sent < len(bodies):
            if self.rate:
                time.sleep(max(0.0, next_send - time.perf_counter()))
                next_send += 1 / self.rate
            began = time.perf_counter()
            response = self.session.post(
                f"{self.base}/api/v1/encounters",
                data=bodies[sent],
                timeout=30,
                headers={"Content-Type": "application/json"},
            )
            elapsed = time.perf_counter() - began
            sent += 1
            if response.status_code == 201:
                self.latencies.append(elapsed)
            else:
                self.failures.append(f"{response.status_code} {response.text[:200]}")


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="serving processes")
    parser.add_argument(
        "--rate", type=float, default=10.0, help="submits/s per client; 0 = as fast as possible"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = prepare_instance(Path(folder), args.clients, args.workers)
        port = free_port()
        with (Path(folder) / "serve.log").open("wb") as log:
            server = start_server(config, port, log)
            try:
                before = cpu_seconds(server.pid)
                code = run_clients(f"http://127.0.0.1:{port}", args)
                used = cpu_seconds(server.pid) - before
                print(f"server CPU {used:.1f} s, clients CPU {time.process_time():.1f} s")
                if code:
                    print("server log (last lines):", *log_tail(Path(folder) / "serve.log"), sep="\n  ")
                return code
            finally:
                server.terminate()
                server.wait(timeout=10)


def log_tail(path: Path, lines: int = 15) -> list[str]:
    """Return the last lines of the server's log."""
    return path.read_text(errors="replace").splitlines()[-lines:]


def cpu_seconds(pid: int) -> float:
    """Return the CPU seconds a process and its serving children have used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(c) for c in children.read_text().split()] if children.exists() else []
    return (int(fields[11]) + int(fields[12])) / 100 + sum(cpu_seconds(kid) for kid in kids)


def run_clients(base: str, args: argparse.Namespace) -> int:
    """Log every client in, release them together, and report."""
    go = threading.Event()
    tablets = [Tablet(base, f"bench{n:02d}", args.seconds, args.rate, n, go) for n in range(args.clients)]
    for tablet in tablets:
        tablet.login()
        tablet.bodies = tablet.prepare()
    began = time.perf_counter()
    for tablet in tablets:
        tablet.start()
    go.set()
    for tablet in tablets:
        tablet.join()
    wall = time.perf_counter() - began
    latencies = sorted(ms for t in tablets for ms in (x * 1000 for x in t.latencies))
    failures = [f for t in tablets for f in t.failures]
    if not latencies:
        print(f"no successful submits; first failures: {failures[:3]}")
        return 1
    p50, p95 = statistics.median(latencies), latencies[int(0.95 * (len(latencies) - 1))]
    p99, rate = latencies[int(0.99 * (len(latencies) - 1))], len(latencies) / wall
    print(
        f"clients {args.clients}, paced at {args.rate or 'max'} submits/s each, {wall:.1f} s,"
        f" server processes {args.workers}"
    )
    print(f"finalized {len(latencies)} encounters, {len(failures)} failed {failures[:2]}")
    print(f"latency p50 {p50:.1f} ms  p95 {p95:.1f} ms  p99 {p99:.1f} ms")
    print(f"throughput {rate:.0f} submits/s (budget: p95 <= {P95_BUDGET_MS:.0f} ms, >= {RATE_FLOOR:.0f}/s)")
    ok = p95 <= P95_BUDGET_MS and rate >= RATE_FLOOR and not failures
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
