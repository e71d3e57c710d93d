"""Every route answers each persona as app.roles.ROLE_MATRIX declares (GET requests).

An endpoint missing from the matrix fails here: a new view must declare who may use it.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import IntegerConverter, Rule

from app.roles import ANONYMOUS, ROLE_MATRIX
from tests.conftest import AuthActions

PERSONAS = {ANONYMOUS: None, "responder": "responder", "supervisor": "supervisor", "admin": "admin"}
ARGUMENT_VALUES = {"filename": "css/app.css", "username": "rita"}


def url_for_rule(rule: Rule) -> str:
    """Return a concrete URL for a rule, filling its arguments with harmless values."""
    converters = rule._converters  # the argument types (int ids, uuids, paths)
    values = {
        name: 1
        if isinstance(converters.get(name), IntegerConverter)
        else ARGUMENT_VALUES.get(name, str(uuid.uuid4()))
        for name in rule.arguments
    }
    built = rule.build(values, append_unknown=False)
    assert built is not None
    return built[1]


def expected_refusal(persona: str, url: str) -> int:
    """Return the status a refused persona gets: anonymous 401 (API) or 302 (pages), others 403."""
    if persona != ANONYMOUS:
        return 403
    return 401 if url.startswith("/api/") else 302


@pytest.fixture
def clients(app: Flask) -> dict[str, Any]:
    result = {}
    for persona, name in PERSONAS.items():
        client = app.test_client()
        if name:
            assert AuthActions(client).login(name).status_code == 302
        result[persona] = client
    return result


def test_every_endpoint_is_declared_in_the_role_matrix(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - set(ROLE_MATRIX) == set(), "declare these endpoints in app/roles.py ROLE_MATRIX"
    assert set(ROLE_MATRIX) - endpoints == set(), "ROLE_MATRIX names endpoints that no longer exist"


def test_every_route_answers_each_persona_as_declared(app: Flask, clients: dict[str, Any]) -> None:
    problems = []
    served_by_get = {r.rule for r in app.url_map.iter_rules() if "GET" in (r.methods or set())}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in (rule.methods or set()) and rule.rule in served_by_get:
            continue  # the same address answers GET through another endpoint, checked there
        url = url_for_rule(rule)
        for persona, client in clients.items():
            with client.get(url) as response:
                status = response.status_code
            if "GET" not in (rule.methods or set()):
                ok = status == 405
            elif persona in ROLE_MATRIX[rule.endpoint]:
                ok = status in (200, 302) or (status == 404 and bool(rule.arguments))
            else:
                ok = status == expected_refusal(persona, url)
            if not ok:
                problems.append(f"{persona} GET {url} ({rule.endpoint}) -> {status}")
    assert problems == []
