"""Settings of the sync worker: a plain dataclass the app's config fills."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class SyncSettings:
    """The [sync] settings, plus a few tuning knobs with safe defaults."""

    enabled: bool = False
    endpoint: str = ""
    token: str = ""
    agency_id: str = ""
    require_approval: bool = False
    interval_seconds: float = 30.0
    batch_size: int = 100
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    max_backoff_s: float = 600.0
    base_backoff_s: float = 1.0
    lease_seconds: float = 0.0
    template_interval_s: float = 3600.0

    @property
    def lease_ttl(self) -> float:
        """Return how long a worker's lease lasts without renewal."""
        if self.lease_seconds > 0:
            return self.lease_seconds
        return max(30.0, 2 * (self.connect_timeout_s + self.read_timeout_s))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> SyncSettings:
        """Build settings from a [sync] table, ignoring keys that are not settings."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SyncSettings:
        """Build settings from the app's whole config (a mapping of sections)."""
        sync = dict(config.get("sync", {}))
        if not sync.get("agency_id"):
            sync["agency_id"] = config.get("agency", {}).get("id", "")
        return cls.from_mapping(sync)


def database_path(config: Mapping[str, Any]) -> str:
    """Return the database file named by the app's config."""
    path = config.get("database", {}).get("path", "")
    if not path:
        raise ValueError("the config names no [database] path for the sync worker")
    return str(path)
