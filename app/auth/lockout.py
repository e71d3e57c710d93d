"""Login attempts: password checks with lockout after repeated failures, per account and per address.

Unknown usernames are throttled exactly like real ones (same messages, same timing), so
a failed login never tells whether an account exists.

A client address is throttled too, whatever usernames it tries (password spraying): its
row in `login_throttle` (key `ADDRESS_KEY` + address) counts failures in a window that
starts at the first failure and lasts `lockout_minutes`; `locked_until` holds that
window's end, and once the count reaches the limit, the end of the address's lockout.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlite_utils

from app import audit, users
from app.db import write_transaction
from app.users import User

ADDRESS_KEY = "@address "  # login_throttle key prefix of client addresses
ESCAPED_NAME = "@user "  # prefix for a typed username that looks like an address key
IPV6_PREFIX = 64  # one IPv6 client usually holds a whole /64: throttle the network
MAX_ADDRESS_LENGTH = 64


@dataclass(frozen=True)
class Limits:
    """How many failures lock an account or an address, and for how many minutes."""

    max_failures: int
    lockout_minutes: int
    address_max_failures: int = 0  # 0: no limit per address

    @property
    def lockout(self) -> timedelta:
        """Return how long a lockout lasts."""
        return timedelta(minutes=self.lockout_minutes)


@dataclass(frozen=True)
class LoginOutcome:
    """The result of a login attempt: the user, or when the name (or address) may try again."""

    user: User | None
    locked_until: datetime | None = None
    just_locked: bool = False
    address_locked: bool = False


def attempt(
    db: sqlite_utils.Database,
    username: str,
    password: str,
    *,
    max_failures: int,
    lockout_minutes: int,
    address: str | None = None,
    address_max_failures: int = 0,
    now: datetime | None = None,
) -> LoginOutcome:
    """Check a username and password from a client address, counting failures and locking."""
    now = now or datetime.now(UTC)
    limits = Limits(max_failures, lockout_minutes, address_max_failures if address else 0)
    held = _address_locked_until(db, address, limits, now)
    if held is not None:
        details = {"address": address, "until": held.isoformat()}
        audit.record(db, username, "login.refused_address", username, details)
        return LoginOutcome(None, held, address_locked=True)
    user = users.by_username(db, username)
    locked = _locked_until(db, user, username)
    if locked and locked > now:
        audit.record(db, username, "login.refused_locked", username, {"until": locked.isoformat()})
        return LoginOutcome(None, locked)
    if users.password_matches(db, user, password) and user is not None and user.is_active:
        _reset(db, user)
        return LoginOutcome(user)
    return _fail(db, user, username, address, limits, now)


def client_address(remote_addr: str | None, forwarded_for: str | None, trusted_proxies: int) -> str | None:
    """Return the client's address: `trusted_proxies` hops back in X-Forwarded-For, else the peer's.

    IPv6 addresses are reduced to their /64 network, since one client can use any address in it.
    """
    hops = [h.strip() for h in (forwarded_for or "").split(",") if h.strip()]
    raw = hops[-trusted_proxies] if 0 < trusted_proxies <= len(hops) else remote_addr
    if not raw:
        return None
    try:
        parsed = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:MAX_ADDRESS_LENGTH]
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_PREFIX}", strict=False))
    return str(parsed.ipv4_mapped if isinstance(parsed, ipaddress.IPv6Address) else parsed)


def _name_key(username: str) -> str:
    """Return the login_throttle key of an unknown username (never an address key)."""
    key = username.lower()
    return ESCAPED_NAME + key if key.startswith(ADDRESS_KEY) else key


def _locked_until(db: sqlite_utils.Database, user: User | None, username: str) -> datetime | None:
    if user is not None:
        value = user.locked_until
    else:
        row = db.execute("SELECT locked_until FROM login_throttle WHERE username = ?", [_name_key(username)])
        found = row.fetchone()
        value = found[0] if found else None
    return datetime.fromisoformat(value) if value else None


def _address_locked_until(
    db: sqlite_utils.Database, address: str | None, limits: Limits, now: datetime
) -> datetime | None:
    """Return when a locked address may try again, or None when it is not locked."""
    if not address or limits.address_max_failures <= 0:
        return None
    row = db.execute(
        "SELECT failures, locked_until FROM login_throttle WHERE username = ?", [ADDRESS_KEY + address]
    ).fetchone()
    if row is None or row[0] < limits.address_max_failures or not row[1]:
        return None
    until = datetime.fromisoformat(row[1])
    return until if until > now else None


def _reset(db: sqlite_utils.Database, user: User) -> None:
    if user.failed_logins or user.locked_until:
        db.execute("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?", [user.id])


def _fail(
    db: sqlite_utils.Database,
    user: User | None,
    username: str,
    address: str | None,
    limits: Limits,
    now: datetime,
) -> LoginOutcome:
    with write_transaction(db):
        failures = _count_failure(db, user, username)
        until = now + limits.lockout if failures >= limits.max_failures else None
        if until is not None:
            _lock(db, user, username, until)
            audit.record(db, username, "login.lockout", username, {"until": until.isoformat()})
        address_until = _count_address_failure(db, address, limits, now) if address else None
        audit.record(db, username, "login.failure", username, {"failures": failures, "address": address})
    if address_until is not None:
        return LoginOutcome(None, max(address_until, until or address_until), True, address_locked=True)
    return LoginOutcome(None, until, just_locked=until is not None)


def _count_failure(db: sqlite_utils.Database, user: User | None, username: str) -> int:
    if user is not None:
        db.execute("UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ?", [user.id])
        return int(db.execute("SELECT failed_logins FROM users WHERE id = ?", [user.id]).fetchone()[0])
    key = _name_key(username)
    db.execute(
        "INSERT INTO login_throttle (username, failures) VALUES (?, 1) ON CONFLICT (username)"
        " DO UPDATE SET failures = failures + 1",
        [key],
    )
    return int(db.execute("SELECT failures FROM login_throttle WHERE username = ?", [key]).fetchone()[0])


def _count_address_failure(
    db: sqlite_utils.Database, address: str, limits: Limits, now: datetime
) -> datetime | None:
    """Count a failure from the address in its window; return the lockout's end when this one locks it."""
    if limits.address_max_failures <= 0:
        return None
    key = ADDRESS_KEY + address
    row = db.execute("SELECT failures, locked_until FROM login_throttle WHERE username = ?", [key]).fetchone()
    ends = datetime.fromisoformat(row[1]) if row is not None and row[1] else None
    failures, window_end = (
        (row[0] + 1, ends) if ends is not None and ends > now else (1, now + limits.lockout)
    )
    locks = failures >= limits.address_max_failures
    if locks:
        window_end = now + limits.lockout
        audit.record(db, None, "login.address_lockout", address, {"until": window_end.isoformat()})
    db.execute(
        "INSERT OR REPLACE INTO login_throttle (username, failures, locked_until) VALUES (?, ?, ?)",
        [key, failures, window_end.isoformat()],
    )
    _forget_old_addresses(db, now)
    return window_end if locks else None


def _forget_old_addresses(db: sqlite_utils.Database, now: datetime) -> None:
    """Delete address rows whose window or lockout has ended (they would start afresh anyway)."""
    db.execute(
        "DELETE FROM login_throttle WHERE username >= ? AND username < ? AND locked_until < ?",
        [ADDRESS_KEY, ADDRESS_KEY[:-1] + "!", now.astimezone(UTC).isoformat()],
    )


def _lock(db: sqlite_utils.Database, user: User | None, username: str, until: datetime) -> None:
    if user is not None:
        db.execute(
            "UPDATE users SET failed_logins = 0, locked_until = ? WHERE id = ?", [until.isoformat(), user.id]
        )
    else:
        db.execute(
            "UPDATE login_throttle SET failures = 0, locked_until = ? WHERE username = ?",
            [until.isoformat(), _name_key(username)],
        )
