"""POST order_items/{id}/create_mapping/ (issue 15): acknowledging an order line to the ERP.

Default seed: order 1 holds items 1, 2, 3 and order 2 holds items 4, 5.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.helpers import PREFIXES, Later

NOT_FOUND = {"detail": "Not found."}
ALREADY_MAPPED = {"code": ["This item already has a mapping."]}


def post(client: FlaskClient, auth: dict[str, str], body: Any, item: object = 1, prefix: str = "/api/i1/") -> Any:
    return client.post(f"{prefix}order_items/{item}/create_mapping/", json=body, headers=auth)


def mapping(pk: int, item: int, code: str) -> dict[str, Any]:
    return {"pk": pk, "content_type": 38, "object_id": item, "integration_type": "external_company", "code": code}


def stored_mappings(app: Any) -> list[dict[str, Any]]:
    """Every mapping with its update_stock, read through the control API."""
    return app.test_client().get("/_mock/state/mappings").get_json()["mappings"]


def modified(client: FlaskClient, auth: dict[str, str], order: int = 1) -> str:
    return client.get(f"/api/i1/orders/{order}/", headers=auth).get_json()["modified_date"]


def assert_refused(app: Any, client: FlaskClient, auth: dict[str, str], body: Any, item: object, expected: Any) -> None:
    """The request gets ``expected`` (a 404 body or field errors) and changes nothing."""
    state, mappings = client.get("/_mock/state").get_json(), stored_mappings(app)
    response = post(client, auth, body, item)
    status = 404 if expected == NOT_FOUND else 400
    assert (response.status_code, response.get_json()) == (status, expected)
    assert (client.get("/_mock/state").get_json(), stored_mappings(app)) == (state, mappings)


# --- mapping --------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
def test_a_new_mapping_is_created(app: Any, client: FlaskClient, auth: dict[str, str], prefix: str) -> None:
    seeded = modified(client, auth)
    item = client.get("/api/i1/order_items/2/", headers=auth).get_json()
    response = post(client, auth, {"code": "ERP-LINE-2", "update_stock": True}, 2, prefix)
    assert (response.status_code, response.get_json()) == (201, mapping(1, 2, "ERP-LINE-2"))
    assert stored_mappings(app) == [{**mapping(1, 2, "ERP-LINE-2"), "update_stock": True}]
    # The item's wire form does not change; its order's modified_date moves.
    assert client.get("/api/i1/order_items/2/", headers=auth).get_json() == item
    assert modified(client, auth) == Later(seeded)
    assert modified(client, auth, 2) == client.get("/_mock/state").get_json()["orders"][1]["date_placed"]


def test_mapping_pks_count_up_from_one(app: Any, client: FlaskClient, auth: dict[str, str]) -> None:
    for pk, item in enumerate([4, 1, 5], start=1):
        assert post(client, auth, {"code": f"E{item}"}, item).get_json() == mapping(pk, item, f"E{item}")
    assert [m["object_id"] for m in stored_mappings(app)] == [4, 1, 5]


def test_update_stock_defaults_to_true(app: Any, client: FlaskClient, auth: dict[str, str]) -> None:
    assert post(client, auth, {"code": "E1"}, 1).status_code == 201
    assert post(client, auth, {"code": "E2", "update_stock": False}, 2).status_code == 201
    assert post(client, auth, {"code": "E3", "update_stock": "off"}, 3).status_code == 201
    assert [(m["object_id"], m["update_stock"]) for m in stored_mappings(app)] == [(1, True), (2, False), (3, False)]


@pytest.mark.parametrize("again", ["E1", " E1 ", {"code": "E1", "update_stock": False}], ids=repr)
def test_the_same_code_again_answers_the_mapping_unchanged(
    app: Any, client: FlaskClient, auth: dict[str, str], again: Any
) -> None:
    assert post(client, auth, {"code": "E1"}).status_code == 201
    mapped_at, mappings = modified(client, auth), stored_mappings(app)
    response = post(client, auth, again if isinstance(again, dict) else {"code": again})
    assert (response.status_code, response.get_json()) == (200, mapping(1, 1, "E1"))
    assert stored_mappings(app) == mappings
    assert modified(client, auth) == mapped_at


def test_another_code_for_a_mapped_item_is_refused(app: Any, client: FlaskClient, auth: dict[str, str]) -> None:
    assert post(client, auth, {"code": "E1"}).status_code == 201
    assert_refused(app, client, auth, {"code": "E2"}, 1, ALREADY_MAPPED)
    assert_refused(app, client, auth, {"code": "e1"}, 1, ALREADY_MAPPED)
    # The first mapping stands, and the next new one takes the next pk.
    assert post(client, auth, {"code": "E1"}).status_code == 200
    assert post(client, auth, {"code": "E1"}, 2).get_json() == mapping(2, 2, "E1")


def test_a_code_may_map_several_items(client: FlaskClient, auth: dict[str, str]) -> None:
    assert post(client, auth, {"code": "SAME"}, 1).status_code == 201
    assert post(client, auth, {"code": "SAME"}, 2).status_code == 201


def test_a_reset_drops_the_mappings_and_numbers_from_one_again(
    app: Any, client: FlaskClient, auth: dict[str, str]
) -> None:
    assert post(client, auth, {"code": "E1"}, 1).status_code == 201
    assert post(client, auth, {"code": "E2"}, 2).status_code == 201
    assert client.post("/_mock/reset").status_code == 200
    assert stored_mappings(app) == []
    response = post(client, auth, {"code": "OTHER"}, 1)
    assert (response.status_code, response.get_json()) == (201, mapping(1, 1, "OTHER"))


def test_a_seed_that_replaces_the_orders_drops_their_mappings(
    app: Any, client: FlaskClient, auth: dict[str, str]
) -> None:
    assert post(client, auth, {"code": "E1"}, 1).status_code == 201
    seed = {"orders": [{"id": 1, "items": [{"id": 1}]}]}
    assert client.post("/_mock/seed?replace=true", json=seed).status_code == 200
    assert stored_mappings(app) == []
    assert post(client, auth, {"code": "E9"}, 1).get_json() == mapping(1, 1, "E9")


def test_the_mapping_request_is_journalled_with_its_verdict(client: FlaskClient, auth: dict[str, str]) -> None:
    assert post(client, auth, {"code": "E1", "stock": False}).status_code == 201
    [entry] = client.get("/_mock/requests?method=POST").get_json()["requests"]
    assert entry["status"] == 201
    assert entry["response"] == mapping(1, 1, "E1")
    assert entry["verdict"] == {
        "contract": "create-mapping-request",
        "schema_errors": [],
        "unknown_fields": ["$.stock"],
        "ok": False,
    }


# --- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, {"code": ["This field is required."]}),
        ({"update_stock": True}, {"code": ["This field is required."]}),
        ({"code": None}, {"code": ["This field may not be null."]}),
        ({"code": ""}, {"code": ["This field may not be blank."]}),
        ({"code": "   "}, {"code": ["This field may not be blank."]}),
        ({"code": ["E1"]}, {"code": ["Not a valid string."]}),
        ({"code": {"id": "E1"}}, {"code": ["Not a valid string."]}),
        ({"code": True}, {"code": ["Not a valid string."]}),
        ({"code": "E" * 256}, {"code": ["Ensure this field has no more than 255 characters."]}),
        ({"code": "E\x001"}, {"code": ["Null characters are not allowed."]}),
        ({"code": "E1", "update_stock": "maybe"}, {"update_stock": ["Must be a valid boolean."]}),
        ({"code": "E1", "update_stock": 2}, {"update_stock": ["Must be a valid boolean."]}),
        ({"code": "E1", "update_stock": None}, {"update_stock": ["This field may not be null."]}),
        (
            {"update_stock": []},
            {"code": ["This field is required."], "update_stock": ["Must be a valid boolean."]},
        ),
        ([{"code": "E1"}], {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
        ("E1", {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}),
    ],
    ids=repr,
)
def test_a_bad_body_is_refused(
    app: Any, client: FlaskClient, auth: dict[str, str], body: Any, expected: dict[str, Any]
) -> None:
    assert_refused(app, client, auth, body, 1, expected)


@pytest.mark.parametrize("item", ["6", "0", "abc", "1.0", "9" * 30])
@pytest.mark.parametrize("body", [{"code": "E1"}, {}], ids=["valid", "no-code"])
def test_an_unknown_item_is_not_found(
    app: Any, client: FlaskClient, auth: dict[str, str], item: str, body: dict[str, Any]
) -> None:
    assert_refused(app, client, auth, body, item, NOT_FOUND)


def test_a_number_as_code_is_read_as_text(client: FlaskClient, auth: dict[str, str]) -> None:
    assert post(client, auth, {"code": 12345}).get_json() == mapping(1, 1, "12345")
    assert post(client, auth, {"code": "12345"}).status_code == 200
