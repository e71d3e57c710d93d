"""Find and launch Debian's chromium for Playwright; under CI a missing browser fails loudly."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

DEBIAN_CHROMIUM = "/usr/bin/chromium"


def chromium_path() -> str:
    """Return the chromium executable; fail under CI (CI=true), skip elsewhere, when there is none."""
    found = shutil.which("chromium") or (DEBIAN_CHROMIUM if Path(DEBIAN_CHROMIUM).exists() else None)
    if found:
        return found
    message = "chromium is not installed: run `apt-get install -y --no-install-recommends chromium`"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message + " (browser tests never skip in CI)")
    pytest.skip(message)


def launch(playwright: Any, **options: Any) -> Any:
    """Launch headless chromium through Playwright."""
    return playwright.chromium.launch(executable_path=chromium_path(), headless=True, **options)


def launch_persistent(playwright: Any, profile: Path, **options: Any) -> Any:
    """Launch headless chromium with a profile folder that survives a browser restart."""
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=chromium_path(), headless=True, **options
    )
