"""Users: accounts, roles and argon2id password hashes."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlite_utils
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _

ROLES = ("responder", "supervisor", "admin")
MIN_PASSWORD_LENGTH = 12
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,39}")
_COLUMNS = "id, username, role, display_name, team_role, active, failed_logins, locked_until, created_at"

hasher = PasswordHasher()  # argon2id with argon2-cffi's RFC 9106 defaults
_DUMMY_HASH = hasher.hash(secrets.token_hex(16))


class UserError(ValueError):
    """A user cannot be created or changed as asked."""


def use_fast_hashing() -> None:
    """Switch to cheap argon2id parameters (tests only: hashes stay verifiable either way)."""
    global hasher, _DUMMY_HASH
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    _DUMMY_HASH = hasher.hash(secrets.token_hex(16))


@dataclass
class User:
    """A logged-in person, as flask-login needs it."""

    id: int
    username: str
    role: str
    display_name: str = ""
    team_role: str | None = None
    active: bool = True
    failed_logins: int = 0
    locked_until: str | None = None
    created_at: str = ""

    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        """Return whether the account may log in."""
        return bool(self.active)

    def get_id(self) -> str:
        """Return the id flask-login keeps in the session."""
        return str(self.id)

    @property
    def name(self) -> str:
        """Return the name shown on pages."""
        return self.display_name or self.username


def _user(row: Any) -> User | None:
    return User(*row) if row else None


def check_role(role: str) -> str:
    """Return the role if known, else raise naming the allowed roles."""
    if role not in ROLES:
        raise UserError(
            _("unknown role %(role)r: choose one of %(roles)s", role=role, roles=", ".join(ROLES))
        )
    return role


def check_password(password: str) -> str:
    """Return the password if it is long enough, else raise saying how long it must be."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(_("password too short: use at least %(n)s characters", n=MIN_PASSWORD_LENGTH))
    return password


def create(
    db: sqlite_utils.Database,
    username: str,
    password: str,
    role: str,
    *,
    display_name: str = "",
    team_role: str | None = None,
) -> User:
    """Create a user with an argon2id password hash and return it."""
    if not USERNAME_PATTERN.fullmatch(username):
        raise UserError(
            _("invalid username %(name)r: use 2-40 letters, digits, '.', '_' or '-'", name=username)
        )
    check_role(role)
    check_password(password)
    if by_username(db, username):
        raise UserError(_("user %(name)r already exists", name=username))
    db.execute(
        "INSERT INTO users (username, password_hash, role, display_name, team_role, active, created_at)"
        " VALUES (?, ?, ?, ?, ?, 1, ?)",
        [
            username,
            hasher.hash(password),
            role,
            display_name,
            team_role,
            datetime.now(UTC).isoformat(timespec="seconds"),
        ],
    )
    user = by_username(db, username)
    assert user is not None
    return user


def get(db: sqlite_utils.Database, user_id: int | str) -> User | None:
    """Return the user with this id, or None."""
    return _user(db.execute(f"SELECT {_COLUMNS} FROM users WHERE id = ?", [user_id]).fetchone())


def by_username(db: sqlite_utils.Database, username: str) -> User | None:
    """Return the user with this username (case-insensitive), or None."""
    return _user(db.execute(f"SELECT {_COLUMNS} FROM users WHERE username = ?", [username]).fetchone())


def list_all(db: sqlite_utils.Database) -> list[User]:
    """Return every user, by username."""
    return [User(*r) for r in db.execute(f"SELECT {_COLUMNS} FROM users ORDER BY username")]


def require(db: sqlite_utils.Database, username: str) -> User:
    """Return the user or raise UserError naming the unknown username."""
    user = by_username(db, username)
    if user is None:
        raise UserError(_("no user named %(name)r", name=username))
    return user


def set_active(db: sqlite_utils.Database, username: str, active: bool) -> User:
    """Enable or disable a user's account."""
    user = require(db, username)
    db.execute("UPDATE users SET active = ? WHERE id = ?", [int(active), user.id])
    return require(db, username)


def set_password(db: sqlite_utils.Database, username: str, password: str) -> User:
    """Replace a user's password and clear any lockout."""
    user = require(db, username)
    db.execute(
        "UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL WHERE id = ?",
        [hasher.hash(check_password(password)), user.id],
    )
    return user


def password_matches(db: sqlite_utils.Database, user: User | None, password: str) -> bool:
    """Return whether the password is the user's; spend the same time when there is no user."""
    row = db.execute("SELECT password_hash FROM users WHERE id = ?", [user.id]).fetchone() if user else None
    try:
        return bool(hasher.verify(row[0] if row else _DUMMY_HASH, password)) and row is not None
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """Return a new random password that is easy to read aloud."""
    return "-".join(secrets.token_urlsafe(5) for _ in range(3))
