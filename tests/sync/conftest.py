"""Fixtures for sync tests: a real receiver process per module and a fresh outbox file per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sync.sync_builders import ReceiverProcess


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReceiverProcess]:
    """A receiver subprocess shared by a test module; faults are reset before each test."""
    process = ReceiverProcess(tmp_path_factory.mktemp("receiver") / "receiver.sqlite", "--hang-s", "1.5")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def healthy_receiver(receiver: ReceiverProcess) -> ReceiverProcess:
    """The shared receiver with every fault switched off."""
    receiver.faults(fail_rate=0, timeout_rate=0, reset_rate=0, throttle_rate=0, slow_ms=0, down=False)
    return receiver


@pytest.fixture
def outbox_path(tmp_path: Path) -> Path:
    """Path of a fresh program database for the outbox."""
    return tmp_path / "crewlog.sqlite"
