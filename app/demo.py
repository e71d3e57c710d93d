"""Demo data: users, units, shifts and realistic finalized encounters for a first look.

Encounters follow the shipped template's scenario (times, contact, people served), but
every code is drawn from the active template's own code lists with a seeded RNG, and
each record goes through the same finalize service (normalize + validate) as a real one.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlite_utils

from app import encounters, shifts, template_versions, units, users
from app.config import Settings
from app.crypto import Keys
from app.db import write_transaction
from app.errors import ValidationFailed
from app.finalize import RecordContext
from app.users import User
from forms.conditions import evaluate
from forms.model import Answers, Template

DEMO_USERS = (
    ("responder", "responder", "behavioral_health_clinician", "Riley Responder"),
    ("supervisor", "supervisor", "supervisor", "Sam Supervisor"),
    ("admin", "admin", "office_staff", "Alex Admin"),
)
DEMO_UNITS = ("CR-1", "CR-2")
CREW_ROLES = (("behavioral_health_clinician", "emt"), ("peer_support", "paramedic"))
WEEKS = 8


@dataclass
class DemoReport:
    """What the demo created: new users' passwords, units, and finalized encounters."""

    passwords: dict[str, str] = field(default_factory=dict)
    units: list[str] = field(default_factory=list)
    encounters: int = 0


def populate(
    db: sqlite_utils.Database,
    settings: Settings,
    *,
    encounters: int = 40,
    seed: int = 2026,
    now: datetime | None = None,
) -> DemoReport:
    """Create the demo users and units (once) and add finalized encounters over the last 8 weeks."""
    template = template_versions.ensure_active(db, settings["template"]["path"])
    keys = Keys.load(Path(settings["server"]["instance_path"]))
    report = DemoReport(units=list(DEMO_UNITS))
    with write_transaction(db):
        report.passwords = _users(db)
        for call_sign in DEMO_UNITS:
            if units.by_call_sign(db, call_sign) is None:
                units.create(
                    db,
                    call_sign,
                    program_model=settings["agency"]["program_model"],
                    home_county=settings["agency"]["home_county"],
                )
    zone = ZoneInfo(settings["agency"]["timezone"])
    rng = random.Random(seed)
    author = users.by_username(db, DEMO_USERS[0][0])
    assert author is not None
    scenario = Scenario(template, rng, [f"CL-{n:06d}" for n in rng.sample(range(1000, 9999), 25)])
    for day, count in _days(rng, encounters, (now or datetime.now(zone)).astimezone(zone)):
        report.encounters += _shift_day(db, settings, keys, author, scenario, day, count)
    return report


def _users(db: sqlite_utils.Database) -> dict[str, str]:
    created: dict[str, str] = {}
    for username, role, team_role, name in DEMO_USERS:
        if users.by_username(db, username) is None:
            password = users.generate_password()
            users.create(db, username, password, role, display_name=name, team_role=team_role)
            created[username] = password
    return created


def _days(rng: random.Random, total: int, now: datetime) -> list[tuple[datetime, int]]:
    """Spread the encounters over past days (oldest first), a few per shift day."""
    counts: dict[int, int] = {}
    for _ in range(total):
        offset = rng.randint(1, WEEKS * 7)
        counts[offset] = counts.get(offset, 0) + 1
    start = now.replace(hour=8, minute=0, second=0, microsecond=0)
    return [(start - timedelta(days=offset), counts[offset]) for offset in sorted(counts, reverse=True)]


def _shift_day(
    db: sqlite_utils.Database,
    settings: Settings,
    keys: Keys,
    author: User,
    scenario: Scenario,
    day: datetime,
    count: int,
) -> int:
    unit = units.by_call_sign(db, scenario.rng.choice(DEMO_UNITS))
    assert unit is not None
    roles = scenario.rng.choice(CREW_ROLES)
    crew: list[dict[str, Any]] = [
        {"user_id": author.id, "name": author.name, "team_role": roles[0]},
        {"name": "Crew partner", "team_role": roles[1]},
    ]
    shift = shifts.start(db, unit.id, author.id, crew, started_at=day.isoformat(timespec="seconds"))
    saved, moment = 0, day + timedelta(minutes=scenario.rng.randint(10, 60))
    for _ in range(count):
        answers, cleared = scenario.encounter(moment, list(roles), unit.home_county)
        ctx = RecordContext(settings, keys, clock=_clock_at(cleared + timedelta(minutes=8)))
        saved += _finalize(db, author, scenario.template, answers, ctx)
        moment = cleared + timedelta(minutes=scenario.rng.randint(20, 90))
    shifts.end(db, shift.id, ended_at=max(moment, day + timedelta(hours=10)).isoformat(timespec="seconds"))
    return saved


def _clock_at(moment: datetime) -> Callable[[], datetime]:
    """Return a clock that always says `moment` (demo records are finalized in the past)."""
    return lambda: moment


def _finalize(
    db: sqlite_utils.Database, user: User, template: Template, answers: Answers, ctx: RecordContext
) -> int:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "status": "final",
        "template_id": template.id,
        "template_version": template.version,
        "base_revision": None,
        "answers": answers,
        "acknowledged_warnings": [],
    }
    try:
        encounters.save(db, user, body, ctx=ctx)
    except ValidationFailed as failure:
        warnings = [m["rule"] for m in failure.extra.get("messages", []) if m["severity"] == "WARNING"]
        if len(warnings) != len(failure.extra.get("messages", [])):
            raise
        encounters.save(db, user, {**body, "acknowledged_warnings": warnings}, ctx=ctx)
    return 1


@dataclass
class Scenario:
    """Builds one plausible encounter at a time from the template's code lists."""

    template: Template
    rng: random.Random
    clients: list[str]
    incidents: int = 0

    def code(self, list_id: str, exclude: Sequence[str] = ()) -> str:
        """Return a random code of a code list."""
        return self.rng.choice(
            [c.code for c in self.template.code_lists[list_id].codes if c.code not in exclude]
        )

    def codes(self, list_id: str, most: int, exclude: Sequence[str] = ()) -> list[str]:
        """Return 1..most distinct codes of a code list."""
        pool = [c.code for c in self.template.code_lists[list_id].codes if c.code not in exclude]
        return self.rng.sample(pool, self.rng.randint(1, min(most, len(pool))))

    def holds(self, name: str, answers: Answers) -> bool:
        """Return whether a named filter of the template holds for the answers."""
        return evaluate({"use": name}, answers, self.template)

    def encounter(
        self, start: datetime, team_roles: list[str], county: str | None
    ) -> tuple[Answers, datetime]:
        """Return one encounter's answers and the time the unit cleared."""
        rng = self.rng
        answers: Answers = {
            "team_roles": team_roles,
            "call_source": self.code("call_source", ["other"]),
            "contact_mode": rng.choice(["in_person"] * 6 + ["phone_only", "both"]),
            "unit_disposition": "contact_made"
            if rng.random() < 0.85
            else self.code("unit_disposition", ["contact_made"]),
            "incident_county": county or self.code("fips_county"),
            "incident_zip": f"802{rng.randint(2, 39):02d}",
            "location_type": self.code("location_type"),
            "narrative": "Demo narrative: met the person, talked, agreed on next steps.",
            "attested": True,
        }
        if self.holds("dispatched", answers):
            self.incidents += 1
            answers["dispatch_reason"] = self.code("dispatch_reason", ["not_dispatched"])
            answers["psap_incident_id"] = f"{start:%Y-%m%d}-{self.incidents:05d}"
        cleared = self._times(answers, start)
        self._scene(answers)
        if self.holds("contact", answers):
            answers["persons"] = [
                self.person(answers, start, cleared) for _ in range(rng.choice([1, 1, 1, 2]))
            ]
        return answers, cleared

    def _times(self, answers: Answers, start: datetime) -> datetime:
        rng, minute = self.rng, timedelta(minutes=1)
        notified = start + rng.randint(1, 6) * minute
        times: dict[str, datetime] = {"call_received_at": start, "unit_notified_at": notified}
        if self.holds("self_initiated", answers):
            times = {"call_received_at": start, "unit_notified_at": start, "arrived_on_scene_at": start}
            notified = start
        elif self.holds("on_scene", answers):
            times["en_route_at"] = notified + rng.randint(0, 3) * minute
            times["arrived_on_scene_at"] = times["en_route_at"] + rng.randint(5, 25) * minute
        end = max(times.values())
        if "arrived_on_scene_at" in times and answers["unit_disposition"] != "cancelled_prior_to_arrival":
            times["left_scene_at"] = end = end + rng.randint(10, 70) * minute
        times["cleared_at"] = end + rng.randint(2, 15) * minute
        answers.update({k: v.isoformat(timespec="seconds") for k, v in times.items()})
        return times["cleared_at"]

    def _scene(self, answers: Answers) -> None:
        answers["police_co_dispatched"] = self.rng.random() < 0.1
        answers["police_requested_by_team"] = self.rng.random() < 0.05
        if answers["police_requested_by_team"]:
            answers["police_request_reason"] = self.codes("police_request_reason", 1)
        if self.holds("on_scene", answers):
            answers["police_on_scene_at_arrival"] = self.rng.random() < 0.15
            answers["injury_responder"] = "none"

    def person(self, answers: Answers, start: datetime, cleared: datetime) -> dict[str, Any]:
        """Return one person row consistent with the encounter."""
        rng = self.rng
        needs = self.codes("needs", 2, ["other"])
        row: dict[str, Any] = {
            "person_local_id": rng.choice(self.clients),
            "sex": self.code("sex"),
            "age_years": rng.randint(16, 82)
            if rng.random() < 0.8
            else {"value": rng.randint(20, 70), "pn": "approximate"},
            "race_ethnicity": self.codes("race_ethnicity", 1) if rng.random() < 0.85 else {"pn": "refused"},
            "housing_status": self.code("housing_status"),
            "needs": needs,
            "primary_need": needs[0],
            "services": self.codes("services", 3, ["transport", "other"]),
            "resolution": rng.choice(
                [
                    "resolved_on_scene",
                    "resolved_with_referral",
                    "resolved_with_referral",
                    "person_left",
                    "transported_voluntary",
                ]
            ),
            "transport_disposition": "no_transport",
            "arrest_made": False,
            "involuntary_hold": False,
            "injury_person_served": "none",
            "referrals": self.codes("referrals", 2, ["no_referral"])
            if rng.random() < 0.7
            else ["no_referral"],
            "follow_up_planned": rng.random() < 0.4,
        }
        naloxone = self.template.fields.get("naloxone_administered")
        if (
            naloxone is not None
            and naloxone.relevant
            and evaluate(naloxone.relevant, answers, self.template, row)
        ):
            row["naloxone_administered"] = False
        if row["resolution"] == "transported_voluntary":
            if self.holds("on_scene", answers):
                row["transport_disposition"] = "transported_by_this_team"
                row["destination_type"] = self.code("destination_type", ["police_jail", "hospital_ed"])
            else:
                row["resolution"] = "resolved_with_referral"
        if row["follow_up_planned"]:
            row["follow_up_due"] = (cleared + timedelta(days=rng.randint(1, 7))).date().isoformat()
        return row
