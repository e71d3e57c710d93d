"""Login throttling per client address: many failures from one address, whatever the usernames."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from flask import Flask

from app import audit
from app import db as app_db
from app.auth.lockout import ADDRESS_KEY, client_address
from tests.conftest import AuthActions, Persona, add_personas, make_app

ADDRESS_MESSAGE = "Too many failed logins from this network address"


def throttled_app(tmp_path: Path, **security: Any) -> Flask:
    app = make_app(tmp_path / "instance", security={"address_max_failures": 3, **security})
    add_personas(app)
    return app


def from_address(app: Flask, address: str, forwarded_for: str | None = None) -> AuthActions:
    """Return login actions of a browser at a client address (optionally behind a proxy)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    if forwarded_for is not None:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return AuthActions(client)


def stranger(name: str) -> Persona:
    return Persona(name, "responder", password="guessed-password")


def test_failures_across_usernames_lock_the_address_even_for_a_right_password(tmp_path: Path) -> None:
    app = throttled_app(tmp_path)
    sprayer = from_address(app, "198.51.100.7")
    codes = [sprayer.login(stranger(n)).status_code for n in ("ann", "bob")]
    third = sprayer.login("responder", password="Winter2026!")
    assert codes == [401, 401] and third.status_code == 429
    assert ADDRESS_MESSAGE in third.get_data(as_text=True)
    refused = sprayer.login("supervisor")  # a real password from that address is refused too
    assert refused.status_code == 429 and ADDRESS_MESSAGE in refused.get_data(as_text=True)
    assert from_address(app, "198.51.100.8").login("supervisor").status_code == 302


def test_address_lockout_is_audited_with_the_address(tmp_path: Path) -> None:
    app = throttled_app(tmp_path)
    sprayer = from_address(app, "198.51.100.7")
    for name in ("ann", "bob", "cy", "dee"):
        sprayer.login(stranger(name))
    db = app_db.connect(app.config["DATABASE"])
    entries = [(e["action"], e["target"], json.loads(e["details"])) for e in audit.recent(db, 50)]
    assert ("login.address_lockout", "198.51.100.7") in {(a, t) for a, t, _ in entries}
    assert any(a == "login.refused_address" for a, _, _ in entries)
    failures = [d for a, _, d in entries if a == "login.failure"]
    assert len(failures) == 3 and all(d["address"] == "198.51.100.7" for d in failures)


def test_address_lockout_ends_after_lockout_minutes(tmp_path: Path) -> None:
    app = throttled_app(tmp_path)
    sprayer = from_address(app, "198.51.100.7")
    for name in ("ann", "bob", "cy"):
        sprayer.login(stranger(name))
    db: sqlite_utils.Database = app_db.connect(app.config["DATABASE"])
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    db.execute(
        "UPDATE login_throttle SET locked_until = ? WHERE username = ?", [past, ADDRESS_KEY + "198.51.100.7"]
    )
    assert sprayer.login("responder").status_code == 302


def test_a_right_login_in_between_does_not_reset_the_address_count(tmp_path: Path) -> None:
    app = throttled_app(tmp_path)
    sprayer = from_address(app, "198.51.100.7")
    sprayer.login(stranger("ann"))
    sprayer.login(stranger("bob"))
    assert from_address(app, "198.51.100.7").login("responder").status_code == 302
    assert sprayer.login(stranger("cy")).status_code == 429


def test_zero_turns_address_throttling_off(tmp_path: Path) -> None:
    app = throttled_app(tmp_path, address_max_failures=0)
    sprayer = from_address(app, "198.51.100.7")
    codes = [sprayer.login(stranger(f"name{i}")).status_code for i in range(6)]
    assert codes == [401] * 6
    assert sprayer.login("responder").status_code == 302


def test_behind_a_trusted_proxy_each_client_is_counted_by_its_forwarded_address(tmp_path: Path) -> None:
    app = throttled_app(tmp_path, trusted_proxies=1)
    sprayer = from_address(app, "127.0.0.1", forwarded_for="203.0.113.5")
    for name in ("ann", "bob", "cy"):
        sprayer.login(stranger(name))
    assert sprayer.login("supervisor").status_code == 429
    crew = from_address(app, "127.0.0.1", forwarded_for="203.0.113.6")  # same proxy, other client
    assert crew.login("supervisor").status_code == 302


def test_without_trusted_proxies_a_forged_forwarded_header_does_not_escape_the_limit(tmp_path: Path) -> None:
    app = throttled_app(tmp_path)
    codes = [
        from_address(app, "198.51.100.7", forwarded_for=f"10.9.9.{i}").login(stranger(f"n{i}")).status_code
        for i in range(4)
    ]
    assert codes == [401, 401, 429, 429]


def test_a_username_shaped_like_an_address_key_cannot_feed_another_addresses_count(tmp_path: Path) -> None:
    app = throttled_app(tmp_path)
    attacker = from_address(app, "198.51.100.66")
    for _ in range(2):
        assert attacker.login(stranger(ADDRESS_KEY + "198.51.100.7")).status_code == 401
    victim = from_address(app, "198.51.100.7")
    assert victim.login("responder", password="typo").status_code == 401
    assert victim.login("responder").status_code == 302


def test_account_lockout_still_applies_per_username(tmp_path: Path) -> None:
    app = throttled_app(tmp_path, address_max_failures=50)
    codes = [
        from_address(app, f"198.51.100.{i}").login("responder", password="nope").status_code for i in range(6)
    ]
    assert codes == [401, 401, 401, 401, 429, 429]
    assert "Too many failed attempts" in from_address(app, "198.51.100.99").login("responder").get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    ("remote", "forwarded", "proxies", "expected"),
    [
        ("198.51.100.7", None, 0, "198.51.100.7"),
        ("127.0.0.1", "203.0.113.5", 0, "127.0.0.1"),  # the header is not trusted
        ("127.0.0.1", "6.6.6.6, 203.0.113.5", 1, "203.0.113.5"),  # the client wrote the first hop
        ("127.0.0.1", "203.0.113.5, 10.0.0.2", 2, "203.0.113.5"),
        ("127.0.0.1", "203.0.113.5", 2, "127.0.0.1"),  # fewer hops than proxies: not via them
        ("2001:db8:1:2:aaaa::1", None, 0, "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.7", None, 0, "198.51.100.7"),
        (None, None, 0, None),
    ],
)
def test_client_address_reads_the_trusted_hop_and_groups_ipv6_networks(
    remote: str | None, forwarded: str | None, proxies: int, expected: str | None
) -> None:
    assert client_address(remote, forwarded, proxies) == expected
