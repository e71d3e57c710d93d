"""Generalization methods for the state payload: age band, ZIP3, keyed HMAC, ICD-10 category.

Each method turns one captured value into the coarser value the state receives under
the field's output id. NOT values and pertinent negatives are carried along unchanged:
`{"value": 37, "pn": "approximate"}` becomes `{"value": "35_44", "pn": "approximate"}`.
The bands, the restricted ZIP3 prefixes and the HMAC purpose all come from the template.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from forms.model import Field, Template

AGE_BAND_LIST = "age_band"
RESTRICTED_ZIP3_LIST = "restricted_zip3"
MIN_KEY_BYTES = 32
ZIP_PATTERN = re.compile(r"([0-9]{3})[0-9]{2}(-[0-9]{4})?")
BAND_PATTERN = re.compile(r"([0-9]+)_([0-9]+|plus)")
SPACE = re.compile(r"\s+")


class PayloadError(ValueError):
    """A stored value cannot be shaped for the state (wrong type or format)."""


@dataclass(frozen=True)
class HmacKey:
    """The agency's secret for keyed hashes and the id of its key generation (e.g. k2026)."""

    secret: bytes
    key_id: str

    def __post_init__(self) -> None:
        if not isinstance(self.secret, bytes) or len(self.secret) < MIN_KEY_BYTES:
            raise PayloadError(f"the HMAC key must be at least {MIN_KEY_BYTES} random bytes")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", self.key_id or ""):
            raise PayloadError(f"the HMAC key id {self.key_id!r} must be letters, digits, '_', '.' or '-'")


def keyed_hash(key: HmacKey, purpose: str, value: str) -> str:
    """Return `<key_id>:<hex>` of HMAC-SHA-256 over `<purpose>|<value>` (trimmed, no spaces, upper)."""
    normalized = SPACE.sub("", value).upper()
    message = f"{purpose}|{normalized}".encode()
    return f"{key.key_id}:{hmac.new(key.secret, message, hashlib.sha256).hexdigest()}"


def generalize(template: Template, field: Field, stored: Any, key: HmacKey) -> Any:
    """Return the generalized form of a stored value, NOT values and PNs carried along."""
    if field.generalize is None:
        raise PayloadError(f"field '{field.id}' has no generalize method")
    method = _cached_method(template, field)
    if isinstance(stored, dict):
        if "value" not in stored:
            return dict(stored)
        return {**stored, "value": method(stored["value"], key)}
    return method(stored, key)


Method = Callable[[Any, HmacKey], Any]


def _cached_method(template: Template, field: Field) -> Method:
    """Return the field's method, built once per template and field (the field kept for identity)."""
    entry = template.memo.get(("generalize", field.id))
    if entry is not None and entry[0] is field:
        return entry[1]  # type: ignore[no-any-return]
    method = _method(template, field)
    template.memo[("generalize", field.id)] = (field, method)
    return method


def _method(template: Template, field: Field) -> Method:
    """Return the function mapping one real value (or list of values) for this field, given the key.

    Built once per template and field: the bands and restricted prefixes are read from the
    template's code lists here, not on every value.
    """
    spec = field.generalize
    assert spec is not None
    if spec.method == "age_band":
        bands = age_bands(template, spec.output)
        return lambda value, _key: _band(field.id, bands, value)
    if spec.method == "zip3":
        restricted = restricted_zip3(template)
        return lambda value, _key: _zip3(field.id, restricted, value)
    if spec.method == "hmac":
        purpose = spec.purpose or "person"
        return lambda value, key: _per_item(
            value, lambda item: keyed_hash(key, purpose, _text(field.id, item))
        )
    if spec.method == "icd10_category":
        return lambda value, _key: _categories(field.id, value)
    raise PayloadError(f"field '{field.id}': unknown generalize method '{spec.method}'")


def age_bands(template: Template, output: str) -> list[tuple[int, int | None, str]]:
    """Return (low, high or None for open-ended, code) for each band of the output's code list."""
    codes = template.code_lists.get(output) or template.code_lists.get(AGE_BAND_LIST)
    if codes is None:
        raise PayloadError(f"the template has no code list '{output}' for age bands")
    bands = []
    for code in codes.codes:
        match = BAND_PATTERN.fullmatch(code.code)
        if match is None:
            raise PayloadError(f"age band code '{code.code}' must look like '35_44' or '90_plus'")
        high = None if match.group(2) == "plus" else int(match.group(2))
        bands.append((int(match.group(1)), high, code.code))
    return bands


def _band(field_id: str, bands: list[tuple[int, int | None, str]], value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(f"field '{field_id}': an age must be a number of years, got {value!r}")
    for low, high, code in bands:
        if value >= low and (high is None or value < high + 1):
            return code
    raise PayloadError(f"field '{field_id}': age {value!r} falls in no age band")


def restricted_zip3(template: Template) -> frozenset[str]:
    """Return the 3-digit ZIP prefixes that must be sent as '000'."""
    codes = template.code_lists.get(RESTRICTED_ZIP3_LIST)
    return frozenset(c.code for c in codes.codes) if codes is not None else frozenset()


def _zip3(field_id: str, restricted: frozenset[str], value: Any) -> str:
    match = ZIP_PATTERN.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise PayloadError(f"field '{field_id}': a ZIP code must be 5 digits, got {value!r}")
    prefix = match.group(1)
    return "000" if prefix in restricted else prefix


def _categories(field_id: str, value: Any) -> Any:
    """Return the 3-character ICD-10-CM category of each code (duplicates dropped)."""
    if isinstance(value, list):
        return list(dict.fromkeys(_text(field_id, item).strip()[:3] for item in value))
    return _text(field_id, value).strip()[:3]


def _per_item(value: Any, method: Callable[[Any], str]) -> Any:
    return [method(item) for item in value] if isinstance(value, list) else method(value)


def _text(field_id: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PayloadError(f"field '{field_id}': expected text, got {value!r}")
    text = str(value).strip()
    if not text:
        raise PayloadError(f"field '{field_id}': the value is blank")
    return text
