"""Bodies, good and bad, to hold each rendering of the contracts to the sources' verdicts.

Drawn from the documented examples (tests/data/documented-*.json and the
OpenAPI document's examples), the bad-input catalogue's bodies and answers,
the emulator's own answers, and variants of each object in them: a field
removed, a field of the wrong type, a field no contract names.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from functools import cache
from typing import Any

from omnitron_mock import DEV_PASSWORD, DEV_TOKEN, DEV_USERNAME, create_app
from omnitron_mock.seed import generate_seed_document

from tests.helpers import OPENAPI, PREFIXES, documented, expected_contract
from tests.test_bad_input_catalogue import CASES

VARIED_PER_CONTRACT = 6
AUTH = {"Authorization": f"Token {DEV_TOKEN}"}
# Calls whose answers (and bodies) join the corpus: (method, path, body).
CALLS: list[tuple[str, str, Any]] = [
    ("POST", "/api/i1/auth/login/", {"username": DEV_USERNAME, "password": DEV_PASSWORD}),
    ("GET", "/api/i1/active_user/", None),
    ("GET", "/api/i1/order_items/1/", None),
    ("GET", "/api/i1/order_items/?order=1", None),
    ("GET", "/api/i1/orders/", None),
    ("GET", "/api/i1/orders/1/", None),
    ("PATCH", "/api/i1/orders/1/", {"is_send": True}),
    ("PATCH", "/api/i1/order_items/1/", {"status": "450", "extra_field": {"erp_line_id": "L-1"}}),
    ("POST", "/api/i1/order_items/1/create_mapping/", {"code": "ERP-1"}),
    ("PATCH", "/api/i1/order_items/bulk_status_update/", documented("request")),
    ("PATCH", "/api/i1/order_items/bulk_status_update/", {"orderitem_set": [{"id": 1, "status": "500"}]}),
]
# The mock-only contracts, which the OpenAPI document does not carry.
FAULTS: list[Any] = [
    {"kind": "latency", "delay_ms": [10, 20]},
    {"kind": "latency", "delay_ms": 5},
    {"kind": "latency"},
    {"kind": "latency", "delay_ms": [10, 20, 30]},
    {"kind": "latency", "delay_ms": [10, "20"]},
    {"kind": "flaky", "rate": 0.5, "statuses": [503]},
    {"kind": "flaky", "rate": 0},
    {"kind": "status", "status": 503, "times": 1, "path": "*/bulk_status_update/"},
    {"kind": "teleport"},
]
# Free-form objects take any keys, at any depth.
FREE_FORM = [
    (
        "order-item-update-request",
        {"extra_field": {"any": {"depth": [1]}}, "attributes": {"gift_note": "x"}, "attributes_kwargs": {"k": None}},
    ),
    ("order-item", {**documented("response")[0], "extra_field": {"tracking_no": "kept"}}),
]


def corpus() -> list[tuple[str, Any]]:
    """(contract name, body) pairs, each once."""
    return list(_corpus())


@cache
def _corpus() -> tuple[tuple[str, Any], ...]:
    found: dict[tuple[str, str], Any] = {}
    varied: Counter[str] = Counter()
    for name, body in _originals():
        key = (name, json.dumps(body, sort_keys=True))
        if key in found:
            continue
        found[key] = body
        # Variants of the first few bodies of each contract: enough to reach every
        # part of its schema, few enough to keep the checks quick.
        varied[name] += 1
        if varied[name] <= VARIED_PER_CONTRACT:
            for variant in _variants(body):
                found.setdefault((name, json.dumps(variant, sort_keys=True)), variant)
    return tuple((name, body) for (name, _), body in found.items())


def _originals() -> Iterator[tuple[str, Any]]:
    yield "bulk-status-update-request", documented("request")
    yield "bulk-status-update-response", documented("response")
    yield "bulk-status-update-error-response", documented("bad-response")
    yield from _openapi_examples()
    yield from _catalogue()
    yield from _answers()
    yield from (("fault", fault) for fault in FAULTS)
    yield "seed", generate_seed_document(2, 2)
    yield from FREE_FORM


def _openapi_examples() -> Iterator[tuple[str, Any]]:
    document = json.loads(OPENAPI.read_text("utf-8"))

    def media(content: dict[str, Any]) -> Iterator[tuple[str, Any]]:
        for entry in content.values():
            schema = entry["schema"]
            names = [_stem(branch["$ref"]) for branch in schema.get("oneOf", [schema]) if "$ref" in branch]
            values = [entry["example"]] if "example" in entry else []
            values += [example["value"] for example in entry.get("examples", {}).values()]
            yield from ((name, value) for name in names for value in values)

    for item in document["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            yield from media(operation.get("requestBody", {}).get("content", {}))
            for response in operation.get("responses", {}).values():
                yield from media(response.get("content", {}))
    for response in document["components"]["responses"].values():
        yield from media(response.get("content", {}))


def _stem(ref: str) -> str:
    return ref.rsplit("/", 1)[-1].removesuffix(".json")


@cache
def _request_routes() -> list[tuple[re.Pattern[str], str, str]]:
    document = json.loads(OPENAPI.read_text("utf-8"))
    routes = []
    for template, item in document["paths"].items():
        pattern = re.compile(re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template)))
        for method, operation in item.items():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if body:
                routes.append((pattern, method.upper(), _stem(body["content"]["application/json"]["schema"]["$ref"])))
    return routes


def request_contract(method: str, path: str) -> str | None:
    """The request contract the OpenAPI document names for a call, if any."""
    route = next((path[len(p) - 1 :] for p in PREFIXES if path.startswith(p)), path).split("?")[0]
    return next((name for pattern, m, name in _request_routes() if m == method and pattern.fullmatch(route)), None)


def _catalogue() -> Iterator[tuple[str, Any]]:
    for case in CASES:
        name = request_contract(case.method, case.path)
        try:
            body = json.loads(case.body, parse_constant=_refuse)
        except (ValueError, RecursionError):
            body = None  # not JSON: no contract judges it
        if name is not None and body is not None:
            yield name, body
        answer = expected_contract(case.method, case.path.split("?")[0], case.status, case.expected)
        if answer is not None:
            yield answer, case.expected


def _refuse(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _answers() -> Iterator[tuple[str, Any]]:
    client = create_app().test_client()
    for method, path, body in CALLS:
        response = client.open(path, method=method, json=body, headers=AUTH)
        answer = response.get_json()
        name = expected_contract(method, path.split("?")[0], response.status_code, answer)
        assert name is not None, f"{method} {path}: {response.status_code}"
        yield name, answer
        if body is not None:
            yield str(request_contract(method, path)), body


def _variants(body: Any, depth: int = 0) -> Iterator[Any]:
    """The body with one change in one of its objects: a field dropped, made a list,
    made null, or one added that no contract names."""
    if depth > 3:
        return
    if isinstance(body, dict) and body:
        first = next(iter(body))
        yield {key: value for key, value in body.items() if key != first}
        yield {**body, first: [True]}
        yield {**body, first: None}
        yield {**body, "tracking_no": "TR1"}
        for key, value in body.items():
            for variant in _variants(value, depth + 1):
                yield {**body, key: variant}
    elif isinstance(body, list) and body:
        yield []
        yield [*body, 7]
        for variant in _variants(body[0], depth + 1):
            yield [variant, *body[1:]]
