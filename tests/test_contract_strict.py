"""The strict request profile: contracts/bundles/strict/ and ``contracts.validate_strict``
flag every field a request contract does not name (a misspelt ``tracking_no``),
and nothing else."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from omnitron_mock import contracts
from omnitron_mock.contracts import UNKNOWN_FIELD, ContractError

from tests.contract_bodies import corpus
from tests.helpers import OPENAPI, documented

STRICT = Path(__file__).resolve().parents[1] / "contracts" / "bundles" / "strict"
REQUESTS = [
    "bulk-status-update-request",
    "create-mapping-request",
    "login-request",
    "order-item-update-request",
    "order-update-request",
]


@cache
def strict(name: str) -> Draft202012Validator:
    schema = json.loads((STRICT / f"{name}.json").read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def strict_errors(name: str, body: Any) -> list[tuple[str, str]]:
    return sorted((error.json_path, error.message) for error in strict(name).iter_errors(body))


def test_the_profile_covers_each_request_body_of_the_openapi_document() -> None:
    document = json.loads(OPENAPI.read_text("utf-8"))
    request_bodies = {
        Path(operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]).stem
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "requestBody" in operation
    }
    assert sorted(path.stem for path in STRICT.glob("*.json")) == sorted(request_bodies) == REQUESTS


def test_the_profile_flags_a_misspelt_tracking_number() -> None:
    body = {"orderitem_set": [{"id": 1, "status": "500", "tracking_no": "TR1"}]}
    assert contracts.validate("bulk-status-update-request", body) == []
    assert strict_errors("bulk-status-update-request", body) == [
        ("$.orderitem_set[0]", "Unevaluated properties are not allowed ('tracking_no' was unexpected)")
    ]


@pytest.mark.parametrize(
    ("name", "body", "where", "field"),
    [
        ("bulk-status-update-request", {"orderitem_set": [{"id": 1}], "note": "x"}, "$", "note"),
        ("order-update-request", {"is_send": True, "number": "X"}, "$", "number"),
        ("order-item-update-request", {"status": "450", "order_number": "1"}, "$", "order_number"),
        ("create-mapping-request", {"code": "ERP-1", "stock": False}, "$", "stock"),
        ("login-request", {"username": "u", "password": "p", "remember": True}, "$", "remember"),
    ],
)
def test_the_profile_flags_unknown_fields_of_every_request(name: str, body: Any, where: str, field: str) -> None:
    assert contracts.validate(name, body) == []
    assert strict_errors(name, body) == [(where, f"Unevaluated properties are not allowed ({field!r} was unexpected)")]


def test_free_form_objects_keep_taking_any_keys() -> None:
    body = {
        "extra_field": {"tracking_no": "kept", "nested": {"any": [1, {"depth": True}]}},
        "attributes": {"gift_note": "x"},
        "attributes_kwargs": {"k": None},
    }
    assert strict_errors("order-item-update-request", body) == []
    assert contracts.validate_strict("order-item-update-request", body) == []


def test_the_documented_requests_pass_the_profile() -> None:
    assert strict_errors("bulk-status-update-request", documented("request")) == []
    assert contracts.validate_strict("bulk-status-update-request", documented("request")) == []


@pytest.mark.parametrize("name", REQUESTS)
def test_the_profile_and_the_library_give_one_verdict(name: str) -> None:
    """On every body of the corpus: the strict schema refuses exactly what
    ``validate_strict`` refuses, and names each unknown field the library finds."""
    bodies = [body for contract, body in corpus() if contract == name]
    flagged = 0
    for body in bodies:
        verdict = contracts.validate_strict(name, body)
        found = strict_errors(name, body)
        assert (found == []) == (verdict == []), json.dumps(body)[:300]
        for error in verdict:
            if error.message == UNKNOWN_FIELD:
                flagged += 1
                parent, _, field = error.path.rpartition(".")
                assert any(where == parent and repr(field) in message for where, message in found), error
    assert flagged, f"no body of {name} has an unknown field"
    assert any(not contracts.validate_strict(name, body) for body in bodies), f"no body of {name} passes"


def test_validate_strict_lists_errors_and_unknown_fields_by_path() -> None:
    body = {"orderitem_set": [{"id": "x", "tracking_no": "TR1"}, {"id": 2, "status": "999"}], "note": 1}
    assert contracts.validate_strict("bulk-status-update-request", body) == [
        ContractError("$.note", UNKNOWN_FIELD),
        ContractError("$.orderitem_set[0].id", "'x' is not of type 'integer'"),
        ContractError("$.orderitem_set[0].tracking_no", UNKNOWN_FIELD),
        ContractError("$.orderitem_set[1].status", contracts.validate("order-item-status", "999")[0].message),
    ]


def test_validate_strict_follows_a_deployments_extensions() -> None:
    extended = contracts.Contracts(extra_statuses={"700": "lost"})
    body = {"orderitem_set": [{"id": 1, "status": "700", "tracking_no": "TR1"}]}
    assert extended.validate_strict("bulk-status-update-request", body) == [
        ContractError("$.orderitem_set[0].tracking_no", UNKNOWN_FIELD)
    ]
    assert [error.path for error in contracts.validate_strict("bulk-status-update-request", body)] == [
        "$.orderitem_set[0].status",
        "$.orderitem_set[0].tracking_no",
    ]


def test_validate_strict_of_an_unknown_contract_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known: active-user"):
        contracts.validate_strict("no-such-contract", {})
