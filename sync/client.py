"""HTTP client for the state endpoint (sync contract v1), with explicit timeouts on every request."""

from __future__ import annotations

import email.utils
import json
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from sync.settings import SyncSettings

SUCCESS_STATUSES = frozenset({"accepted", "accepted_with_warnings", "duplicate", "superseded_ignored"})
FAILURE_STATUSES = frozenset({"conflict", "rejected"})
USER_AGENT = "Crewlog-sync/1.0"
MAX_RETRY_AFTER_S = 3600.0


class SyncFailure(Exception):
    """A request to the state failed as a whole; `retry_after` is the state's requested wait, if any."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class NetworkFailure(SyncFailure):
    """No usable answer: connection refused or reset, timeout, 5xx, or a malformed body."""


class Throttled(SyncFailure):
    """The state asked us to slow down (429, or 503 with Retry-After)."""


class AdminActionNeeded(SyncFailure):
    """A refusal only an admin can fix; the queue pauses until then."""


class AuthRefused(AdminActionNeeded):
    """The state refused our credentials (401) or this agency (403)."""


class EndpointRefused(AdminActionNeeded):
    """The endpoint does not offer the contract (404, 405, 410 ...): the configured URL is wrong."""


class BatchTooLarge(SyncFailure):
    """The state refused the batch as too large (413)."""


class BatchRefused(SyncFailure):
    """The state refused the request's content (400, 422): some record in it is malformed."""


@dataclass(frozen=True)
class Limits:
    """The largest batch the state accepts."""

    max_records: int
    max_bytes: int


@dataclass(frozen=True)
class RecordResult:
    """The state's answer for one record of a batch."""

    encounter_id: str
    record_version: int
    status: str
    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        """Return whether the state now holds this record version (or a newer one)."""
        return self.status in SUCCESS_STATUSES

    def to_json(self) -> dict[str, Any]:
        """Return the result as stored in the outbox's response column."""
        return {
            "encounter_id": self.encounter_id,
            "record_version": self.record_version,
            "status": self.status,
            "messages": self.messages,
        }


@dataclass(frozen=True)
class TemplateFetch:
    """A template the state published, with its ETag."""

    etag: str
    source: dict[str, Any]


class StateClient:
    """Talk to one state endpoint as one agency."""

    def __init__(self, settings: SyncSettings, session: requests.Session | None = None) -> None:
        self.base = settings.endpoint.rstrip("/")
        self.agency_id = settings.agency_id
        self.timeout = (settings.connect_timeout_s, settings.read_timeout_s)
        self.session = session or requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {settings.token}", "User-Agent": USER_AGENT})

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()

    def limits(self) -> Limits:
        """Return the state's batch limits (GET /v1/limits)."""
        body = _json_object(self._request("GET", "/v1/limits"))
        try:
            return Limits(int(body["max_records"]), int(body["max_bytes"]))
        except (KeyError, TypeError, ValueError):
            raise NetworkFailure("the state's limits answer lacks max_records/max_bytes") from None

    def submit(self, payloads: Sequence[str]) -> list[RecordResult]:
        """Send stored payload texts as one batch and return the per-record results."""
        body = '{"agency_id": ' + json.dumps(self.agency_id) + ', "records": [' + ", ".join(payloads) + "]}"
        response = self._request(
            "POST", "/v1/submissions", data=body.encode("utf-8"), headers={"Content-Type": "application/json"}
        )
        return parse_results(_json_object(response))

    def current_template(self, etag: str | None) -> TemplateFetch | None:
        """Return the state's current template, or None when it still matches `etag` (304)."""
        headers = {"If-None-Match": etag} if etag else {}
        response = self._request("GET", "/v1/template/current", headers=headers)
        if response.status_code == 304:
            return None
        return TemplateFetch(response.headers.get("ETag", ""), _json_object(response))

    def submission(self, encounter_id: str) -> dict[str, Any] | None:
        """Return what the state holds for an encounter, or None when it holds nothing (404)."""
        path = "/v1/submissions/" + urllib.parse.quote(encounter_id, safe="")
        response = self._request("GET", path, allow=(404,))
        return None if response.status_code == 404 else _json_object(response)

    def _request(
        self, method: str, path: str, allow: tuple[int, ...] = (), **kwargs: Any
    ) -> requests.Response:
        try:
            response = self.session.request(method, self.base + path, timeout=self.timeout, **kwargs)
            response.content  # noqa: B018 - read the body now so a reset surfaces here
        except requests.RequestException as exc:
            raise NetworkFailure(f"{method} {path}: {type(exc).__name__}: {exc}") from None
        if response.status_code < 400 or response.status_code in allow:
            return response
        raise _failure(method, path, response)


def parse_results(body: dict[str, Any]) -> list[RecordResult]:
    """Return the per-record results of a submissions answer, refusing a malformed one."""
    results = body.get("results")
    if not isinstance(results, list):
        raise NetworkFailure("the state's answer has no results list")
    parsed = []
    for item in results:
        try:
            messages = item.get("messages") or []
            parsed.append(
                RecordResult(
                    str(item["encounter_id"]),
                    int(item["record_version"]),
                    str(item["status"]),
                    list(messages),
                )
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            continue  # cannot be matched to a row; that row is retried as "no result"
    return parsed


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Return the wait a Retry-After header asks for (seconds or an HTTP date), capped at an hour."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), MAX_RETRY_AFTER_S)
    try:
        when = email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return min(max(0.0, when - (time.time() if now is None else now)), MAX_RETRY_AFTER_S)


def _failure(method: str, path: str, response: requests.Response) -> SyncFailure:
    status = response.status_code
    text = f"{method} {path}: HTTP {status}: {_error_message(response)}"
    wait = retry_after_seconds(response.headers.get("Retry-After"))
    if status in (401, 403):
        return AuthRefused(text, status)
    if status == 413:
        return BatchTooLarge(text, status)
    if status == 429 or (status == 503 and wait is not None):
        return Throttled(text, status, wait)
    if status >= 500 or status == 408:
        return NetworkFailure(text, status, wait)
    if status in (400, 422):
        return BatchRefused(text, status)
    return EndpointRefused(text, status)


def _error_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason or ""
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])[:500]
    return response.text[:200]


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise NetworkFailure(f"the state's answer (HTTP {response.status_code}) is not JSON") from None
    if not isinstance(body, dict):
        raise NetworkFailure("the state's answer is not a JSON object")
    return body
