"""The OpenAPI document's examples of the ERP loop's calls are what the
emulator does: each request example is accepted, and each error example is
the exact answer to the request beside it here. An example without a request
here fails the coverage test, so the document cannot drift from the server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from omnitron_mock import contracts

from tests.helpers import OPENAPI

SPEC = json.loads(OPENAPI.read_text())
PREFIX = "/api/i1"
NOT_JSON = b"not json"

# (path item, method, example name) -> (target, body or query string, strict mode).
ERROR_REQUESTS: dict[tuple[str, str, str], tuple[str, Any, bool]] = {
    ("/orders/", "get", "badStatus"): ("/orders/", "status=999", False),
    ("/orders/", "get", "badCancelStatus"): ("/orders/", "cancel_status=x", False),
    ("/orders/", "get", "badIds"): ("/orders/", "pk__in=1,two", False),
    ("/orders/", "get", "badDates"): ("/orders/", "modified_date__gte=yesterday&modified_date__lt=2021-13-01", False),
    ("/orders/{id}/", "patch", "notABoolean"): ("/orders/1/", {"is_send": "maybe"}, False),
    ("/orders/{id}/", "patch", "null"): ("/orders/1/", {"is_send": None}, False),
    ("/orders/{id}/", "patch", "notAnObject"): ("/orders/1/", [{"is_send": True}], False),
    ("/orders/{id}/", "patch", "parseError"): ("/orders/1/", NOT_JSON, False),
    ("/order_items/{id}/", "patch", "badStatus"): ("/order_items/1/", {"status": "999"}, False),
    ("/order_items/{id}/", "patch", "strictMode"): ("/order_items/1/", {"status": "400"}, True),
    ("/order_items/{id}/", "patch", "badCancelStatus"): ("/order_items/1/", {"cancel_status": "x"}, False),
    ("/order_items/{id}/", "patch", "notADictionary"): ("/order_items/1/", {"extra_field": []}, False),
    ("/order_items/{id}/", "patch", "notAnObject"): ("/order_items/1/", [{"status": "450"}], False),
    ("/order_items/{id}/", "patch", "parseError"): ("/order_items/1/", NOT_JSON, False),
    ("/order_items/{id}/create_mapping/", "post", "codeMissing"): ("/order_items/1/create_mapping/", {}, False),
    ("/order_items/{id}/create_mapping/", "post", "codeNull"): (
        "/order_items/1/create_mapping/",
        {"code": None},
        False,
    ),
    ("/order_items/{id}/create_mapping/", "post", "codeBlank"): ("/order_items/1/create_mapping/", {"code": ""}, False),
    ("/order_items/{id}/create_mapping/", "post", "codeNotAString"): (
        "/order_items/1/create_mapping/",
        {"code": ["E1"]},
        False,
    ),
    ("/order_items/{id}/create_mapping/", "post", "updateStockNotBoolean"): (
        "/order_items/1/create_mapping/",
        {"code": "E1", "update_stock": "maybe"},
        False,
    ),
    ("/order_items/{id}/create_mapping/", "post", "alreadyMapped"): (
        "/order_items/2/create_mapping/",
        {"code": "ANOTHER"},
        False,
    ),
    ("/order_items/{id}/create_mapping/", "post", "notAnObject"): ("/order_items/1/create_mapping/", [], False),
    ("/order_items/{id}/create_mapping/", "post", "parseError"): ("/order_items/1/create_mapping/", NOT_JSON, False),
}
# Where each operation's request examples are sent.
REQUEST_TARGETS = {
    ("/orders/{id}/", "patch"): "/orders/1/",
    ("/order_items/{id}/", "patch"): "/order_items/1/",
    ("/order_items/{id}/create_mapping/", "post"): "/order_items/1/create_mapping/",
}
OPERATIONS = [("/orders/", "get"), *REQUEST_TARGETS]


def _examples(node: dict[str, Any]) -> dict[str, Any]:
    return {name: example["value"] for name, example in node.get("examples", {}).items()}


def error_examples() -> dict[tuple[str, str, str], Any]:
    found = {}
    for path, method in OPERATIONS:
        content = SPEC["paths"][path][method]["responses"]["400"]["content"]["application/json"]
        for name, value in _examples(content).items():
            found[(path, method, name)] = value
    return found


def request_examples() -> list[tuple[str, str, str, Any]]:
    found = []
    for (path, method), _target in REQUEST_TARGETS.items():
        content = SPEC["paths"][path][method]["requestBody"]["content"]["application/json"]
        found += [(path, method, name, value) for name, value in _examples(content).items()]
    return found


def _send(client: FlaskClient, method: str, target: str, sent: Any, auth: dict[str, str]) -> Any:
    if method == "get":
        return client.get(f"{PREFIX}{target}?{sent}", headers=auth)
    if sent is NOT_JSON:
        return client.open(
            PREFIX + target, method=method.upper(), data=sent, headers=auth, content_type="application/json"
        )
    return client.open(PREFIX + target, method=method.upper(), json=sent, headers=auth)


def test_every_error_example_has_its_request_here() -> None:
    assert set(error_examples()) == set(ERROR_REQUESTS)


@pytest.mark.parametrize("key", sorted(ERROR_REQUESTS), ids=lambda key: f"{key[1]} {key[0]} {key[2]}")
def test_the_emulator_answers_each_error_example(
    client: FlaskClient, auth: dict[str, str], state: Any, key: tuple[str, str, str]
) -> None:
    _path, method, name = key
    target, sent, strict = ERROR_REQUESTS[key]
    if strict:
        shipped = {"orderitem_set": [{"id": 1, "status": "500", "tracking_number": "TR1"}]}
        assert client.patch(f"{PREFIX}/order_items/bulk_status_update/", json=shipped, headers=auth).status_code == 200
        assert client.put("/_mock/strict", json={"strict": True}).status_code == 200
    if name == "alreadyMapped":
        assert client.post(f"{PREFIX}{target}", json={"code": "FIRST"}, headers=auth).status_code == 201
    before = state()
    response = _send(client, method, target, sent, auth)
    assert (response.status_code, response.get_json()) == (400, error_examples()[key])
    assert state() == before


@pytest.mark.parametrize(
    ("path", "method", "name", "body"), request_examples(), ids=lambda value: value if isinstance(value, str) else ""
)
def test_the_emulator_accepts_each_request_example(
    client: FlaskClient, auth: dict[str, str], path: str, method: str, name: str, body: Any
) -> None:
    response = _send(client, method, REQUEST_TARGETS[(path, method)], body, auth)
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    success = str(response.status_code)
    schema_ref = SPEC["paths"][path][method]["responses"][success]["content"]["application/json"]["schema"]["$ref"]
    contract = schema_ref.rsplit("/", 1)[-1].removesuffix(".json")
    assert contracts.validate(contract, response.get_json()) == []
