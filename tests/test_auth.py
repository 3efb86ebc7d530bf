"""SPEC section 2: DRF TokenAuthentication and the login endpoint, string for string."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from omnitron_mock import DEV_PASSWORD, DEV_TOKEN, DEV_USERNAME, create_app
from werkzeug.test import TestResponse

from tests.helpers import ContractCheckedClient, get_state

PREFIXES = [pytest.param("/api/i1/", id="i1"), pytest.param("/api/v1/", id="v1")]
BULK = "order_items/bulk_status_update/"
ACTIVE_USER = "active_user/"
LOGIN = "auth/login/"
VALID_BULK_BODY = {"orderitem_set": [{"id": 1, "status": "450"}]}
ACTIVE_USER_KEYS = {"pk", "username", "email", "first_name", "last_name", "is_active"}

NOT_PROVIDED = {"detail": "Authentication credentials were not provided."}
INVALID_TOKEN = {"detail": "Invalid token."}
NO_CREDENTIALS = {"detail": "Invalid token header. No credentials provided."}
HAS_SPACES = {"detail": "Invalid token header. Token string should not contain spaces."}
INVALID_CHARACTERS = {"detail": "Invalid token header. Token string should not contain invalid characters."}
INACTIVE = {"detail": "User inactive or deleted."}
BAD_CREDENTIALS = {"non_field_errors": ["Unable to log in with provided credentials."]}
REQUIRED = ["This field is required."]
BLANK = ["This field may not be blank."]


def assert_error(response: TestResponse, status: int, body: Any) -> None:
    """Exact status and JSON body; ``WWW-Authenticate: Token`` on (and only on) a 401."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    assert response.get_json() == body
    if status == 401:
        assert response.headers.get("WWW-Authenticate") == "Token"
    else:
        assert "WWW-Authenticate" not in response.headers


def call(client: FlaskClient, prefix: str, endpoint: str, headers: dict[str, str]) -> TestResponse:
    """A request that succeeds with the dev token: the bulk update of item 1, or active_user."""
    if endpoint == "bulk":
        return client.patch(prefix + BULK, json=VALID_BULK_BODY, headers=headers)
    return client.get(prefix + ACTIVE_USER, headers=headers)


ENDPOINTS = [pytest.param("bulk", id="bulk_status_update"), pytest.param("active_user", id="active_user")]

# (Authorization header or None, expected 401 body), one row per line of SPEC section 2's table and more.
REJECTED_HEADERS = [
    pytest.param(None, NOT_PROVIDED, id="no-header"),
    pytest.param("", NOT_PROVIDED, id="empty-header"),
    pytest.param("Bearer x", NOT_PROVIDED, id="bearer-scheme"),
    pytest.param("Basic bW9jay11c2VyOm1vY2stcGFzc3dvcmQ=", NOT_PROVIDED, id="basic-scheme"),
    pytest.param(f"Token{DEV_TOKEN}", NOT_PROVIDED, id="keyword-glued-to-key"),
    pytest.param("Token " + "0" * 40, INVALID_TOKEN, id="unknown-key"),
    pytest.param(f"Token {DEV_TOKEN[:-1]}", INVALID_TOKEN, id="prefix-of-dev-key"),
    pytest.param(f"Token {DEV_TOKEN.upper()}", INVALID_TOKEN, id="dev-key-upper-cased"),
    pytest.param("Token caf\xc3\xa9", INVALID_TOKEN, id="utf8-non-ascii-key"),
    pytest.param("Token", NO_CREDENTIALS, id="token-alone"),
    pytest.param("Token ", NO_CREDENTIALS, id="token-trailing-space"),
    pytest.param("Token a b", HAS_SPACES, id="token-a-b"),
    pytest.param(f"Token {DEV_TOKEN} extra", HAS_SPACES, id="dev-key-plus-extra-word"),
    # WSGI hands headers over as latin-1 text: "\xe9" is the raw byte 0xE9, not UTF-8.
    pytest.param("Token caf\xe9", INVALID_CHARACTERS, id="non-utf8-byte-in-key"),
]

ACCEPTED_HEADERS = [
    pytest.param(f"Token {DEV_TOKEN}", id="Token"),
    pytest.param(f"token {DEV_TOKEN}", id="token-lower-case"),
    pytest.param(f"TOKEN {DEV_TOKEN}", id="TOKEN-upper-case"),
    pytest.param(f"tOkEn {DEV_TOKEN}", id="tOkEn-mixed-case"),
    pytest.param(f"Token  {DEV_TOKEN}", id="two-spaces"),
]


def dev_user_view(state: dict[str, Any]) -> dict[str, Any]:
    (user,) = [u for u in state["users"] if u["username"] == DEV_USERNAME]
    return {key: user[key] for key in ACTIVE_USER_KEYS}


# --- the token header -------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(("header", "expected"), REJECTED_HEADERS)
def test_rejected_authorization_header(
    client: FlaskClient, state: Any, prefix: str, endpoint: str, header: str | None, expected: dict[str, str]
) -> None:
    headers = {} if header is None else {"Authorization": header}
    before = state()
    response = call(client, prefix, endpoint, headers)
    assert_error(response, 401, expected)
    assert state() == before


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("header", ACCEPTED_HEADERS)
def test_accepted_header_applies_bulk_update(client: FlaskClient, state: Any, prefix: str, header: str) -> None:
    item_before = state()["orders"][0]["items"][0]
    assert (item_before["id"], item_before["status"]) == (1, "400")

    response = call(client, prefix, "bulk", {"Authorization": header})

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert [(item["id"], item["status"]) for item in body] == [(1, "450")]
    assert state()["orders"][0]["items"][0] == {**item_before, "status": "450"}


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("header", ACCEPTED_HEADERS)
def test_accepted_header_on_active_user(client: FlaskClient, state: Any, prefix: str, header: str) -> None:
    before = state()
    response = call(client, prefix, "active_user", {"Authorization": header})
    assert response.status_code == 200
    assert response.get_json() == dev_user_view(before)
    assert state() == before


@pytest.mark.parametrize("path", [pytest.param(BULK, id="bulk"), pytest.param(ACTIVE_USER, id="active_user")])
def test_non_utf8_key_over_real_http(live_server: Any, http: Any, path: str) -> None:
    """The raw byte 0xE9 on the wire, not a test-client approximation of it."""
    before = http.get(f"{live_server.url}/_mock/state").json()
    method = "PATCH" if path == BULK else "GET"
    response = http.request(
        method, f"{live_server.url}/api/i1/{path}", json=VALID_BULK_BODY, headers={"Authorization": b"Token caf\xe9"}
    )
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["WWW-Authenticate"] == "Token"
    assert response.json() == INVALID_CHARACTERS
    assert http.get(f"{live_server.url}/_mock/state").json() == before


# --- authentication runs before anything else but the size guard ---------------------------------------

ORDERING_CASES = [
    pytest.param("GET", BULK, {}, None, NOT_PROVIDED, id="anonymous-GET-bulk-not-405"),
    pytest.param("POST", BULK, {"json": VALID_BULK_BODY}, None, NOT_PROVIDED, id="anonymous-POST-bulk-not-405"),
    pytest.param("PUT", BULK, {"json": VALID_BULK_BODY}, None, NOT_PROVIDED, id="anonymous-PUT-bulk-not-405"),
    pytest.param("DELETE", BULK, {}, None, NOT_PROVIDED, id="anonymous-DELETE-bulk-not-405"),
    pytest.param("PATCH", ACTIVE_USER, {}, None, NOT_PROVIDED, id="anonymous-PATCH-active-user-not-405"),
    pytest.param("GET", BULK, {}, "Token nope", INVALID_TOKEN, id="bad-token-GET-bulk-not-405"),
    pytest.param(
        "PATCH", BULK, {"data": b"x", "content_type": "text/plain"}, None, NOT_PROVIDED, id="anonymous-not-415"
    ),
    pytest.param(
        "PATCH", BULK, {"data": b"x", "content_type": "text/plain"}, "Token a b", HAS_SPACES, id="bad-header-not-415"
    ),
    pytest.param(
        "PATCH", BULK, {"data": b"{", "content_type": "application/json"}, None, NOT_PROVIDED, id="anonymous-not-parse"
    ),
    pytest.param(
        "PATCH",
        BULK,
        {"data": b"NaN", "content_type": "application/json"},
        "Token nope",
        INVALID_TOKEN,
        id="bad-token-not-parse",
    ),
    pytest.param("PATCH", BULK, {"json": {}}, None, NOT_PROVIDED, id="anonymous-not-validation"),
    pytest.param("PATCH", BULK, {"json": [1]}, "Token", NO_CREDENTIALS, id="bad-header-not-validation"),
]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize(("method", "path", "kwargs", "header", "expected"), ORDERING_CASES)
def test_401_comes_before_405_415_and_body_errors(
    client: FlaskClient,
    state: Any,
    prefix: str,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    header: str | None,
    expected: dict[str, str],
) -> None:
    headers = {} if header is None else {"Authorization": header}
    before = state()
    response = client.open(prefix + path, method=method, headers=headers, **kwargs)
    assert_error(response, 401, expected)
    assert state() == before


# --- login ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
def test_login_returns_the_dev_key(client: FlaskClient, state: Any, prefix: str) -> None:
    before = state()
    response = client.post(prefix + LOGIN, json={"username": DEV_USERNAME, "password": DEV_PASSWORD})
    assert response.status_code == 200
    assert response.get_json() == {"key": DEV_TOKEN}
    assert state() == before


def test_login_twice_gives_the_same_key(client: FlaskClient) -> None:
    credentials = {"username": DEV_USERNAME, "password": DEV_PASSWORD}
    first = client.post("/api/i1/" + LOGIN, json=credentials)
    second = client.post("/api/v1/" + LOGIN, json=credentials)
    assert first.status_code == second.status_code == 200
    assert first.get_json() == second.get_json() == {"key": DEV_TOKEN}


def test_login_trims_the_username_like_drf(client: FlaskClient) -> None:
    response = client.post("/api/i1/" + LOGIN, json={"username": f"  {DEV_USERNAME} ", "password": DEV_PASSWORD})
    assert response.status_code == 200
    assert response.get_json() == {"key": DEV_TOKEN}


@pytest.mark.parametrize("prefix", PREFIXES)
def test_key_from_login_works_on_active_user(client: FlaskClient, state: Any, prefix: str) -> None:
    key = client.post(prefix + LOGIN, json={"username": DEV_USERNAME, "password": DEV_PASSWORD}).get_json()["key"]
    response = client.get(prefix + ACTIVE_USER, headers={"Authorization": f"Token {key}"})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == ACTIVE_USER_KEYS
    assert body == dev_user_view(state())
    assert body["username"] == DEV_USERNAME
    assert body["is_active"] is True


LOGIN_ERRORS = [
    pytest.param({"username": DEV_USERNAME, "password": "wrong"}, BAD_CREDENTIALS, id="wrong-password"),
    pytest.param({"username": "nobody", "password": DEV_PASSWORD}, BAD_CREDENTIALS, id="unknown-user"),
    pytest.param({"username": DEV_USERNAME.upper(), "password": DEV_PASSWORD}, BAD_CREDENTIALS, id="username-case"),
    pytest.param({"username": DEV_USERNAME, "password": DEV_PASSWORD + " "}, BAD_CREDENTIALS, id="password-untrimmed"),
    pytest.param({"password": DEV_PASSWORD}, {"username": REQUIRED}, id="missing-username"),
    pytest.param({"username": DEV_USERNAME}, {"password": REQUIRED}, id="missing-password"),
    pytest.param({}, {"username": REQUIRED, "password": REQUIRED}, id="missing-both"),
    pytest.param(None, {"username": REQUIRED, "password": REQUIRED}, id="empty-body"),
    pytest.param({"username": "", "password": DEV_PASSWORD}, {"username": BLANK}, id="blank-username"),
    pytest.param({"username": "   ", "password": DEV_PASSWORD}, {"username": BLANK}, id="whitespace-username"),
    pytest.param({"username": DEV_USERNAME, "password": ""}, {"password": BLANK}, id="blank-password"),
    pytest.param(
        {"username": None, "password": DEV_PASSWORD}, {"username": ["This field may not be null."]}, id="null-username"
    ),
    pytest.param(
        [DEV_USERNAME, DEV_PASSWORD],
        {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
        id="body-is-a-list",
    ),
    pytest.param(
        {"username": DEV_USERNAME, "password": "   "},
        BAD_CREDENTIALS,
        id="whitespace-password",
    ),
]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize(("body", "expected"), LOGIN_ERRORS)
def test_login_errors(client: FlaskClient, state: Any, prefix: str, body: Any, expected: dict[str, list[str]]) -> None:
    before = state()
    response = client.post(prefix + LOGIN) if body is None else client.post(prefix + LOGIN, json=body)
    assert_error(response, 400, expected)
    assert state() == before


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize(("header", "expected"), [p for p in REJECTED_HEADERS if p.values[1] != NOT_PROVIDED])
def test_login_rejects_an_invalid_authorization_header_even_with_good_credentials(
    client: FlaskClient, state: Any, prefix: str, header: str, expected: dict[str, str]
) -> None:
    before = state()
    response = client.post(
        prefix + LOGIN, json={"username": DEV_USERNAME, "password": DEV_PASSWORD}, headers={"Authorization": header}
    )
    assert_error(response, 401, expected)
    assert state() == before


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(f"Token {DEV_TOKEN}", id="valid-token"),
        pytest.param(f"token {DEV_TOKEN}", id="valid-token-lower-case-keyword"),
        pytest.param("Bearer x", id="other-scheme-is-anonymous"),
    ],
)
def test_login_with_an_acceptable_authorization_header(client: FlaskClient, header: str) -> None:
    response = client.post(
        "/api/i1/" + LOGIN, json={"username": DEV_USERNAME, "password": DEV_PASSWORD}, headers={"Authorization": header}
    )
    assert response.status_code == 200
    assert response.get_json() == {"key": DEV_TOKEN}


# --- an inactive user -----------------------------------------------------------------------------

INACTIVE_TOKEN = "t" * 40
ACTIVE_TOKEN = "a" * 40


@pytest.fixture
def seeded_client() -> FlaskClient:
    app = create_app(
        seed={
            "users": [
                {"username": "u", "password": "p", "token": INACTIVE_TOKEN, "is_active": False},
                {"username": "a", "password": "p2", "token": ACTIVE_TOKEN},
            ],
            "orders": [],
        }
    )
    app.test_client_class = ContractCheckedClient
    return app.test_client()


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_inactive_user_token_is_rejected(seeded_client: FlaskClient, prefix: str, endpoint: str) -> None:
    before = get_state(seeded_client)
    response = call(seeded_client, prefix, endpoint, {"Authorization": f"Token {INACTIVE_TOKEN}"})
    assert_error(response, 401, INACTIVE)
    assert get_state(seeded_client) == before


@pytest.mark.parametrize("prefix", PREFIXES)
def test_inactive_user_cannot_log_in(seeded_client: FlaskClient, prefix: str) -> None:
    before = get_state(seeded_client)
    response = seeded_client.post(prefix + LOGIN, json={"username": "u", "password": "p"})
    assert_error(response, 400, BAD_CREDENTIALS)
    assert get_state(seeded_client) == before


def test_active_user_of_the_same_seed_logs_in(seeded_client: FlaskClient) -> None:
    """The contrast that makes the inactive-user tests meaningful: the seed itself works."""
    response = seeded_client.post("/api/i1/" + LOGIN, json={"username": "a", "password": "p2"})
    assert response.status_code == 200
    assert response.get_json() == {"key": ACTIVE_TOKEN}
    me = seeded_client.get("/api/i1/" + ACTIVE_USER, headers={"Authorization": f"Token {ACTIVE_TOKEN}"})
    assert me.status_code == 200
    assert me.get_json()["username"] == "a"
    assert me.get_json()["is_active"] is True
    dev = seeded_client.get("/api/i1/" + ACTIVE_USER, headers={"Authorization": f"Token {DEV_TOKEN}"})
    assert_error(dev, 401, INVALID_TOKEN)
