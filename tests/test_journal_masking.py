"""One masking rule for every journal path: no secret reaches the journal or
the inspector, whatever shape the client sent it in."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient

from mockserver import DEV_TOKEN
from mockserver.fault_middleware import ConnectionDropped

LOGIN = "/api/i1/auth/login/"
NUMERIC_PASSWORD = 73910462585
PASSWORD = "Çok-gizli-parola-2026"
USER_SEED = {
    "users": [
        {"username": "numeric", "password": str(NUMERIC_PASSWORD), "token": "b" * 40},
        {"username": "turkish", "password": PASSWORD, "token": "c" * 40},
    ]
}


def journal_text(client: FlaskClient) -> str:
    journal = client.get("/_mock/requests")
    assert journal.status_code == 200
    page = client.get("/_mock/")
    assert page.status_code == 200
    return journal.get_data(as_text=True) + page.get_data(as_text=True)


@pytest.fixture
def users(client: FlaskClient) -> FlaskClient:
    assert client.post("/_mock/seed", json=USER_SEED).status_code == 200
    client.delete("/_mock/requests")
    return client


AUTHORIZATION_SHAPES = {
    "token-space": f"Token {DEV_TOKEN}",
    "token-tab": f"Token\t{DEV_TOKEN}",
    "token-many-spaces": f"Token    {DEV_TOKEN}",
    "lower-case": f"token {DEV_TOKEN}",
    "scheme-less": DEV_TOKEN,
    "glued": f"Token{DEV_TOKEN}",
    "bearer": f"Bearer {DEV_TOKEN}",
    "two-tokens": f"Token {DEV_TOKEN} {DEV_TOKEN}",
}


@pytest.mark.parametrize("shape", AUTHORIZATION_SHAPES)
@pytest.mark.parametrize("header", ["Authorization", "Proxy-Authorization"])
@pytest.mark.parametrize("fault", [None, "status=503"])
def test_credentials_in_every_header_shape_are_masked(
    client: FlaskClient, header: str, shape: str, fault: str | None
) -> None:
    headers = {header: AUTHORIZATION_SHAPES[shape]}
    if fault:
        headers["X-Mock-Fault"] = fault
    client.get("/api/i1/active_user/", headers=headers)
    text = journal_text(client)
    assert DEV_TOKEN not in text
    assert DEV_TOKEN[:20] not in text and DEV_TOKEN[-20:] not in text


def test_a_tab_separated_token_authenticates_and_is_stored_masked(client: FlaskClient) -> None:
    response = client.get("/api/i1/active_user/", headers={"Authorization": f"Token\t{DEV_TOKEN}"})
    assert response.status_code == 200
    [entry] = client.get("/_mock/requests").get_json()["requests"]
    assert entry["headers"]["Authorization"] == f"Token {DEV_TOKEN[:4]}…{DEV_TOKEN[-4:]}"


LOGIN_BODIES: dict[str, tuple[bytes, str, str]] = {
    # name: (body, content type, the secret that must not show)
    "numeric-password": (
        json.dumps({"username": "numeric", "password": NUMERIC_PASSWORD}).encode(),
        "application/json",
        str(NUMERIC_PASSWORD),
    ),
    "latin-1-charset": (
        json.dumps({"username": "turkish", "password": PASSWORD}, ensure_ascii=False).encode("latin-1", "replace"),
        "application/json; charset=latin-1",
        "gizli-parola",
    ),
    "utf-16": (
        json.dumps({"username": "turkish", "password": PASSWORD}).encode("utf-16"),
        "application/json",
        "gizli",
    ),
    "malformed": (b'{"username": "turkish", "password": "' + PASSWORD.encode() + b'"', "application/json", "gizli"),
    "form-encoded": (
        urlencode({"username": "turkish", "password": PASSWORD}).encode(),
        "application/x-www-form-urlencoded",
        "gizli",
    ),
    "list-password": (
        json.dumps({"username": "turkish", "password": [PASSWORD]}).encode(),
        "application/json",
        "gizli",
    ),
    "object-password": (
        json.dumps({"username": "turkish", "password": {"value": PASSWORD}}).encode(),
        "application/json",
        "gizli",
    ),
    "top-level-list": (json.dumps([{"password": PASSWORD}]).encode(), "application/json", "gizli"),
    "text-plain": (PASSWORD.encode(), "text/plain", "gizli"),
    "nan-beside-password": (
        b'{"username": NaN, "password": "' + PASSWORD.encode() + b'"}',
        "application/json",
        "gizli",
    ),
    "deep-nesting-beside-password": (
        b'{"password": "' + PASSWORD.encode() + b'", "x": ' + b"[" * 3000 + b"]" * 3000 + b"}",
        "application/json",
        "gizli",
    ),
}


@pytest.mark.parametrize("name", LOGIN_BODIES)
@pytest.mark.parametrize("path", [LOGIN, "/api/v1/auth/login/", "/api/i1/auth/login", "/api/i1//auth/login/"])
@pytest.mark.parametrize("fault", [None, "status=503", "drop"])
def test_passwords_in_every_login_shape_are_masked(users: FlaskClient, name: str, path: str, fault: str | None) -> None:
    body, content_type, secret = LOGIN_BODIES[name]
    headers = {"Content-Type": content_type}
    if fault:
        headers["X-Mock-Fault"] = fault
    try:
        users.post(path, data=body, headers=headers)
    except ConnectionDropped:
        assert fault == "drop"
    text = journal_text(users)
    assert '"count":1' in text.replace(" ", "")
    assert secret not in text


def test_a_login_keeps_its_username_and_masks_password_and_key(users: FlaskClient) -> None:
    response = users.post(LOGIN, json={"username": "numeric", "password": NUMERIC_PASSWORD})
    assert (response.status_code, response.get_json()) == (200, {"key": "b" * 40})
    [entry] = users.get("/_mock/requests").get_json()["requests"]
    assert entry["body"] == {"username": "numeric", "password": "********"}
    assert entry["response"] == {"key": "bbbb…bbbb"}


@pytest.mark.parametrize(
    ("header", "value", "shown"),
    [
        ("X-Mock-Admin-Token", "admin-token-value-1", "admi…ue-1"),
        ("X-Mock-Admin-Token", "short", "****"),
    ],
)
def test_other_secret_headers_are_masked(client: FlaskClient, header: str, value: str, shown: str) -> None:
    client.get("/api/i1/orders/1/", headers={header: value})
    [entry] = client.get("/_mock/requests").get_json()["requests"]
    assert entry["headers"][header] == shown
