"""Fault injection for the reference receiver: errors, hangs, resets, throttling and slowness on purpose."""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

RATES = ("fail_rate", "timeout_rate", "reset_rate", "throttle_rate")


class FaultError(ValueError):
    """A fault setting is unknown or out of range."""


@dataclass(frozen=True)
class FaultSettings:
    """How often the receiver misbehaves; rates are fractions of requests (their sum at most 1)."""

    fail_rate: float = 0.0
    timeout_rate: float = 0.0
    reset_rate: float = 0.0
    throttle_rate: float = 0.0
    slow_ms: int = 0
    hang_s: float = 5.0
    down: bool = False
    seed: int | None = None

    def checked(self) -> FaultSettings:
        """Return self, or raise FaultError naming the bad setting."""
        for name in RATES:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise FaultError(f"{name} must be a number from 0 to 1, got {value!r}")
        if sum(getattr(self, name) for name in RATES) > 1:
            raise FaultError("fail_rate + timeout_rate + reset_rate + throttle_rate must not exceed 1")
        if isinstance(self.slow_ms, bool) or not isinstance(self.slow_ms, int) or self.slow_ms < 0:
            raise FaultError(f"slow_ms must be a whole number of 0 or more, got {self.slow_ms!r}")
        if isinstance(self.hang_s, bool) or not isinstance(self.hang_s, int | float) or self.hang_s < 0:
            raise FaultError(f"hang_s must be a number of 0 or more, got {self.hang_s!r}")
        if not isinstance(self.down, bool):
            raise FaultError(f"down must be true or false, got {self.down!r}")
        return self


@dataclass(frozen=True)
class Fault:
    """The misbehaviour chosen for one request; `after` means once the request has been processed."""

    kind: str
    after: bool = False
    status: int = 503


class Faults:
    """Draws a fault per request from a seeded random generator (thread-safe)."""

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self.settings = (settings or FaultSettings()).checked()
        self.rng = random.Random(self.settings.seed)
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def update(self, changes: Mapping[str, Any]) -> FaultSettings:
        """Change some settings at runtime; unknown keys or bad values raise FaultError."""
        known = {f.name for f in fields(FaultSettings)}
        unknown = sorted(set(changes) - known)
        if unknown:
            names, allowed = ", ".join(unknown), ", ".join(sorted(known))
            raise FaultError(f"unknown fault setting(s): {names} (known: {allowed})")
        with self.lock:
            self.settings = replace(self.settings, **dict(changes)).checked()
            if "seed" in changes:
                self.rng.seed(self.settings.seed)
        return self.settings

    def draw(self) -> Fault | None:
        """Return the fault for the next request, or None to behave."""
        with self.lock:
            roll, phase, pick = self.rng.random(), self.rng.random(), self.rng.random()
            fault = _choose(self.settings, roll, phase >= 0.5, 500 if pick < 0.5 else 503)
            if fault is not None:
                self.counts[fault.kind] = self.counts.get(fault.kind, 0) + 1
        return fault

    def to_json(self) -> dict[str, Any]:
        """Return the settings and how many faults of each kind were injected."""
        with self.lock:
            return {"settings": asdict(self.settings), "injected": dict(self.counts)}


def _choose(settings: FaultSettings, roll: float, after: bool, status: int) -> Fault | None:
    if settings.down:
        return Fault("down", status=503)
    edge = 0.0
    for name in RATES:
        edge += getattr(settings, name)
        if roll < edge:
            kind = name.removesuffix("_rate")
            return Fault(kind, after=after and kind in ("timeout", "reset"), status=status)
    return None
