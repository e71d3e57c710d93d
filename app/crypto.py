"""Key files in the instance folder and encryption of identifying answers at rest.

Keys live in files (0600), never in the database and never in the repository:
`secret_key` signs sessions, `data.key` encrypts fields of privacy class pii with
AES-256-GCM, `agency-hmac-k<year>.key` keys the de-identifying HMAC of the state payload.
An encrypted answer is stored as {"enc": "<base64 of nonce + ciphertext>"}.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from forms.conditions import template_cached
from forms.model import Answers, Template

log = logging.getLogger(__name__)

SECRET_KEY_FILE = "secret_key"  # noqa: S105  (a file name, not a secret)
DATA_KEY_FILE = "data.key"
NONCE_BYTES = 12


class KeyFileError(Exception):
    """A key file is missing or unreadable."""


def hmac_key_file(instance: Path, key_id: str) -> Path:
    """Return the path of the agency HMAC key with this id (e.g. k2026)."""
    return instance / f"agency-hmac-{key_id}.key"


def current_key_id() -> str:
    """Return the HMAC key id of the current calendar year."""
    return f"k{datetime.now(UTC).year}"


def write_key_file(path: Path, data: bytes) -> bool:
    """Create a key file readable by the owner only; return False if it already exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)
    return True


def write_private_file(path: Path, text: str) -> None:
    """Write (replace) a text file readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def generate_keys(instance: Path, secret_key_file: Path | None = None) -> list[Path]:
    """Create the secret key, data key and this year's HMAC key when missing; return those created."""
    wanted = {
        secret_key_file or instance / SECRET_KEY_FILE: secrets.token_hex(32).encode(),
        instance / DATA_KEY_FILE: secrets.token_bytes(32),
        hmac_key_file(instance, current_key_id()): secrets.token_bytes(32),
    }
    return [path for path, data in wanted.items() if write_key_file(path, data)]


def read_key(path: Path, what: str) -> bytes:
    """Return a key file's bytes or raise naming the file and how to create it."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"{what} {path} is missing: run `crewlog init` to create it") from None
    if len(data) < 32:
        raise KeyFileError(f"{what} {path} is too short (need at least 32 bytes)")
    return data


@dataclass
class Keys:
    """The instance's keys, loaded once per process."""

    instance: Path
    data_key: bytes
    _aead: AESGCM = field(init=False, repr=False)
    _hmac: dict[str, bytes] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._aead = AESGCM(self.data_key[:32])
        self._index_key = hmac.new(self.data_key, b"crewlog local index", hashlib.sha256).digest()

    @classmethod
    def load(cls, instance: Path) -> Keys:
        """Load the data key from the instance folder."""
        return cls(instance, read_key(instance / DATA_KEY_FILE, "data key"))

    def hmac_key(self, key_id: str) -> bytes:
        """Return the agency HMAC key with this id, creating it (0600) on first use."""
        if key_id not in self._hmac:
            path = hmac_key_file(self.instance, key_id)
            if write_key_file(path, secrets.token_bytes(32)):
                log.warning("created agency HMAC key %s; copy it to every device of the agency", path)
            self._hmac[key_id] = read_key(path, "agency HMAC key")
        return self._hmac[key_id]

    def encrypt(self, value: Any, context: str) -> dict[str, str]:
        """Return {"enc": ...} holding the value, bound to its context (record and field)."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        plain = compact_json(value)
        sealed = self._aead.encrypt(nonce, plain, context.encode())
        return {"enc": base64.b64encode(nonce + sealed).decode()}

    def decrypt(self, stored: dict[str, str], context: str) -> Any:
        """Return the value sealed in {"enc": ...}; raise ValueError if it was tampered with."""
        raw = base64.b64decode(stored["enc"])
        try:
            plain = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
        except InvalidTag:
            raise ValueError(f"encrypted value for {context} does not match its key or record") from None
        return json.loads(plain)

    def index_key(self, purpose: str, value: str) -> str:
        """Return a keyed hash for local lookups (repeat clients, duplicate incidents)."""
        message = f"{purpose}|{''.join(str(value).split()).upper()}".encode()
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()


def is_encrypted(value: Any) -> bool:
    """Return whether a stored answer is an encrypted envelope."""
    return isinstance(value, dict) and set(value) == {"enc"}


def pii_fields(template: Template) -> frozenset[str]:
    """Return the ids of the template's identifying (pii) fields (cached on the template)."""
    fields = template.fields.values()
    return template_cached(template, "pii", lambda: frozenset(f.id for f in fields if f.privacy == "pii"))


def compact_json(value: Any) -> bytes:
    """Return value as compact JSON (orjson; json for what orjson refuses, e.g. integers past 64 bits)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":")).encode()


def sealed_text(sealed: Answers) -> str:
    """Return sealed answers as the encounter tables store them (compact JSON)."""
    return compact_json(sealed).decode()


def seal_answers(template: Template, answers: Answers, keys: Keys, record_id: str) -> Answers:
    """Return a copy of the answers with every pii field encrypted."""
    return _map_pii(template, answers, lambda fid, v: keys.encrypt(v, f"{record_id}:{fid}"))


def open_answers(answers: Answers, keys: Keys, record_id: str) -> Answers:
    """Return a copy of stored answers with every encrypted value (rows included) decrypted."""

    def unseal(key: str, value: Any) -> Any:
        return keys.decrypt(value, f"{record_id}:{key}") if is_encrypted(value) else value

    def row(value: Any) -> Any:
        return {k: unseal(k, v) for k, v in value.items()} if isinstance(value, dict) else value

    return {k: [row(r) for r in v] if isinstance(v, list) else unseal(k, v) for k, v in answers.items()}


def _map_pii(template: Template, answers: Answers, fn: Any) -> Answers:
    pii = pii_fields(template)
    result: Answers = {}
    for key, value in answers.items():
        if key in template.groups and isinstance(value, list):
            result[key] = [
                {k: fn(k, v) if k in pii else v for k, v in row.items()} if isinstance(row, dict) else row
                for row in value
            ]
        else:
            result[key] = fn(key, value) if key in pii else value
    return result
