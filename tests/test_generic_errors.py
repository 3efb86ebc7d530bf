"""SPEC "Generic DRF errors": parse errors, media types, methods, routes, size limit, server faults."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from omnitron_mock import DEV_PASSWORD, DEV_TOKEN, DEV_USERNAME, Settings, create_app
from omnitron_mock.store.memory import MemoryStore
from werkzeug.test import TestResponse

from tests.helpers import ContractCheckedClient, get_state

PREFIXES = [pytest.param("/api/i1/", id="i1"), pytest.param("/api/v1/", id="v1")]
BULK = "order_items/bulk_status_update/"
VALID_BULK_BODY = {"orderitem_set": [{"id": 1, "status": "450"}]}
AUTH = {"Authorization": f"Token {DEV_TOKEN}"}
NOT_FOUND = {"detail": "Not found."}
ORDERITEM_SET_REQUIRED = {"orderitem_set": ["This field is required."]}
BULK_ALLOW = "PATCH, OPTIONS"
GET_ALLOW = "GET, HEAD, OPTIONS"


def assert_error(response: TestResponse, status: int, body: Any, allow: str | None = None) -> None:
    """Exact status, JSON content type and body; the Allow header when given."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    assert response.get_json() == body
    assert "WWW-Authenticate" not in response.headers
    if allow is not None:
        assert response.headers.get("Allow") == allow


def parse_error(detail: str) -> dict[str, str]:
    return {"detail": f"JSON parse error - {detail}"}


def item_status(state: dict[str, Any], item_id: int) -> str:
    return next(i["status"] for o in state["orders"] for i in o["items"] if i["id"] == item_id)


# --- malformed JSON -------------------------------------------------------------------------------

MALFORMED = [
    pytest.param("{", id="open-brace"),
    pytest.param('{"orderitem_set": [}', id="unclosed-list"),
    pytest.param('{"orderitem_set": [{"id": 1,}]}', id="trailing-comma"),
    pytest.param("{'orderitem_set': []}", id="single-quotes"),
    pytest.param("tru", id="truncated-literal"),
    pytest.param("{} {}", id="extra-data"),
    pytest.param('"unterminated', id="unterminated-string"),
    pytest.param(" ", id="whitespace-only"),
    pytest.param('{"orderitem_set": [{"id": 1, "status": "450"}]', id="missing-final-brace"),
]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_json(client: FlaskClient, state: Any, auth: dict[str, str], prefix: str, text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as decoding:
        json.loads(text)
    before = state()
    response = client.patch(prefix + BULK, data=text.encode(), content_type="application/json", headers=auth)
    assert_error(response, 400, parse_error(str(decoding.value)), BULK_ALLOW)
    assert state() == before


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"\xff", id="lone-ff"),
        pytest.param(b"\xc3", id="truncated-sequence"),
        pytest.param(b'{"orderitem_set": [{"id": 1, "tracking_number": "caf\xe9"}]}', id="latin1-in-string"),
    ],
)
def test_invalid_utf8_body(client: FlaskClient, state: Any, auth: dict[str, str], raw: bytes) -> None:
    with pytest.raises(UnicodeDecodeError) as decoding:
        raw.decode("utf-8")
    before = state()
    response = client.patch("/api/i1/" + BULK, data=raw, content_type="application/json", headers=auth)
    assert_error(response, 400, parse_error(str(decoding.value)), BULK_ALLOW)
    assert state() == before


@pytest.mark.parametrize(
    ("text", "constant"),
    [
        pytest.param("NaN", "NaN", id="NaN"),
        pytest.param("Infinity", "Infinity", id="Infinity"),
        pytest.param("-Infinity", "-Infinity", id="minus-Infinity"),
        pytest.param('{"orderitem_set": [{"id": NaN, "status": "450"}]}', "NaN", id="NaN-nested"),
    ],
)
def test_non_finite_literals(client: FlaskClient, state: Any, auth: dict[str, str], text: str, constant: str) -> None:
    before = state()
    response = client.patch("/api/i1/" + BULK, data=text.encode(), content_type="application/json", headers=auth)
    assert_error(
        response, 400, parse_error(f"Out of range float values are not JSON compliant: '{constant}'"), BULK_ALLOW
    )
    assert state() == before


def test_nan_literal_exact_message(client: FlaskClient, state: Any, auth: dict[str, str]) -> None:
    before = state()
    response = client.patch("/api/v1/" + BULK, data=b"NaN", content_type="application/json", headers=auth)
    expected = {"detail": "JSON parse error - Out of range float values are not JSON compliant: 'NaN'"}
    assert_error(response, 400, expected)
    assert state() == before


# --- content types --------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize(
    "content_type",
    [
        pytest.param("text/plain", id="text-plain"),
        pytest.param("text/plain; charset=utf-8", id="text-plain-with-charset"),
        pytest.param("application/xml", id="application-xml"),
        pytest.param("text/html; charset=ISO-8859-1", id="text-html-with-charset"),
    ],
)
def test_unsupported_media_type_echoes_the_header_whole(
    client: FlaskClient, state: Any, auth: dict[str, str], prefix: str, content_type: str
) -> None:
    before = state()
    response = client.patch(
        prefix + BULK, data=json.dumps(VALID_BULK_BODY).encode(), content_type=content_type, headers=auth
    )
    assert_error(response, 415, {"detail": f'Unsupported media type "{content_type}" in request.'}, BULK_ALLOW)
    assert state() == before


def test_text_plain_exact_message(client: FlaskClient, state: Any, auth: dict[str, str]) -> None:
    before = state()
    response = client.patch("/api/i1/" + BULK, data=b"{}", content_type="text/plain", headers=auth)
    assert_error(response, 415, {"detail": 'Unsupported media type "text/plain" in request.'})
    assert state() == before


def test_login_is_a_write_too(client: FlaskClient, state: Any) -> None:
    before = state()
    body = json.dumps({"username": DEV_USERNAME, "password": DEV_PASSWORD}).encode()
    response = client.post("/api/i1/auth/login/", data=body, content_type="text/plain")
    assert_error(response, 415, {"detail": 'Unsupported media type "text/plain" in request.'}, "POST, OPTIONS")
    assert state() == before


@pytest.mark.parametrize("prefix", PREFIXES)
def test_no_content_type_with_a_body(client: FlaskClient, state: Any, auth: dict[str, str], prefix: str) -> None:
    before = state()
    response = client.patch(prefix + BULK, data=json.dumps(VALID_BULK_BODY).encode(), headers=auth)
    assert "Content-Type" not in response.request.headers
    assert_error(response, 415, {"detail": 'Unsupported media type "" in request.'}, BULK_ALLOW)
    assert state() == before


@pytest.mark.parametrize(
    "content_type",
    [
        pytest.param("application/json", id="plain"),
        pytest.param("application/json; charset=utf-8", id="charset-utf-8"),
        pytest.param("application/json;charset=UTF-8", id="charset-upper-no-space"),
    ],
)
def test_json_content_types_are_accepted(
    client: FlaskClient, state: Any, auth: dict[str, str], content_type: str
) -> None:
    assert item_status(state(), 1) == "400"
    response = client.patch(
        "/api/i1/" + BULK, data=json.dumps(VALID_BULK_BODY).encode(), content_type=content_type, headers=auth
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [(i["id"], i["status"]) for i in response.get_json()] == [(1, "450")]
    assert item_status(state(), 1) == "450"


@pytest.mark.parametrize(
    "content_type",
    [
        pytest.param(None, id="no-content-type"),
        pytest.param("application/json", id="json"),
        pytest.param("text/plain", id="text-plain"),
        pytest.param("application/xml", id="xml"),
    ],
)
def test_empty_body_reads_as_empty_object(
    client: FlaskClient, state: Any, auth: dict[str, str], content_type: str | None
) -> None:
    before = state()
    response = client.patch("/api/i1/" + BULK, data=b"", content_type=content_type, headers=auth)
    assert_error(response, 400, ORDERITEM_SET_REQUIRED, BULK_ALLOW)
    assert state() == before


# --- methods ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_wrong_method_on_bulk(client: FlaskClient, state: Any, auth: dict[str, str], prefix: str, method: str) -> None:
    before = state()
    kwargs: dict[str, Any] = {} if method in ("GET", "DELETE") else {"json": VALID_BULK_BODY}
    response = client.open(prefix + BULK, method=method, headers=auth, **kwargs)
    assert_error(response, 405, {"detail": f'Method "{method}" not allowed.'}, BULK_ALLOW)
    assert state() == before


def test_wrong_method_exact_message(client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.get("/api/i1/" + BULK, headers=auth)
    assert_error(response, 405, {"detail": 'Method "GET" not allowed.'}, "PATCH, OPTIONS")


GET_ONLY_ROUTES = [
    pytest.param("active_user/", id="active_user"),
    pytest.param("order_items/", id="order_item_list"),
    pytest.param("orders/", id="order_list"),
]
# One item or order: read, and updated with PATCH.
DETAIL_ALLOW = "GET, PATCH, HEAD, OPTIONS"
DETAIL_ROUTES = [
    pytest.param("order_items/1/", id="order_item"),
    pytest.param("orders/1/", id="order"),
]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("route", GET_ONLY_ROUTES)
@pytest.mark.parametrize("method", ["PATCH", "POST", "PUT", "DELETE"])
def test_get_only_views_refuse_writes(
    client: FlaskClient, state: Any, auth: dict[str, str], prefix: str, route: str, method: str
) -> None:
    before = state()
    response = client.open(prefix + route, method=method, headers=auth, json=VALID_BULK_BODY)
    assert_error(response, 405, {"detail": f'Method "{method}" not allowed.'}, GET_ALLOW)
    assert state() == before


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("route", DETAIL_ROUTES)
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_detail_views_refuse_other_writes(
    client: FlaskClient, state: Any, auth: dict[str, str], prefix: str, route: str, method: str
) -> None:
    before = state()
    response = client.open(prefix + route, method=method, headers=auth, json={"is_send": True, "status": "500"})
    assert_error(response, 405, {"detail": f'Method "{method}" not allowed.'}, DETAIL_ALLOW)
    assert state() == before


@pytest.mark.parametrize("method", ["GET", "PATCH", "PUT", "DELETE"])
def test_create_mapping_takes_only_post(client: FlaskClient, state: Any, auth: dict[str, str], method: str) -> None:
    before = state()
    response = client.open("/api/i1/order_items/1/create_mapping/", method=method, headers=auth, json={"code": "E1"})
    assert_error(response, 405, {"detail": f'Method "{method}" not allowed.'}, "POST, OPTIONS")
    assert state() == before


@pytest.mark.parametrize("method", ["GET", "PATCH"])
def test_login_refuses_other_methods_without_a_token(client: FlaskClient, state: Any, method: str) -> None:
    before = state()
    response = client.open("/api/i1/auth/login/", method=method)
    assert_error(response, 405, {"detail": f'Method "{method}" not allowed.'}, "POST, OPTIONS")
    assert state() == before


@pytest.mark.parametrize(
    ("route", "allow"),
    [
        pytest.param(BULK, BULK_ALLOW, id="bulk"),
        *[pytest.param(p.values[0], GET_ALLOW, id=p.id) for p in GET_ONLY_ROUTES],
        *[pytest.param(p.values[0], DETAIL_ALLOW, id=p.id) for p in DETAIL_ROUTES],
        pytest.param("order_items/1/create_mapping/", "POST, OPTIONS", id="create_mapping"),
        pytest.param("auth/login/", "POST, OPTIONS", id="login"),
    ],
)
def test_options_returns_json_metadata(
    client: FlaskClient, state: Any, auth: dict[str, str], route: str, allow: str
) -> None:
    before = state()
    response = client.options("/api/i1/" + route, headers=auth)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Allow"] == allow
    body = response.get_json()
    assert isinstance(body, dict)
    assert {"name", "description", "renders", "parses"} <= set(body)
    assert "application/json" in body["renders"]
    assert state() == before


@pytest.mark.parametrize("prefix", PREFIXES)
def test_head_on_an_item(client: FlaskClient, auth: dict[str, str], prefix: str) -> None:
    get = client.get(prefix + "order_items/1/", headers=auth)
    head = client.head(prefix + "order_items/1/", headers=auth)
    assert head.status_code == 200
    assert head.get_data() == b""
    assert head.mimetype == "application/json"
    assert head.headers["Allow"] == DETAIL_ALLOW
    assert get.status_code == 200 and get.get_data() != b""


# --- routes and ids ---------------------------------------------------------------------------------

UNKNOWN_ROUTES = [
    pytest.param("nope/", id="nope"),
    pytest.param("nope", id="nope-no-slash"),
    pytest.param("", id="prefix-root"),
    pytest.param("orders/1/extra/", id="below-order"),
    pytest.param("order_items/1/create_mapping/x/", id="below-create-mapping"),
    pytest.param("auth/", id="auth"),
    pytest.param("order_items/1/extra/", id="below-item"),
    pytest.param("order_items/bulk_status_update/x/", id="below-bulk"),
]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("route", UNKNOWN_ROUTES)
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="anonymous"),
        pytest.param(AUTH, id="dev-token"),
        pytest.param({"Authorization": "Token nope"}, id="invalid-token"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "PATCH"])
def test_unknown_route_is_json_404(
    client: FlaskClient, state: Any, prefix: str, route: str, headers: dict[str, str], method: str
) -> None:
    before = state()
    response = client.open(prefix + route, method=method, headers=headers, json=VALID_BULK_BODY)
    assert_error(response, 404, NOT_FOUND)
    assert state() == before


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize(
    "route",
    [
        pytest.param("order_items/999999/", id="unknown-item"),
        pytest.param("order_items/0/", id="item-zero"),
        pytest.param("order_items/abc/", id="non-numeric-item"),
        pytest.param("order_items/-1/", id="negative-item"),
        pytest.param("order_items/1.0/", id="dotted-item"),
        pytest.param("orders/999999/", id="unknown-order"),
        pytest.param("orders/abc/", id="non-numeric-order"),
    ],
)
def test_unknown_id_is_404(client: FlaskClient, state: Any, auth: dict[str, str], prefix: str, route: str) -> None:
    before = state()
    response = client.get(prefix + route, headers=auth)
    assert_error(response, 404, NOT_FOUND, DETAIL_ALLOW)
    assert state() == before


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize(
    ("method", "path", "location"),
    [
        pytest.param("GET", "order_items/1", "order_items/1/", id="GET-item"),
        pytest.param("GET", "orders/1", "orders/1/", id="GET-order"),
        pytest.param("GET", "active_user", "active_user/", id="GET-active_user"),
        pytest.param("GET", "order_items?order=1", "order_items/?order=1", id="GET-list-keeps-query"),
        pytest.param("PATCH", "order_items/bulk_status_update", BULK, id="PATCH-bulk"),
    ],
)
def test_missing_trailing_slash_redirects(
    client: FlaskClient, state: Any, prefix: str, method: str, path: str, location: str
) -> None:
    before = state()
    response = client.open(prefix + path, method=method, headers=AUTH, json=VALID_BULK_BODY)
    assert response.status_code == 301
    assert response.headers["Location"].endswith(prefix + location)
    assert state() == before


# --- body size limit ------------------------------------------------------------------------------

LIMIT = 100


def padded_bulk_body(size: int) -> bytes:
    raw = json.dumps(VALID_BULK_BODY).encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


class TestBodySizeLimit:
    @pytest.fixture
    def settings(self) -> Settings:
        return Settings(max_body_bytes=LIMIT)

    @pytest.mark.parametrize("prefix", PREFIXES)
    @pytest.mark.parametrize(
        "headers",
        [
            pytest.param({}, id="anonymous"),
            pytest.param({"Authorization": "Token nope"}, id="invalid-token"),
            pytest.param(AUTH, id="dev-token"),
        ],
    )
    def test_over_the_limit_is_413_before_authentication(
        self, client: FlaskClient, state: Any, prefix: str, headers: dict[str, str]
    ) -> None:
        before = state()
        response = client.patch(
            prefix + BULK, data=padded_bulk_body(LIMIT + 1), content_type="application/json", headers=headers
        )
        assert_error(response, 413, {"detail": "Request body too large."})
        assert state() == before

    def test_over_the_limit_on_login(self, client: FlaskClient, state: Any) -> None:
        before = state()
        body = json.dumps({"username": DEV_USERNAME, "password": DEV_PASSWORD + "x" * LIMIT}).encode()
        response = client.post("/api/v1/auth/login/", data=body, content_type="application/json")
        assert_error(response, 413, {"detail": "Request body too large."})
        assert state() == before

    def test_exactly_at_the_limit_is_processed(self, client: FlaskClient, state: Any) -> None:
        assert item_status(state(), 1) == "400"
        response = client.patch(
            "/api/i1/" + BULK, data=padded_bulk_body(LIMIT), content_type="application/json", headers=AUTH
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        assert item_status(state(), 1) == "450"

    def test_exactly_at_the_limit_reaches_authentication(self, client: FlaskClient, state: Any) -> None:
        before = state()
        response = client.patch("/api/i1/" + BULK, data=padded_bulk_body(LIMIT), content_type="application/json")
        assert response.status_code == 401
        assert response.get_json() == {"detail": "Authentication credentials were not provided."}
        assert response.headers["WWW-Authenticate"] == "Token"
        assert state() == before

    def test_chunked_body_over_the_limit_over_real_http(self, live_server: Any, http: Any) -> None:
        """No Content-Length: the guard must count the bytes it reads."""

        def chunks() -> Iterator[bytes]:
            yield b'{"orderitem_set": [{"id": 1, "status": "450"}]'
            yield b" " * LIMIT
            yield b"}"

        before = http.get(f"{live_server.url}/_mock/state").json()
        response = http.patch(
            f"{live_server.url}/api/i1/{BULK}",
            data=chunks(),
            headers={**AUTH, "Content-Type": "application/json"},
        )
        assert response.request.headers.get("Transfer-Encoding") == "chunked"
        assert response.status_code == 413
        assert response.headers["Content-Type"] == "application/json"
        assert response.json() == {"detail": "Request body too large."}
        assert http.get(f"{live_server.url}/_mock/state").json() == before


# --- server faults ----------------------------------------------------------------------------------


class BrokenStore(MemoryStore):
    def get_item(self, item_id: int) -> Any:
        raise RuntimeError("boom /secret/path")


@pytest.fixture
def broken_client() -> FlaskClient:
    app = create_app(store=BrokenStore())
    app.test_client_class = ContractCheckedClient
    return app.test_client()


@pytest.mark.parametrize("prefix", PREFIXES)
def test_server_fault_is_a_generic_500(broken_client: FlaskClient, prefix: str) -> None:
    before = get_state(broken_client)
    response = broken_client.get(prefix + "order_items/1/", headers=AUTH)
    assert_error(response, 500, {"detail": "A server error occurred."})
    text = response.get_data(as_text=True)
    for leak in ("boom", "/secret/path", "Traceback", "RuntimeError"):
        assert leak not in text
    assert get_state(broken_client) == before


def test_broken_store_still_serves_other_routes(broken_client: FlaskClient) -> None:
    """The 500 comes from the fault, not from a broken app."""
    response = broken_client.get("/api/i1/orders/1/", headers=AUTH)
    assert response.status_code == 200
    assert response.get_json()["orderitem_set"] == [1, 2, 3]


# --- every 4xx under the prefixes is JSON, on the wire ----------------------------------------------

WIRE_CASES = [
    pytest.param("PATCH", BULK, {"data": b"{"}, {"Content-Type": "application/json"}, 400, id="400-parse"),
    pytest.param("PATCH", BULK, {"json": {}}, {}, 400, id="400-validation"),
    pytest.param("PATCH", BULK, {"json": VALID_BULK_BODY}, None, 401, id="401-anonymous"),
    pytest.param("GET", "nope/", {}, None, 404, id="404-unknown-route"),
    pytest.param("GET", "order_items/999999/", {}, {}, 404, id="404-unknown-item"),
    pytest.param("GET", BULK, {}, {}, 405, id="405-method"),
    pytest.param("PATCH", BULK, {"data": b"{}"}, {"Content-Type": "text/plain"}, 415, id="415-media-type"),
]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize(("method", "route", "kwargs", "headers", "status"), WIRE_CASES)
def test_every_4xx_is_json_on_the_wire(
    live_server: Any,
    http: Any,
    prefix: str,
    method: str,
    route: str,
    kwargs: dict[str, Any],
    headers: dict[str, str] | None,
    status: int,
) -> None:
    sent = {} if headers is None else {**AUTH, **headers}
    before = http.get(f"{live_server.url}/_mock/state").json()
    response = http.request(method, f"{live_server.url}{prefix}{route}", headers=sent, **kwargs)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    assert isinstance(response.json(), dict)
    assert http.get(f"{live_server.url}/_mock/state").json() == before
