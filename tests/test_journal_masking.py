"""One masking rule for every journal path: no secret reaches the journal or
the inspector, whatever shape the client sent it in."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, urlencode

import pytest
from flask.testing import FlaskClient
from omnitron_mock import DEV_TOKEN
from omnitron_mock.hooks import ConnectionDropped

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
    # The token first and the scheme after it: no scheme starts the value, so it is all secret.
    "secret-then-scheme": f"{DEV_TOKEN} Token",
    "secret-then-bearer": f"{DEV_TOKEN}\tBearer",
    # Duplicated headers arrive joined by commas.
    "comma-joined": f"Token {DEV_TOKEN}, Token {DEV_TOKEN}",
    "comma-joined-tight": f"Token {DEV_TOKEN},Token {DEV_TOKEN}",
    "scheme-less-then-token": f"{DEV_TOKEN}, Token {DEV_TOKEN}",
    "scheme-less-glued-comma": f"{DEV_TOKEN},{DEV_TOKEN}",
    "basic-then-token": f"Basic {base64.b64encode(DEV_TOKEN.encode()).decode()}, Token {DEV_TOKEN}",
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


BASIC_PASSWORD = "basic-gizli-parola-2026"
BASIC = base64.b64encode(f"mock-user:{BASIC_PASSWORD}".encode()).decode()
DIGEST_RESPONSE = "6629fae49393a05397450978507c4ef1"
DIGEST = (
    'Digest username="mock-user", realm="omnitron", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",'
    f' uri="/api/i1/active_user/", qop=auth, nc=00000001, cnonce="0a4f113b", response="{DIGEST_RESPONSE}"'
)
TOKEN_SHOWN = f"{DEV_TOKEN[:4]}…{DEV_TOKEN[-4:]}"

# Every shape goes through the one rule; what the journal shows for each.
AUTHORIZATION_SHOWN = {
    "token": (f"Token {DEV_TOKEN}", f"Token {TOKEN_SHOWN}"),
    "comma-joined-tokens": (f"Token {DEV_TOKEN}, Token {'e' * 40}", f"Token {TOKEN_SHOWN}, Token eeee…eeee"),
    "comma-joined-tight": (f"Token {DEV_TOKEN},Bearer {DEV_TOKEN}", f"Token {TOKEN_SHOWN}, Bearer {TOKEN_SHOWN}"),
    "comma-joined-short": ("Token a, Token b", "Token ****, Token ****"),
    "secret-then-scheme": (f"{DEV_TOKEN} Token", f"{DEV_TOKEN[:4]}…oken"),
    "scheme-less-then-token": (f"{DEV_TOKEN}, Token {DEV_TOKEN}", f"{TOKEN_SHOWN}, Token {TOKEN_SHOWN}"),
    "short-secret-then-scheme": ("secret Token", "****"),
    "basic": (f"Basic {BASIC}", "Basic ********"),
    "basic-lower-case-tab": (f"basic\t{BASIC}", "basic ********"),
    "basic-twice": (f"Basic {BASIC}, Basic {BASIC}", "Basic ********, Basic ********"),
    "digest": (DIGEST, "Digest ********"),
    "digest-then-token": (f"{DIGEST}, Token {DEV_TOKEN}", f"Digest ********, Token {TOKEN_SHOWN}"),
    "token-then-digest": (f"Token {DEV_TOKEN}, {DIGEST}", f"Token {TOKEN_SHOWN}, Digest ********"),
    "negotiate": ("Negotiate YIIGhgYJKoZIhvcSAQICAQBuggZ1MIIGcaADAgEF", "Negotiate ********"),
    "token-keyword-only": ("Token", "Token"),
    "basic-keyword-only": ("Basic", "Basic"),
}


@pytest.mark.parametrize("shape", AUTHORIZATION_SHOWN)
@pytest.mark.parametrize("header", ["Authorization", "Proxy-Authorization"])
@pytest.mark.parametrize("fault", [None, "status=503"])
def test_every_authorization_shape_goes_through_the_one_rule(
    client: FlaskClient, shape: str, header: str, fault: str | None
) -> None:
    value, shown = AUTHORIZATION_SHOWN[shape]
    headers = {header: value}
    if fault:
        headers["X-Mock-Fault"] = fault
    client.get("/api/i1/active_user/", headers=headers)
    [entry] = client.get("/_mock/requests").get_json()["requests"]
    assert entry["headers"][header] == shown
    text = journal_text(client)
    for secret in (DEV_TOKEN, BASIC, BASIC_PASSWORD, DIGEST_RESPONSE, "dcd98b7102dd2f0e8b11d0f600bfb0c093"):
        # Nothing of a credential shows but the four characters at each end of a token.
        for start in range(len(secret) - 7):
            assert secret[start : start + 8] not in text


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
    # curl -d '{...}' sends JSON with a form content type.
    "json-sent-as-form": (
        json.dumps({"username": "turkish", "password": PASSWORD}).encode(),
        "application/x-www-form-urlencoded",
        "gizli",
    ),
    "json-sent-as-form-utf8": (
        json.dumps({"username": "turkish", "password": PASSWORD}, ensure_ascii=False).encode(),
        "application/x-www-form-urlencoded",
        "gizli",
    ),
    "json-with-form-signs-sent-as-form": (
        json.dumps({"note": "a=b&c=d;e=f", "username": "turkish", "password": PASSWORD}).encode(),
        "application/x-www-form-urlencoded",
        "gizli",
    ),
    "json-password-with-equals-sent-as-form": (
        json.dumps({"username": "turkish", "password": "x=" + PASSWORD}).encode(),
        "application/x-www-form-urlencoded",
        "gizli",
    ),
    "nested-password-sent-as-form": (
        json.dumps({"user": {"username": "turkish", "password": PASSWORD}}).encode(),
        "application/x-www-form-urlencoded",
        "gizli",
    ),
    "semicolon-form": (
        f"username=turkish;password={quote(PASSWORD)}".encode(),
        "application/x-www-form-urlencoded",
        "gizli",
    ),
    "semicolon-form-raw-utf8": (
        f"username=turkish;password={PASSWORD}".encode(),
        "application/x-www-form-urlencoded; charset=utf-8",
        "gizli",
    ),
    "encoded-form-key": (
        f"username=turkish&pass%77ord={quote(PASSWORD)}".encode(),
        "application/x-www-form-urlencoded",
        "gizli",
    ),
    "form-password-with-unencoded-ampersand": (
        f"username=turkish&password=x&{PASSWORD}".encode(),
        "application/x-www-form-urlencoded",
        "gizli",
    ),
    "form-without-pairs": (f"turkish {PASSWORD}".encode(), "application/x-www-form-urlencoded", "gizli"),
    "form-naming-password-oddly": (
        f"username=turkish&{PASSWORD} password".encode(),
        "application/x-www-form-urlencoded",
        "gizli",
    ),
}


@pytest.mark.parametrize("name", LOGIN_BODIES)
@pytest.mark.parametrize(
    "path", [LOGIN, "/api/v1/auth/login/", "/api/i1/auth/login", "/api/i1//auth/login/", "/api/i1/auth///login/"]
)
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


@pytest.mark.parametrize(
    "path",
    [
        "/api/i1/auth////login/",
        "/api/i1///AUTH/////login",
        "/api/v1/auth//////login///",
        "/api/i1/auth/./login/",
        "/api/i1/auth/x/../login/",
        "/api/i1/./auth/.//login",
    ],
)
@pytest.mark.parametrize("name", ["numeric-password", "form-encoded", "json-sent-as-form", "malformed"])
@pytest.mark.parametrize("fault", ["status=503", "drop"])
def test_any_run_of_slashes_in_a_login_path_is_a_login(users: FlaskClient, name: str, path: str, fault: str) -> None:
    """The fault layer answers before routing, so the path is as the client spelt it."""
    body, content_type, secret = LOGIN_BODIES[name]
    try:
        users.post(path, data=body, headers={"Content-Type": content_type, "X-Mock-Fault": fault})
    except ConnectionDropped:
        assert fault == "drop"
    [entry] = users.get("/_mock/requests").get_json()["requests"]
    assert entry["path"] == path
    assert secret not in journal_text(users)


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        ("username=turkish;password=abc", "username=turkish;password=********"),
        ("username=turkish&password=abc&remember=1", "username=turkish&password=********&remember=1"),
        ("username=turkish", "username=turkish"),
    ],
)
def test_a_form_login_keeps_all_but_its_password(users: FlaskClient, body: str, shown: str) -> None:
    users.post(LOGIN, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    [entry] = users.get("/_mock/requests").get_json()["requests"]
    assert entry["body"] == shown


def test_a_json_login_sent_as_a_form_is_kept_as_masked_json(users: FlaskClient) -> None:
    body = json.dumps({"username": "turkish", "password": PASSWORD})
    users.post(LOGIN, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    [entry] = users.get("/_mock/requests").get_json()["requests"]
    assert entry["body"] == {"username": "turkish", "password": "********"}


QUERIES = {
    "plain": ("password=gizli-sorgu&limit=5", "password=********&limit=5"),
    "second": ("limit=5&password=gizli-sorgu", "limit=5&password=********"),
    "semicolon": ("limit=5;password=gizli-sorgu", "limit=5;password=********"),
    "encoded-key": ("pass%77ord=gizli-sorgu", "pass%77ord=********"),
    "upper-case-key": ("PASSWORD=gizli-sorgu", "PASSWORD=********"),
    "longer-key": ("new_password=gizli-sorgu&a=", "new_password=********&a="),
    "repeated": ("password=gizli-sorgu&password=gizli-sorgu", "password=********&password=********"),
    "no-password": ("limit=5&offset=10", "limit=5&offset=10"),
}


@pytest.mark.parametrize("name", QUERIES)
@pytest.mark.parametrize("path", ["/api/i1/order_items/", LOGIN, "/api/i1/auth///login/", "/api/i1/nowhere/"])
@pytest.mark.parametrize("fault", [None, "status=503"])
def test_passwords_in_query_strings_are_masked(
    users: FlaskClient, name: str, path: str, fault: str | None, auth: dict[str, str]
) -> None:
    query, shown = QUERIES[name]
    headers = dict(auth)
    if fault:
        headers["X-Mock-Fault"] = fault
    users.open(f"{path}?{query}", method="POST" if "login" in path else "GET", headers=headers)
    [entry] = users.get("/_mock/requests").get_json()["requests"]
    assert entry["query"] == shown
    assert "gizli-sorgu" not in journal_text(users)


def test_a_password_in_a_referer_or_an_encoded_path_is_masked(client: FlaskClient) -> None:
    referer = "http://127.0.0.1:8000/login?user=a&password=gizli-sorgu"
    client.get("/api/i1/active_user/%3Fpassword=gizli-sorgu", headers={"Referer": referer})
    [entry] = client.get("/_mock/requests").get_json()["requests"]
    assert entry["headers"]["Referer"] == "http://127.0.0.1:8000/login?user=a&password=********"
    assert entry["path"] == "/api/i1/active_user/?password=********"
    assert "gizli-sorgu" not in journal_text(client)
