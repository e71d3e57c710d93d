"""Benchmark the sync path: a 10,000-record backlog drained to a loopback receiver.

Prints records/s batched and one per request (measured on a 1,000-record subset and
extrapolated), their ratio, and the receiver's ingest rate (batches posted straight to it).
Targets: batched >= 1,000 rec/s, ratio >= 10x, receiver ingest >= 2,000 rec/s; the exit
status is 1 when one is missed.

    .venv/bin/python bench/sync_bench.py [--records 10000] [--single 1000] [--batch 500]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forms.loader import load_shipped_template  # noqa: E402
from forms.payload import shape_payload  # noqa: E402
from sync.outbox import create_outbox_tables, enqueue  # noqa: E402
from sync.settings import SyncSettings  # noqa: E402
from sync.storage import immediate, open_database  # noqa: E402
from sync.worker import run_once  # noqa: E402

AGENCY, TOKEN = "ST-CR-0042", "bench-token"
TARGET_BATCHED, TARGET_RATIO, TARGET_INGEST = 1000.0, 10.0, 2000.0


def sample_payload() -> dict[str, Any]:
    """Return the worked example of the standard template, shaped by forms.payload."""
    from tests.forms import worked_example as we

    return shape_payload(
        load_shipped_template(),
        we.answers(),
        hmac_key=we.HMAC_KEY,
        hmac_key_id=we.HMAC_KEY_ID,
        extended=we.EXTENDED,
    )


def payloads(count: int, base: dict[str, Any]) -> list[dict[str, Any]]:
    """Return `count` copies of the payload, each with its own encounter id."""
    return [dict(base, encounter_id=str(uuid.uuid4())) for _ in range(count)]


def start_receiver(db: Path) -> tuple[subprocess.Popen[str], str]:
    """Start the reference receiver on a free loopback port; return the process and its URL."""
    args = [
        sys.executable,
        "-m",
        "sync.receiver",
        "--port",
        "0",
        "--db",
        str(db),
        "--token",
        f"{TOKEN}:{AGENCY}",
        "--max-records",
        "500",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    match = re.search(r":(\d+)$", proc.stdout.readline().strip())
    if not match:
        raise SystemExit("the receiver did not start")
    return proc, f"http://127.0.0.1:{match.group(1)}"


def fill_outbox(path: Path, records: list[dict[str, Any]]) -> None:
    """Create an outbox file holding the records, pending."""
    db = open_database(path)
    create_outbox_tables(db)
    with immediate(db):
        for record in records:
            enqueue(db, record["encounter_id"], record["record_version"], record)
    db.conn.close()


def cpu_seconds(pid: int) -> float:
    """Return the CPU time a process has used (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drain_rate(path: Path, url: str, batch_size: int, expected: int, receiver_pid: int) -> float:
    """Drain the outbox once; print the CPU used per 1,000 records; return delivered records per second."""
    settings = SyncSettings(enabled=True, endpoint=url, token=TOKEN, agency_id=AGENCY, batch_size=batch_size)
    started, cpu, receiver_cpu = time.perf_counter(), time.process_time(), cpu_seconds(receiver_pid)
    report = run_once(path, settings)
    elapsed = time.perf_counter() - started
    if report.delivered != expected:
        raise SystemExit(f"only {report.delivered} of {expected} records were delivered: {report}")
    worker_cpu = (time.process_time() - cpu) * 1000 / expected
    state_cpu = (cpu_seconds(receiver_pid) - receiver_cpu) * 1000 / expected
    print(
        f"  batch {batch_size}: CPU per 1,000 records: worker {worker_cpu:.2f} s + receiver {state_cpu:.2f} s"
    )
    return expected / elapsed


def ingest_rate(url: str, records: list[dict[str, Any]], batch: int) -> float:
    """Post the records straight to the receiver in batches; return records stored per second."""
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    bodies = [
        json.dumps({"agency_id": AGENCY, "records": records[i : i + batch]})
        for i in range(0, len(records), batch)
    ]
    started = time.perf_counter()
    accepted = 0
    for body in bodies:
        results = session.post(url + "/v1/submissions", data=body, timeout=60).json()["results"]
        accepted += sum(r["status"] == "accepted" for r in results)
    elapsed = time.perf_counter() - started
    if accepted != len(records):
        raise SystemExit(f"the receiver accepted {accepted} of {len(records)} records")
    return len(records) / elapsed


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures; return 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--single", type=int, default=1_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args(argv)
    base = sample_payload()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        proc, url = start_receiver(folder / "receiver.sqlite")
        try:
            fill_outbox(folder / "batched.sqlite", payloads(args.records, base))
            fill_outbox(folder / "single.sqlite", payloads(args.single, base))
            print(f"load average before: {_load()}")
            batched = drain_rate(folder / "batched.sqlite", url, args.batch, args.records, proc.pid)
            single = drain_rate(folder / "single.sqlite", url, 1, args.single, proc.pid)
            ingest = ingest_rate(url, payloads(args.records, base), args.batch)
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"load average after: {_load()} (other processes on this machine slow every figure)")
    return report(args, batched, single, ingest)


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def report(args: argparse.Namespace, batched: float, single: float, ingest: float) -> int:
    """Print the figures against their targets; return the exit status."""
    ratio = batched / single
    checks = [
        (f"batched drain ({args.records} records, batch {args.batch})", batched, TARGET_BATCHED, "rec/s"),
        (f"one per request ({args.single} records, extrapolated)", single, None, "rec/s"),
        ("batched / one per request", ratio, TARGET_RATIO, "x"),
        (f"receiver ingest ({args.records} records posted directly)", ingest, TARGET_INGEST, "rec/s"),
    ]
    missed = False
    for label, value, target, unit in checks:
        ok = target is None or value >= target
        verdict = "" if target is None else ("  ok" if ok else f"  MISSED (target >= {target:g})")
        missed |= not ok
        print(f"{label:<58} {value:10.1f} {unit}{verdict}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
