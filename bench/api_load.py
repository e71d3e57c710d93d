"""API load benchmark: 32 logged-in tablets finalizing encounters against a real `crewlog serve`.

Starts `crewlog serve` (waitress, --workers processes x --threads threads) on a loopback
port with a temporary instance and logs in one responder per client through the real form.
The load comes from separate processes (--load-processes), each driving its share of the
clients on keep-alive connections with a small asyncio HTTP/1.1 client, so the figures
are the server's, not the Python client's. Each run has a warm-up (not counted) and a
measured window. Two runs, both on the same server:

- paced: each client sends at --rate submits/s (10 x 32 = 320/s offered in total).
  Latency counts from the time a submit was due, so a late server cannot hide queueing
  (the time from the actual send is printed too). Budget: p95 <= 50 ms and >= 300
  submits/s completed.
- closed loop: each client sends its next submit as soon as the last one is answered.
  Budget: >= 300 submits/s.

Prints p50/p95/p99, submits/s, server (and its kernel share) and load-generator CPU per
submit, how many cores the server, the load generator and every other process kept busy
(from /proc: on a shared machine the last figure shows how much was left for the server)
and the load average; exits 1 when a budget is missed or a submit fails.

    .venv/bin/python bench/api_load.py [--clients 32] [--seconds 12] [--warmup 3] [--rate 10]
        [--mode both|paced|closed] [--workers <4 x cores>] [--threads 4] [--load-processes 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-password-123"
P95_BUDGET_MS = 50.0
RATE_FLOOR = 300.0
OFFSET = timezone(timedelta(hours=-6))
CLOSED_LOOP_CAP = 60  # submits/s per client that the prepared bodies can sustain in a closed loop
SESSION_COOKIE = "crewlog_session"


def free_port() -> int:
    """Return a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_instance(folder: Path, clients: int, workers: int, threads: int) -> Path:
    """Create the instance, one responder per client and units with open shifts; return the config."""
    config = folder / "crewlog.toml"
    config.write_text(
        f'[server]\ninstance_path = "{folder / "instance"}"\nthreads = {threads}\nworkers = {workers}\n'
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
        crew: list[dict[str, Any]] = []
        for n in range(team * 4, min(clients, team * 4 + 4)):
            user = users.create(conn, f"bench{n:02d}", PASSWORD, "responder", team_role="peer_support")
            crew.append({"user_id": user.id, "name": user.username, "team_role": "peer_support"})
        if crew:
            shifts.start(conn, unit.id, crew[0]["user_id"], crew)
    conn.conn.close()
    return config


def start_server(config: Path, port: int, log: Any) -> subprocess.Popen[bytes]:
    """Start `crewlog serve` and wait until /healthz answers."""
    command = [sys.executable, "-m", "app.cli", "--config", str(config), "serve"]
    server = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
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


def bodies(seed: int, count: int) -> list[bytes]:
    """Return the request bodies one client sends (built before the clock starts)."""
    rng = random.Random(seed)
    return [
        json.dumps({"id": str(uuid.uuid4()), "status": "final", "template_id": "state-standard",
                    "template_version": "2026.1", "base_revision": None,
                    "answers": answers(rng, 2 + n / 100), "acknowledged_warnings": []}).encode()
        for n in range(count)
    ]  # fmt: skip


def login(base: str, username: str) -> tuple[str, str]:
    """Log in through the real form; return the session cookie and an API CSRF token."""
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token, "no CSRF token on the login page"
    form = {"username": username, "password": PASSWORD, "csrf_token": token.group(1)}
    response = session.post(f"{base}/login", data=form, allow_redirects=False, timeout=10)
    assert response.status_code == 302, f"login failed for {username}: {response.status_code}"
    csrf = session.get(f"{base}/api/v1/csrf", timeout=10).json()["csrf_token"]
    return session.cookies[SESSION_COOKIE], csrf


@dataclass
class Plan:
    """What one load process does: its clients, the port, the rate and how long to run."""

    port: int
    clients: list[tuple[int, str, str]]  # (seed, session cookie, CSRF token)
    rate: float  # submits/s per client; 0 = closed loop
    duration: float  # warm-up plus measured window, in seconds


Row = tuple[float, float, float, int]  # due, sent and answered (shared monotonic clock), HTTP status
TIMEOUT_S = 30.0


async def tablet(port: int, todo: list[bytes], session: tuple[str, str], due: float, pace: float,
                 stop: float, out: list[Row]) -> None:  # fmt: skip
    """Finalize encounters on one keep-alive connection, every `pace` s from `due` (0: back to back)."""
    cookie, token = session
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for body in todo:
        due = due if pace else max(due, time.monotonic())
        if due >= stop or time.monotonic() >= stop:
            break  # submits still due when the run ends are never sent: the report counts them
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        sent = time.monotonic()
        writer.write(request_head(len(body), token, cookie) + body)
        try:
            status, cookie = await asyncio.wait_for(read_response(reader, cookie), TIMEOUT_S)
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            status = 0  # counted as a failure; carry on with a new connection
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        out.append((due, sent, time.monotonic(), status))
        due += pace
    writer.close()


def request_head(length: int, token: str, cookie: str) -> bytes:
    """Return the head of one finalize request, as the tablet's page sends it."""
    return (
        "POST /api/v1/encounters HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\nX-CSRFToken: {token}\r\nCookie: {SESSION_COOKIE}={cookie}\r\n\r\n"
    ).encode()


async def read_response(reader: asyncio.StreamReader, cookie: str) -> tuple[int, str]:
    """Read one HTTP/1.1 response; return its status and the (possibly renewed) session cookie."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    length = re.search(r"(?i)\r\ncontent-length: *(\d+)", head)
    await reader.readexactly(int(length.group(1)) if length else 0)
    renewed = re.search(rf"(?i)\r\nset-cookie: *{SESSION_COOKIE}=([^;\r]*)", head)
    return int(head[9:12]), renewed.group(1) if renewed else cookie


def load_process(plan: Plan, ready: Any, go: Any, start: Any, results: Any) -> None:
    """Build the bodies, wait for the common start, run the clients and queue their rows."""
    per_second = plan.rate or CLOSED_LOOP_CAP
    work = [(bodies(seed, int(plan.duration * per_second * 1.2) + 5), (cookie, token), random.Random(seed))
            for seed, cookie, token in plan.clients]  # fmt: skip
    ready.put(len(work))
    go.wait()
    begin, pace = start.value, (1 / plan.rate if plan.rate else 0.0)
    rows: list[Row] = []

    async def run_all() -> None:
        await asyncio.gather(
            *(tablet(plan.port, todo, session, begin + rng.random() * pace, pace, begin + plan.duration, rows)
              for todo, session, rng in work)
        )  # fmt: skip

    asyncio.run(run_all())
    results.put(rows)


def cpu_seconds(pid: int, kinds: tuple[int, ...] = (11, 12)) -> float:
    """Return the CPU seconds a process and its children (serving workers) have used (Linux /proc).

    `kinds` are the /proc/<pid>/stat fields counted after the name: 11 user time, 12 system time.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(c) for c in children.read_text().split()] if children.exists() else []
    own = sum(int(fields[k]) for k in kinds) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(kid, kinds) for kid in kids)


def machine_busy_seconds() -> float:
    """Return the CPU seconds every process on the machine has used (all cores, from /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run(
    args: argparse.Namespace, port: int, server: int, sessions: list[tuple[str, str]], rate: float
) -> bool:
    """Run one load (paced when rate > 0, else closed loop), print its figures, return whether it passed."""
    ready: Any = multiprocessing.Queue()
    results: Any = multiprocessing.Queue()
    go, start = multiprocessing.Event(), multiprocessing.Value("d", 0.0)
    processes = []
    for n in range(args.load_processes):
        mine = [(seed, *sessions[seed]) for seed in range(n, args.clients, args.load_processes)]
        plan = Plan(port, mine, rate, args.warmup + args.seconds)
        processes.append(multiprocessing.Process(target=load_process, args=(plan, ready, go, start, results)))
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=300)
    start.value = time.monotonic() + 0.2
    go.set()
    window = (start.value + args.warmup, start.value + args.warmup + args.seconds)
    used = cpu_during(window, [server] + [p.pid or 0 for p in processes])
    rows = [row for _ in processes for row in results.get(timeout=TIMEOUT_S + 60)]
    for process in processes:
        process.join()
    return report(args, rate, rows, window, used)


def cpu_during(window: tuple[float, float], pids: list[int]) -> list[float]:
    """Return the CPU seconds each process, then the whole machine, then the first process in the kernel."""

    def sample() -> list[float]:
        return [cpu_seconds(pid) for pid in pids] + [machine_busy_seconds(), cpu_seconds(pids[0], (12,))]

    time.sleep(max(0.0, window[0] - time.monotonic()))
    before = sample()
    time.sleep(max(0.0, window[1] - time.monotonic()))
    return [b - a for a, b in zip(before, sample(), strict=True)]


def report(
    args: argparse.Namespace, rate: float, rows: list[Row], window: tuple[float, float], used: list[float]
) -> bool:
    """Print one run's figures and return whether it met its budget.

    Throughput counts the submits answered inside the window; latency covers every submit
    due inside it (paced) or sent inside it (closed loop), however late its answer came.
    """
    seconds = window[1] - window[0]
    answered = [r for r in rows if r[3] == 201 and window[0] <= r[2] <= window[1]]
    timed = [r for r in rows if r[3] == 201 and window[0] <= r[0] < window[1]]
    failed = [r for r in rows if r[3] != 201]
    throughput = len(answered) / seconds
    title = f"paced at {rate:g}/s per client ({rate * args.clients:g}/s offered)" if rate else "closed loop"
    print(f"\n{title}: {args.clients} clients from {args.load_processes} load processes; server "
          f"{args.workers} process(es) x {args.threads} threads; {args.seconds:g} s measured")  # fmt: skip
    if not timed:
        print(f"  no successful submits ({len(failed)} failed)")
        return False
    due = sorted((r[2] - r[0]) * 1000 for r in timed)
    sent = sorted((r[2] - r[1]) * 1000 for r in timed)
    print(f"  {throughput:.0f} submits/s ({len(answered)} answered in the window), {len(failed)} failed")
    if rate and len(timed) < 0.98 * rate * args.clients * seconds:
        print(f"  only {len(timed)} of the {rate * args.clients * seconds:.0f} submits due were answered")
    print(f"  latency from due time: {spread(due)}")
    print(f"  latency from send:     {spread(sent)}")
    server, clients, kernel = used[0], sum(used[1:-2]), used[-1]
    others = used[-2] - server - clients
    per = 1000 / max(len(answered), 1)
    print(f"  CPU per submit: server {server * per:.2f} ms ({kernel * per:.2f} ms of it in the kernel), "
          f"load generator {clients * per:.2f} ms")  # fmt: skip
    print(f"  cores busy ({os.cpu_count()} in all): server {server / seconds:.2f}, load generator "
          f"{clients / seconds:.2f}, other processes {max(0.0, others) / seconds:.2f}; "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    ok = throughput >= RATE_FLOOR and not failed and (not rate or pct(due, 95) <= P95_BUDGET_MS)
    budget = f"p95 <= {P95_BUDGET_MS:g} ms and " if rate else ""
    print(f"  budget: {budget}>= {RATE_FLOOR:g} submits/s, no failures: {'PASS' if ok else 'FAIL'}")
    return ok


def spread(values: list[float]) -> str:
    """Return p50/p95/p99 of sorted milliseconds as text."""
    return f"p50 {pct(values, 50):.1f}  p95 {pct(values, 95):.1f}  p99 {pct(values, 99):.1f} ms"


def log_lines(path: Path) -> list[str]:
    """Return the lines of the server's log."""
    return path.read_text(errors="replace").splitlines()


def pct(values: list[float], p: float) -> float:
    """Return the p-th percentile of sorted values (nearest rank)."""
    return values[min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))]


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=12.0, help="measured window of each run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before the window")
    parser.add_argument("--rate", type=float, default=10.0, help="submits/s per client in the paced run")
    parser.add_argument("--mode", choices=("both", "paced", "closed"), default="both")
    parser.add_argument(
        "--workers",
        type=int,
        default=4 * (os.cpu_count() or 1),
        help="serving processes (the README's advice: about four per core)",
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per serving process")
    parser.add_argument("--load-processes", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = prepare_instance(Path(folder), args.clients, args.workers, args.threads)
        port = free_port()
        with (Path(folder) / "serve.log").open("wb") as log:
            server = start_server(config, port, log)
            try:
                sessions = [login(f"http://127.0.0.1:{port}", f"bench{n:02d}") for n in range(args.clients)]
                rates = {"both": [args.rate, 0.0], "paced": [args.rate], "closed": [0.0]}[args.mode]
                passed = [run(args, port, server.pid, sessions, rate) for rate in rates]
            finally:
                server.terminate()
                server.wait(timeout=10)
        errors = [line for line in log_lines(Path(folder) / "serve.log") if "Error" in line]
    if errors:
        print("\nserver errors (last 5):", *errors[-5:], sep="\n  ")
    print("\nPASS" if all(passed) else "\nFAIL")
    return 0 if all(passed) else 1


if __name__ == "__main__":
    sys.exit(main())
