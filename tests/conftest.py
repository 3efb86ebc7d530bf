"""Shared fixtures: an emulator app per test, a client whose every emulated
response is checked against its contract, and helpers to read the state."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

import contracts
from mockserver import DEV_TOKEN, Settings, create_app
from mockserver.serving import HTTPServer

PREFIXES = ("/api/i1/", "/api/v1/")
BULK_PATH = "/api/i1/order_items/bulk_status_update/"

# Which contract a 200 body follows, by route (independent of the server's own mapping).
_SUCCESS_CONTRACTS = (
    (re.compile(r"auth/login/"), "login-response"),
    (re.compile(r"active_user/"), "active-user"),
    (re.compile(r"order_items/bulk_status_update/"), "bulk-status-update-response"),
    (re.compile(r"order_items/[^/]+/"), "order-item"),
    (re.compile(r"order_items/"), "order-item-page"),
    (re.compile(r"orders/[^/]+/"), "order"),
)


def expected_contract(method: str, path: str, status: int, body: Any) -> str | None:
    """The contract an emulated response must match, or None when it has no body."""
    route = next((path[len(p) :] for p in PREFIXES if path.startswith(p)), None)
    if route is None or method == "HEAD" or status in (204, 301):
        return None
    if status >= 401 or (status == 400 and isinstance(body, dict) and "detail" in body):
        return "detail-error"
    if status == 400:
        return "bulk-status-update-error-response" if isinstance(body, list) else "field-errors"
    if method == "OPTIONS":
        return None
    return next(name for pattern, name in _SUCCESS_CONTRACTS if pattern.fullmatch(route))


def check_response_contract(method: str, path: str, status: int, text: str) -> None:
    route_is_emulated = path.startswith(PREFIXES)
    if not route_is_emulated:
        return
    if status >= 400 and method != "HEAD":
        assert text, f"{method} {path} -> {status} has an empty body"
    body = json.loads(text) if text else None
    contract = expected_contract(method, path, status, body)
    if contract is not None:
        errors = contracts.validate(contract, body)
        assert errors == [], f"{method} {path} -> {status} breaks {contract}: {errors}"


class ContractCheckedClient(FlaskClient):
    """A Flask test client that checks every emulated response against its contract."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        request = response.request
        check_response_contract(request.method, request.path, response.status_code, response.get_data(as_text=True))
        return response


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
def app(settings: Settings) -> Any:
    application = create_app(settings)
    application.test_client_class = ContractCheckedClient
    return application


@pytest.fixture
def client(app: Any) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Token {DEV_TOKEN}"}


def get_state(client: FlaskClient) -> dict[str, Any]:
    """The emulator's users, orders and items, through the control API."""
    response = client.get("/_mock/state")
    assert response.status_code == 200
    return response.get_json()


@pytest.fixture
def state(client: FlaskClient) -> Any:
    """Call ``state()`` for the current state snapshot."""
    return lambda: get_state(client)


@pytest.fixture
def live_server(app: Any) -> Iterator[HTTPServer]:
    """The same app served over real HTTP on a free loopback port."""
    with HTTPServer(app, host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture
def http() -> Iterator[Any]:
    """A ``requests`` session whose every emulated response is contract-checked."""

    def check(response: Any, *args: Any, **kwargs: Any) -> None:
        path = urlsplit(response.request.url).path
        check_response_contract(response.request.method, path, response.status_code, response.text)

    with requests.Session() as session:
        session.hooks["response"].append(check)
        yield session
