"""Login attempts: password checks with lockout after repeated failures.

Unknown usernames are throttled exactly like real ones (same messages, same timing), so
a failed login never tells whether an account exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlite_utils

from app import audit, users
from app.db import write_transaction
from app.users import User


@dataclass(frozen=True)
class LoginOutcome:
    """The result of a login attempt: the user, or when the name may try again."""

    user: User | None
    locked_until: datetime | None = None
    just_locked: bool = False


def attempt(
    db: sqlite_utils.Database,
    username: str,
    password: str,
    *,
    max_failures: int,
    lockout_minutes: int,
    now: datetime | None = None,
) -> LoginOutcome:
    """Check a username and password, counting failures and locking after max_failures."""
    now = now or datetime.now(UTC)
    user = users.by_username(db, username)
    locked = _locked_until(db, user, username)
    if locked and locked > now:
        audit.record(db, username, "login.refused_locked", username, {"until": locked.isoformat()})
        return LoginOutcome(None, locked)
    if users.password_matches(db, user, password) and user is not None and user.is_active:
        _reset(db, user, username)
        return LoginOutcome(user)
    return _fail(db, user, username, now, max_failures, lockout_minutes)


def _locked_until(db: sqlite_utils.Database, user: User | None, username: str) -> datetime | None:
    if user is not None:
        value = user.locked_until
    else:
        row = db.execute("SELECT locked_until FROM login_throttle WHERE username = ?", [username.lower()])
        found = row.fetchone()
        value = found[0] if found else None
    return datetime.fromisoformat(value) if value else None


def _reset(db: sqlite_utils.Database, user: User, username: str) -> None:
    if user.failed_logins or user.locked_until:
        db.execute("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?", [user.id])


def _fail(
    db: sqlite_utils.Database,
    user: User | None,
    username: str,
    now: datetime,
    max_failures: int,
    lockout_minutes: int,
) -> LoginOutcome:
    with write_transaction(db):
        failures = _count_failure(db, user, username)
        until = now + timedelta(minutes=lockout_minutes) if failures >= max_failures else None
        if until is not None:
            _lock(db, user, username, until)
            audit.record(db, username, "login.lockout", username, {"until": until.isoformat()})
        audit.record(db, username, "login.failure", username, {"failures": failures})
    return LoginOutcome(None, until, just_locked=until is not None)


def _count_failure(db: sqlite_utils.Database, user: User | None, username: str) -> int:
    if user is not None:
        db.execute("UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ?", [user.id])
        return int(db.execute("SELECT failed_logins FROM users WHERE id = ?", [user.id]).fetchone()[0])
    db.execute(
        "INSERT INTO login_throttle (username, failures) VALUES (?, 1) ON CONFLICT (username)"
        " DO UPDATE SET failures = failures + 1",
        [username.lower()],
    )
    row = db.execute("SELECT failures FROM login_throttle WHERE username = ?", [username.lower()]).fetchone()
    return int(row[0])


def _lock(db: sqlite_utils.Database, user: User | None, username: str, until: datetime) -> None:
    if user is not None:
        db.execute(
            "UPDATE users SET failed_logins = 0, locked_until = ? WHERE id = ?", [until.isoformat(), user.id]
        )
    else:
        db.execute(
            "UPDATE login_throttle SET failures = 0, locked_until = ? WHERE username = ?",
            [until.isoformat(), username.lower()],
        )
