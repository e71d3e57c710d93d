"""Reference state receiver: implements the sync contract v1 so Crewlog can be tested end to end."""

from __future__ import annotations

from sync.receiver.app import create_receiver
from sync.receiver.cli import main

__all__ = ["create_receiver", "main"]
