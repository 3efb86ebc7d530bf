"""The contracts of the ERP loop (issue 15), checked at schema level: the
order with its customer and addresses, the page of orders, the PATCH and
create_mapping bodies, the mapping, the seed's new order fields, and how
contracts/openapi.json documents the new operations. No server needed."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from omnitron_mock import contracts
from omnitron_mock.seed import DEFAULT_SEED_DOCUMENT, generate_seed_document
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.helpers import expected_contract

OPENAPI = json.loads((Path(__file__).resolve().parents[1] / "contracts" / "openapi.json").read_text("utf-8"))
PATHS = OPENAPI["paths"]

# The wire order of an order's keys, as issue 15 decided it.
ORDER_KEYS = [
    "pk", "number", "channel", "status", "date_placed", "customer", "shipping_address", "billing_address",
    "currency", "amount", "shipping_amount", "shipping_tax_rate", "extra_field", "payment_option",
    "payment_option_slug", "bin_number", "installment", "installment_count", "delivery_type",
    "installment_interest_amount", "cargo_company", "invoice_number", "invoice_date", "e_archive_url",
    "refund_amount", "discount_refund_amount", "is_send", "modified_date", "orderitem_set",
]  # fmt: skip
ADDRESS_KEYS = [
    "pk", "email", "phone_number", "first_name", "last_name", "country", "city", "township", "district",
    "line", "postcode", "title", "company_name", "tax_office", "tax_no", "identity_number", "e_bill_taxpayer",
]  # fmt: skip


def _example(path: str, method: str, where: str, name: str | None = None) -> Any:
    """A documented example: ``where`` is "request" or a status code."""
    operation = PATHS[path][method]
    part = operation["requestBody"] if where == "request" else operation["responses"][where]
    media = part["content"]["application/json"]
    return copy.deepcopy(media["example"] if name is None else media["examples"][name]["value"])


def _order() -> dict[str, Any]:
    return _example("/orders/{id}/", "patch", "200")


def _invalid_paths(name: str, instance: object) -> list[str]:
    """Where ``instance`` breaks the named contract, each place once."""
    return sorted({error.path for error in contracts.validate(name, instance)})


# -- the order -----------------------------------------------------------------


def test_order_lists_every_key_in_the_wire_order() -> None:
    schema = contracts.load_schema("order")
    assert schema["required"] == ORDER_KEYS
    assert list(schema["properties"]) == ORDER_KEYS
    assert schema["additionalProperties"] is False
    assert list(_order()) == ORDER_KEYS


def test_order_refuses_a_missing_or_an_extra_key() -> None:
    order = _order()
    del order["modified_date"]
    assert contracts.validate("order", order)[0].message == "'modified_date' is a required property"
    assert _invalid_paths("order", {**_order(), "reservation": True}) == ["$"]


def test_cargo_company_is_an_id_or_null() -> None:
    assert contracts.validate("order", {**_order(), "cargo_company": 34}) == []
    assert contracts.validate("order", {**_order(), "cargo_company": None}) == []
    [error] = contracts.validate("order", {**_order(), "cargo_company": "ups"})
    assert error == contracts.ContractError("$.cargo_company", "'ups' is not of type 'integer'")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("modified_date", "2021-07-12T09:35:12+03:00"),
        ("modified_date", "2021-07-12"),
        ("shipping_tax_rate", "18"),
        ("refund_amount", "0"),
        ("installment_count", None),
        ("extra_field", []),
        ("is_send", "true"),
    ],
)
def test_order_fields_keep_their_wire_form(key: str, value: object) -> None:
    assert _invalid_paths("order", {**_order(), key: value}) == [f"$.{key}"]


def test_order_money_and_moments_in_the_wire_form() -> None:
    changed = {"shipping_tax_rate": None, "modified_date": "2021-07-12T09:35:12Z", "refund_amount": "-12.50"}
    assert contracts.validate("order", {**_order(), **changed}) == []


def test_customer_is_an_object_with_every_key() -> None:
    customer = _order()["customer"]
    assert contracts.validate("customer", customer) == []
    assert contracts.validate("customer", {**customer, "phone_number": None}) == []
    assert _invalid_paths("customer", {k: v for k, v in customer.items() if k != "email"}) == ["$"]
    assert _invalid_paths("order", {**_order(), "customer": None}) == ["$.customer"]


def test_address_has_its_places_as_objects() -> None:
    address = _order()["shipping_address"]
    schema = contracts.load_schema("address")
    assert schema["required"] == ADDRESS_KEYS
    assert contracts.validate("address", address) == []
    assert _invalid_paths("address", {**address, "city": "İstanbul"}) == ["$.city"]
    assert _invalid_paths("address", {**address, "country": {"pk": 1, "name": "Türkiye"}}) == ["$.country"]
    assert _invalid_paths("address", {**address, "district": {"pk": 1, "name": "Moda", "code": "x"}}) == ["$.district"]
    assert _invalid_paths("address", {**address, "e_bill_taxpayer": None}) == ["$.e_bill_taxpayer"]


def test_a_page_of_orders() -> None:
    page = _example("/orders/", "get", "200", "waiting")
    assert contracts.validate("order-page", page) == []
    assert contracts.validate("order-page", {"count": 0, "next": None, "previous": None, "results": []}) == []
    assert _invalid_paths("order-page", {**page, "results": [_example("/order_items/{id}/", "patch", "200")]}) == [
        "$.results[0]"
    ]


# -- the request bodies --------------------------------------------------------


@pytest.mark.parametrize("body", [{"is_send": True}, {"is_send": False}, {}])
def test_order_update_request_takes_a_boolean(body: dict[str, Any]) -> None:
    assert contracts.validate("order-update-request", body) == []


@pytest.mark.parametrize("body", [{"is_send": "true"}, {"is_send": 1}, {"is_send": None}, [{"is_send": True}], "x"])
def test_order_update_request_refuses_what_is_not_canonical(body: object) -> None:
    assert contracts.validate("order-update-request", body) != []


def test_order_update_request_reports_other_fields_as_unknown() -> None:
    body = {"is_send": True, "number": "ERP-1", "customer": {"email": "x@example.com"}}
    assert contracts.validate("order-update-request", body) == []
    unknown = contracts.default_contracts().unknown_fields("order-update-request", body)
    assert unknown == ["$.number", "$.customer"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"status": "450"},
        {"cancel_status": None},
        *({"cancel_status": value} for value in ("waiting", "confirmed", "completed", "rejected")),
        {"extra_field": {"erp_line_id": "L-1"}, "attributes": {}, "attributes_kwargs": {"a": [1]}},
    ],
)
def test_order_item_update_request_accepts_the_documented_fields(body: dict[str, Any]) -> None:
    assert contracts.validate("order-item-update-request", body) == []


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"status": "999"}, "$.status"),
        ({"status": 450}, "$.status"),
        ({"cancel_status": "x"}, "$.cancel_status"),
        ({"extra_field": []}, "$.extra_field"),
        ({"attributes": "x"}, "$.attributes"),
        ({"attributes_kwargs": None}, "$.attributes_kwargs"),
    ],
)
def test_order_item_update_request_refuses_wrong_values(body: dict[str, Any], path: str) -> None:
    assert _invalid_paths("order-item-update-request", body) == [path]


def test_order_item_update_request_reports_other_fields_but_not_keys_inside_objects() -> None:
    body = {"status": "450", "order_number": "0000000001", "extra_field": {"anything": 1}, "tracking_number": "T"}
    unknown = contracts.default_contracts().unknown_fields("order-item-update-request", body)
    assert unknown == ["$.order_number", "$.tracking_number"]


def test_cancel_statuses_are_unchanged() -> None:
    assert contracts.load_schema("cancel-status")["enum"] == ["waiting", "confirmed", "completed", "rejected"]


@pytest.mark.parametrize(
    "body",
    [{"code": "ERP-1"}, {"code": "ERP-1", "update_stock": True}, {"code": " 7 ", "update_stock": False}],
)
def test_create_mapping_request_takes_a_code(body: dict[str, Any]) -> None:
    assert contracts.validate("create-mapping-request", body) == []


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({}, "$"),
        ({"update_stock": True}, "$"),
        ({"code": None}, "$.code"),
        ({"code": ""}, "$.code"),
        ({"code": "  \t"}, "$.code"),
        ({"code": "a\x00b"}, "$.code"),
        ({"code": 5}, "$.code"),
        ({"code": "ERP-1", "update_stock": "yes"}, "$.update_stock"),
        ({"code": "ERP-1", "update_stock": None}, "$.update_stock"),
    ],
)
def test_create_mapping_request_refuses_a_missing_or_blank_code(body: dict[str, Any], path: str) -> None:
    assert _invalid_paths("create-mapping-request", body) == [path]


def test_create_mapping_request_reports_other_fields_as_unknown() -> None:
    unknown = contracts.default_contracts().unknown_fields("create-mapping-request", {"code": "x", "stock": False})
    assert unknown == ["$.stock"]


def test_mapping_is_an_external_company_link() -> None:
    mapping = _example("/order_items/{id}/create_mapping/", "post", "201")
    assert mapping == {
        "pk": 1,
        "content_type": 38,
        "object_id": 1,
        "integration_type": "external_company",
        "code": "ERP-1001-1",
    }
    assert contracts.validate("mapping", mapping) == []
    assert _invalid_paths("mapping", {**mapping, "integration_type": "erp"}) == ["$.integration_type"]
    assert _invalid_paths("mapping", {**mapping, "update_stock": True}) == ["$"]
    assert _invalid_paths("mapping", {k: v for k, v in mapping.items() if k != "code"}) == ["$"]


def test_request_contracts_leave_unknown_fields_open() -> None:
    """The service ignores fields it does not read: the journal reports them, the contract does not refuse them."""
    for name in ("order-update-request", "order-item-update-request", "create-mapping-request"):
        assert "additionalProperties" not in contracts.load_schema(name), name


# -- seeds ---------------------------------------------------------------------


def test_old_seeds_stay_valid() -> None:
    assert contracts.validate("seed", DEFAULT_SEED_DOCUMENT) == []
    assert contracts.validate("seed", generate_seed_document(3, 2)) == []
    assert contracts.validate("seed", {"orders": [{"id": 7, "cargo_company": None, "is_send": True}]}) == []


def test_seed_orders_take_the_new_fields() -> None:
    order = {k: v for k, v in _order().items() if k not in ("pk", "amount", "invoice_number", "invoice_date")}
    order = {k: v for k, v in order.items() if k not in ("e_archive_url", "orderitem_set")}
    seed = {"orders": [{"id": 1, **order, "items": [{"id": 1}]}]}
    assert contracts.validate("seed", seed) == []


def test_seed_customer_and_addresses_may_be_partial() -> None:
    order = {
        "id": 1,
        "customer": {"first_name": "Ayşe"},
        "shipping_address": {"city": {"name": "İzmir"}, "country": {"code": "tr"}},
        "billing_address": {},
        "modified_date": "2021-07-12 12:00",
    }
    assert contracts.validate("seed", {"orders": [order]}) == []


@pytest.mark.parametrize(
    ("order", "path"),
    [
        ({"cargo_company": "ups"}, "$.orders[0].cargo_company"),
        ({"customer": {"nickname": "x"}}, "$.orders[0].customer"),
        ({"shipping_address": {"city": "İzmir"}}, "$.orders[0].shipping_address.city"),
        ({"billing_address": {"township": {"zip": "1"}}}, "$.orders[0].billing_address.township"),
        ({"customer": {"pk": 0}}, "$.orders[0].customer.pk"),
        ({"modified_date": "yesterday"}, "$.orders[0].modified_date"),
        ({"shipping_tax_rate": "18"}, "$.orders[0].shipping_tax_rate"),
        ({"installment_count": "1"}, "$.orders[0].installment_count"),
        ({"extra_field": []}, "$.orders[0].extra_field"),
        ({"amount": "10.00"}, "$.orders[0]"),
    ],
)
def test_seed_orders_refuse_wrong_new_fields(order: dict[str, Any], path: str) -> None:
    assert _invalid_paths("seed", {"orders": [{"id": 1, **order}]}) == [path]


# -- the OpenAPI document ------------------------------------------------------


def test_orders_list_documents_every_query_parameter() -> None:
    names = [parameter["name"] for parameter in PATHS["/orders/"]["get"]["parameters"]]
    assert names == [
        "is_send", "status", "cancel_status", "number", "pk__in", "sort",
        "modified_date__gte", "modified_date__gt", "modified_date__lte", "modified_date__lt",
        "page", "limit", "page_size",
    ]  # fmt: skip
    item_names = [parameter["name"] for parameter in PATHS["/order_items/"]["get"]["parameters"]]
    assert item_names == ["order", "page", "limit", "page_size"]


def test_page_sizes_below_one_are_accepted_as_the_server_accepts_them() -> None:
    for path in ("/orders/", "/order_items/"):
        sizes = [p for p in PATHS[path]["get"]["parameters"] if p["name"] in ("limit", "page_size")]
        assert [p["schema"] for p in sizes] == [{"type": "integer"}] * 2, path
        assert all("falls back to the default" in p["description"] for p in sizes)


def test_new_operations_and_their_answers() -> None:
    expected = {
        ("/orders/", "get"): {"200", "400", "401", "404", "405"},
        ("/orders/{id}/", "patch"): {"200", "400", "401", "404", "405", "413", "415", "500"},
        ("/order_items/{id}/", "patch"): {"200", "400", "401", "404", "405", "413", "415", "500"},
        ("/order_items/{id}/create_mapping/", "post"): {"200", "201", "400", "401", "404", "405", "413", "415", "500"},
    }
    for (path, method), statuses in expected.items():
        assert set(PATHS[path][method]["responses"]) == statuses, (path, method)


def test_new_bodies_reference_their_contracts() -> None:
    def schema(path: str, method: str, where: str) -> Any:
        operation = PATHS[path][method]
        part = operation["requestBody"] if where == "request" else operation["responses"][where]
        return part["content"]["application/json"]["schema"]

    assert schema("/orders/", "get", "200") == {"$ref": "schemas/order-page.json"}
    assert schema("/orders/{id}/", "patch", "request") == {"$ref": "schemas/order-update-request.json"}
    assert schema("/orders/{id}/", "patch", "200") == {"$ref": "schemas/order.json"}
    assert schema("/order_items/{id}/", "patch", "request") == {"$ref": "schemas/order-item-update-request.json"}
    assert schema("/order_items/{id}/", "patch", "200") == {"$ref": "schemas/order-item.json"}
    mapping = "/order_items/{id}/create_mapping/"
    assert schema(mapping, "post", "request") == {"$ref": "schemas/create-mapping-request.json"}
    assert schema(mapping, "post", "200") == schema(mapping, "post", "201") == {"$ref": "schemas/mapping.json"}


def _error_examples(path: str, method: str) -> dict[str, Any]:
    examples = PATHS[path][method]["responses"]["400"]["content"]["application/json"]["examples"]
    return {name: example["value"] for name, example in examples.items()}


def test_error_examples_carry_drf_messages() -> None:
    parse_error = {"detail": "JSON parse error - Expecting value: line 1 column 1 (char 0)"}
    not_an_object = {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}
    assert _error_examples("/orders/", "get") == {
        "badStatus": {"status": ["Select a valid choice. 999 is not one of the available choices."]},
        "badCancelStatus": {"cancel_status": ["Select a valid choice. x is not one of the available choices."]},
        "badIds": {"pk__in": ["Enter a number."]},
        "badDates": {
            "modified_date__gte": ["Enter a valid date/time."],
            "modified_date__lt": ["Enter a valid date/time."],
        },
    }
    assert _error_examples("/orders/{id}/", "patch") == {
        "notABoolean": {"is_send": ["Must be a valid boolean."]},
        "null": {"is_send": ["This field may not be null."]},
        "notAnObject": not_an_object,
        "parseError": parse_error,
    }
    assert _error_examples("/order_items/{id}/", "patch") == {
        "badStatus": {"status": ["No matching type."]},
        "strictMode": {"status": ['Status cannot move back from "500" (shipped) to "400" (approved).']},
        "badCancelStatus": {"cancel_status": ['"x" is not a valid choice.']},
        "notADictionary": {"extra_field": ['Expected a dictionary of items but got type "list".']},
        "notAnObject": not_an_object,
        "parseError": parse_error,
    }
    assert _error_examples("/order_items/{id}/create_mapping/", "post") == {
        "codeMissing": {"code": ["This field is required."]},
        "codeNull": {"code": ["This field may not be null."]},
        "codeBlank": {"code": ["This field may not be blank."]},
        "codeNotAString": {"code": ["Not a valid string."]},
        "updateStockNotBoolean": {"update_stock": ["Must be a valid boolean."]},
        "alreadyMapped": {"code": ["This item already has a mapping."]},
        "notAnObject": not_an_object,
        "parseError": parse_error,
    }


def test_every_new_body_has_examples() -> None:
    operations = [
        ("/orders/", "get"),
        ("/orders/{id}/", "patch"),
        ("/order_items/{id}/", "patch"),
        ("/order_items/{id}/create_mapping/", "post"),
    ]
    for path, method in operations:
        operation = PATHS[path][method]
        parts = [operation.get("requestBody", {}), *operation["responses"].values()]
        for part in parts:
            media = part.get("content", {}).get("application/json")
            if media is not None:
                assert "example" in media or "examples" in media, (path, method, part.get("description"))


def test_the_waiting_orders_page_links_the_next_page_with_the_other_parameters() -> None:
    page = _example("/orders/", "get", "200", "waiting")
    assert page["next"].endswith("/api/i1/orders/?is_send=False&status=400&limit=1&page=2")
    assert page["previous"] is None
    assert [order["is_send"] for order in page["results"]] == [False]


@pytest.mark.parametrize("prefix", ["/api/i1/", "/api/v1/"])
def test_answers_of_the_new_routes_are_checked_against_their_contracts(prefix: str) -> None:
    """The suite's response oracle reads openapi.json: each new route gets its contract under both prefixes."""
    assert expected_contract("GET", f"{prefix}orders/", 200, {}) == "order-page"
    assert expected_contract("GET", f"{prefix}orders/5/", 200, {}) == "order"
    assert expected_contract("PATCH", f"{prefix}orders/5/", 200, {}) == "order"
    assert expected_contract("PATCH", f"{prefix}order_items/5/", 200, {}) == "order-item"
    assert expected_contract("POST", f"{prefix}order_items/5/create_mapping/", 201, {}) == "mapping"
    assert expected_contract("POST", f"{prefix}order_items/5/create_mapping/", 200, {}) == "mapping"
    assert expected_contract("PATCH", f"{prefix}order_items/bulk_status_update/", 200, []) == (
        "bulk-status-update-response"
    )
    assert expected_contract("PATCH", f"{prefix}orders/5/", 400, {"is_send": ["x"]}) == "field-errors"


def test_bundled_order_resolves_the_address_places() -> None:
    """The bundled document re-roots address.json's own $defs under its component."""
    bundled = contracts.bundled_openapi()
    assert {"customer", "address", "order", "order-page", "mapping"} <= set(bundled["components"]["schemas"])
    uri = "urn:omnitron-mock:bundled-openapi"
    registry = Registry().with_resource(uri, Resource.from_contents(bundled, default_specification=DRAFT202012))
    validator = Draft202012Validator({"$ref": f"{uri}#/components/schemas/order"}, registry=registry)
    assert list(validator.iter_errors(_order())) == []
    broken = {**_order(), "billing_address": {**_order()["billing_address"], "country": {"pk": 1, "name": "TR"}}}
    assert [list(error.absolute_path) for error in validator.iter_errors(broken)] == [["billing_address", "country"]]
