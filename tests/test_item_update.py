"""PATCH order_items/{pk}/ (issue 15): one item's status, cancellation status and objects.

Each test seeds ITEMS' order 1 (items 1 and 2) and order 2 (item 3), replacing
the default seed; item 1 carries objects to merge and replace.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.helpers import PREFIXES, Later

NOT_FOUND = {"detail": "Not found."}
JSON = "application/json"
EXTRA = {"erp": "E-1", "weight": 2, "nested": {"x": 1}}
ATTRIBUTES = {"size": "M", "color": "red"}
KWARGS = {"size": {"label": "Medium"}}
SEED = {
    "orders": [
        {
            "id": 1,
            "items": [
                {"id": 1, "extra_field": EXTRA, "attributes": ATTRIBUTES, "attributes_kwargs": KWARGS},
                {"id": 2},
            ],
        },
        {"id": 2, "items": [{"id": 3}]},
    ]
}
CANCEL_STATUSES = ["waiting", "confirmed", "completed", "rejected"]
OBJECT_FIELDS = ["extra_field", "attributes", "attributes_kwargs"]


@pytest.fixture
def seeded(client: FlaskClient) -> None:
    assert client.post("/_mock/seed?replace=true", json=SEED).status_code == 200


def patch(client: FlaskClient, auth: dict[str, str], body: Any, pk: object = 1, prefix: str = "/api/i1/") -> Any:
    return client.patch(f"{prefix}order_items/{pk}/", json=body, headers=auth)


def get(client: FlaskClient, auth: dict[str, str], path: str) -> dict[str, Any]:
    response = client.get(f"/api/i1/{path}", headers=auth)
    assert response.status_code == 200
    return response.get_json()


def applied(client: FlaskClient, auth: dict[str, str], body: Any, pk: int = 1) -> dict[str, Any]:
    """PATCH ``body``; it must succeed and answer the item as it now reads."""
    response = patch(client, auth, body, pk)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == get(client, auth, f"order_items/{pk}/")
    return response.get_json()


def refused(client: FlaskClient, auth: dict[str, str], state: Any, body: Any, pk: object = 1) -> tuple[int, Any]:
    """PATCH ``body``, which must change nothing: its status and answer."""
    before = state()
    response = patch(client, auth, body, pk)
    assert state() == before
    return response.status_code, response.get_json()


def modified(client: FlaskClient, auth: dict[str, str], order: int = 1) -> str:
    return get(client, auth, f"orders/{order}/")["modified_date"]


# --- status ------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
def test_status_changes_the_item_and_moves_its_orders_modified_date(
    client: FlaskClient, auth: dict[str, str], seeded: None, prefix: str
) -> None:
    before = get(client, auth, "order_items/1/")
    other_order = get(client, auth, "orders/2/")
    seeded_at = modified(client, auth)
    response = patch(client, auth, {"status": "450"}, prefix=prefix)
    assert response.status_code == 200
    assert response.get_json() == {**before, "status": "450"} == get(client, auth, "order_items/1/")
    assert modified(client, auth) == Later(seeded_at)
    assert get(client, auth, "orders/2/") == other_order


@pytest.mark.parametrize("sent", [450, 450.0, " 450 "], ids=repr)
def test_status_takes_what_the_bulk_takes(client: FlaskClient, auth: dict[str, str], seeded: None, sent: Any) -> None:
    assert applied(client, auth, {"status": sent})["status"] == "450"


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        ("999", "No matching type."),
        ("shipped", "No matching type."),
        (450.5, "No matching type."),
        (None, "This field may not be null."),
        ("", "This field may not be blank."),
        ("  ", "This field may not be blank."),
        (["450"], "Not a valid string."),
        (True, "Not a valid string."),
    ],
    ids=repr,
)
def test_status_refusals_are_the_bulks(
    client: FlaskClient, auth: dict[str, str], state: Any, seeded: None, sent: Any, message: str
) -> None:
    assert refused(client, auth, state, {"status": sent}) == (400, {"status": [message]})


# Each scenario: item 1's steps before (accepted), then the status a strict
# emulator refuses; the bulk's answer for the same change is the reference.
STRICT_SCENARIOS = [
    pytest.param([], "500", id="shipped-without-tracking"),
    pytest.param([{"status": "450"}], "400", id="backwards"),
    pytest.param([{"status": "100"}], "450", id="out-of-a-final-status"),
]


@pytest.mark.parametrize(("steps", "status"), STRICT_SCENARIOS)
def test_strict_mode_refuses_what_it_refuses_in_the_bulk(
    client: FlaskClient, auth: dict[str, str], state: Any, seeded: None, steps: list[Any], status: str
) -> None:
    assert client.put("/_mock/strict", json={"strict": True}).status_code == 200
    for step in steps:
        applied(client, auth, step)
    bulk = client.patch(
        "/api/i1/order_items/bulk_status_update/", json={"orderitem_set": [{"id": 1, "status": status}]}, headers=auth
    )
    assert bulk.status_code == 400
    [entry] = bulk.get_json()
    assert refused(client, auth, state, {"status": status}) == (400, entry["message"])


@pytest.mark.parametrize(("steps", "status"), STRICT_SCENARIOS)
def test_lenient_mode_takes_every_status(
    client: FlaskClient, auth: dict[str, str], seeded: None, steps: list[Any], status: str
) -> None:
    for step in steps:
        applied(client, auth, step)
    assert applied(client, auth, {"status": status})["status"] == status


def test_strict_mode_takes_a_status_once_the_item_has_its_tracking_number(
    client: FlaskClient, auth: dict[str, str], seeded: None
) -> None:
    assert client.put("/_mock/strict", json={"strict": True}).status_code == 200
    bulk = {"orderitem_set": [{"id": 1, "tracking_number": "TR1"}]}
    assert client.patch("/api/i1/order_items/bulk_status_update/", json=bulk, headers=auth).status_code == 200
    assert applied(client, auth, {"status": "500"})["status"] == "500"


# --- cancel_status ---------------------------------------------------------------------


@pytest.mark.parametrize("cancel_status", CANCEL_STATUSES)
def test_cancel_status_takes_each_choice_and_null(
    client: FlaskClient, auth: dict[str, str], seeded: None, cancel_status: str
) -> None:
    assert applied(client, auth, {"cancel_status": cancel_status})["cancel_status"] == cancel_status
    waiting = get(client, auth, f"orders/?cancel_status={cancel_status}")
    assert [order["pk"] for order in waiting["results"]] == [1]
    assert applied(client, auth, {"cancel_status": None})["cancel_status"] is None
    assert get(client, auth, f"orders/?cancel_status={cancel_status}")["count"] == 0


@pytest.mark.parametrize("sent", ["x", "", "Waiting", "waiting ", 5, True], ids=repr)
def test_cancel_status_refuses_what_is_no_choice(
    client: FlaskClient, auth: dict[str, str], state: Any, seeded: None, sent: Any
) -> None:
    assert refused(client, auth, state, {"cancel_status": sent}) == (
        400,
        {"cancel_status": [f'"{sent}" is not a valid choice.']},
    )


# --- objects -----------------------------------------------------------------------------


def test_extra_field_is_merged_keeping_keys_not_sent(client: FlaskClient, auth: dict[str, str], seeded: None) -> None:
    sent = {"weight": 3, "nested": {"y": 2}, "new": None}
    # One level deep: a nested object sent replaces the stored one.
    expected = {"erp": "E-1", "weight": 3, "nested": {"y": 2}, "new": None}
    assert applied(client, auth, {"extra_field": sent})["extra_field"] == expected
    assert applied(client, auth, {"extra_field": {}})["extra_field"] == expected


@pytest.mark.parametrize(("name", "stored"), [("attributes", ATTRIBUTES), ("attributes_kwargs", KWARGS)])
def test_attributes_are_replaced_whole(
    client: FlaskClient, auth: dict[str, str], seeded: None, name: str, stored: dict[str, Any]
) -> None:
    assert get(client, auth, "order_items/1/")[name] == stored
    assert applied(client, auth, {name: {"size": "L"}})[name] == {"size": "L"}
    assert applied(client, auth, {name: {}})[name] == {}


@pytest.mark.parametrize("name", OBJECT_FIELDS)
@pytest.mark.parametrize(
    ("sent", "kind"), [([], "list"), ("{}", "str"), (1, "int"), (1.5, "float"), (True, "bool")], ids=repr
)
def test_an_object_field_refuses_what_is_no_object(
    client: FlaskClient, auth: dict[str, str], state: Any, seeded: None, name: str, sent: Any, kind: str
) -> None:
    assert refused(client, auth, state, {name: sent}) == (
        400,
        {name: [f'Expected a dictionary of items but got type "{kind}".']},
    )


@pytest.mark.parametrize("name", OBJECT_FIELDS)
def test_an_object_field_may_not_be_null(
    client: FlaskClient, auth: dict[str, str], state: Any, seeded: None, name: str
) -> None:
    assert refused(client, auth, state, {name: None}) == (400, {name: ["This field may not be null."]})


def test_every_refused_field_is_named_and_nothing_is_written(
    client: FlaskClient, auth: dict[str, str], state: Any, seeded: None
) -> None:
    body = {
        "status": "999",
        "cancel_status": "x",
        "extra_field": [],
        "attributes": "a",
        "attributes_kwargs": None,
        "order_number": "ignored",
    }
    assert refused(client, auth, state, body) == (
        400,
        {
            "status": ["No matching type."],
            "cancel_status": ['"x" is not a valid choice.'],
            "extra_field": ['Expected a dictionary of items but got type "list".'],
            "attributes": ['Expected a dictionary of items but got type "str".'],
            "attributes_kwargs": ["This field may not be null."],
        },
    )
    # One bad field refuses the good ones beside it.
    assert refused(client, auth, state, {"status": "450", "extra_field": {"k": 1}, "cancel_status": "x"})[0] == 400


# --- what else a body holds --------------------------------------------------------------


def test_other_fields_are_ignored_and_reported_as_unknown(
    client: FlaskClient, auth: dict[str, str], seeded: None
) -> None:
    # channel-app's per-item PATCH sends the order number beside the status.
    before = get(client, auth, "order_items/1/")
    body = {"status": "450", "order_number": "1000000001", "tracking_number": "TR1", "price": "1.00"}
    assert applied(client, auth, body) == {**before, "status": "450"}
    [entry] = client.get("/_mock/requests?method=PATCH").get_json()["requests"]
    assert entry["verdict"] == {
        "contract": "order-item-update-request",
        "schema_errors": [],
        "unknown_fields": ["$.order_number", "$.price", "$.tracking_number"],
        "ok": False,
    }


@pytest.mark.parametrize(
    ("body", "kind"), [([{"status": "450"}], "list"), ("status", "str"), (7, "int")], ids=["list", "str", "int"]
)
def test_a_body_that_is_no_object_is_refused(
    client: FlaskClient, auth: dict[str, str], state: Any, seeded: None, body: Any, kind: str
) -> None:
    expected = {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]}
    assert refused(client, auth, state, body) == (400, expected)


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("pk", ["4", "0", "abc", "1.0", "9" * 30])
@pytest.mark.parametrize("body", [{"status": "450"}, {"status": "999"}, []], ids=["valid", "invalid", "no-object"])
def test_an_unknown_item_is_not_found(
    client: FlaskClient, auth: dict[str, str], state: Any, seeded: None, prefix: str, pk: str, body: Any
) -> None:
    before = state()
    response = patch(client, auth, body, pk, prefix)
    assert (response.status_code, response.get_json()) == (404, NOT_FOUND)
    assert state() == before


# --- modified_date ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"status": "400"},
        {"cancel_status": None},
        {"extra_field": {}},
        {"extra_field": {"erp": "E-1"}},
        {"attributes": ATTRIBUTES},
        {"attributes_kwargs": KWARGS, "status": "400", "order_number": "x"},
    ],
    ids=["empty", "same-status", "same-cancel-status", "empty-extra", "same-extra-key", "same-attributes", "all-same"],
)
def test_a_write_that_changes_nothing_moves_no_modified_date(
    client: FlaskClient, auth: dict[str, str], state: Any, seeded: None, body: dict[str, Any]
) -> None:
    before = state()
    item = get(client, auth, "order_items/1/")
    assert applied(client, auth, body) == item
    assert state() == before


@pytest.mark.parametrize(
    ("name", "stored", "sent"),
    [
        ("extra_field", '{"k": 1}', '{"k": true}'),
        ("extra_field", '{"k": 1}', '{"k": 1.0}'),
        ("attributes", '{"k": 0}', '{"k": false}'),
        ("attributes_kwargs", '{"k": [1]}', '{"k": [1.0]}'),
        # Replaced whole, the object keeps the order it was sent in (extra_field's merge keeps the stored order).
        ("attributes", '{"a": 1, "b": 2}', '{"b": 2, "a": 1}'),
    ],
    ids=["one-to-true", "int-to-float", "zero-to-false", "nested-int-to-float", "keys-reordered"],
)
def test_a_value_that_reads_back_differently_is_a_change(
    client: FlaskClient, auth: dict[str, str], seeded: None, name: str, stored: str, sent: str
) -> None:
    # Python holds 1 == True == 1.0; the item's JSON does not: both stores agree it changed.
    headers = {**auth, "Content-Type": JSON}
    assert client.patch("/api/i1/order_items/2/", data=f'{{"{name}": {stored}}}', headers=headers).status_code == 200
    before = modified(client, auth)
    response = client.patch("/api/i1/order_items/2/", data=f'{{"{name}": {sent}}}', headers=headers)
    assert response.status_code == 200
    assert response.get_data(as_text=True).count(sent.replace(" ", "")) == 1
    assert modified(client, auth) == Later(before)


# --- values no JSON store can keep ---------------------------------------------------------


@pytest.mark.parametrize("name", OBJECT_FIELDS)
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"k": 1e400}', "Value must be valid JSON."),
        ('{"k": [1, -1e400]}', "Value must be valid JSON."),
        ('{"k": "\\ud800"}', "Surrogate characters are not allowed: U+D800."),
        ('{"\\udc00": 1}', "Surrogate characters are not allowed: U+DC00."),
        ('{"k": {"deeper": ["x\\udfff"]}}', "Surrogate characters are not allowed: U+DFFF."),
    ],
    ids=["float-overflow", "negative-overflow-in-a-list", "lone-surrogate", "surrogate-key", "nested-surrogate"],
)
def test_an_object_that_json_cannot_carry_back_is_refused(
    client: FlaskClient, auth: dict[str, str], state: Any, seeded: None, name: str, value: str, message: str
) -> None:
    before = state()
    headers = {**auth, "Content-Type": JSON}
    response = client.patch("/api/i1/order_items/1/", data=f'{{"{name}": {value}}}', headers=headers)
    assert (response.status_code, response.get_json()) == (400, {name: [message]})
    assert state() == before
    assert client.get("/_mock/requests").status_code == 200
    assert client.get("/_mock/").status_code == 200


def test_a_body_with_both_kinds_of_problem_names_each_field(
    client: FlaskClient, auth: dict[str, str], state: Any, seeded: None
) -> None:
    before = state()
    body = '{"extra_field": {"k": 1e400}, "attributes": {"k": "\\ud800"}, "status": "999"}'
    response = client.patch("/api/i1/order_items/1/", data=body, headers={**auth, "Content-Type": JSON})
    assert response.get_json() == {
        "status": ["No matching type."],
        "extra_field": ["Value must be valid JSON."],
        "attributes": ["Surrogate characters are not allowed: U+D800."],
    }
    assert state() == before


@pytest.mark.parametrize("field", OBJECT_FIELDS)
def test_an_object_nested_deeper_than_the_store_keeps_is_refused(
    client: FlaskClient, auth: dict[str, str], state: Any, seeded: None, field: str
) -> None:
    """Stored, it would break every later read that encodes it (the item list, the state dump)."""
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(64):
        inner["n"] = {}
        inner = inner["n"]
    assert refused(client, auth, state, {field: deep}) == (
        400,
        {field: ["Nesting deeper than 64 levels is not stored."]},
    )
    assert client.get("/api/i1/order_items/?order=1", headers=auth).status_code == 200


def test_an_object_as_deep_as_allowed_is_kept(client: FlaskClient, auth: dict[str, str], seeded: None) -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(63):
        inner["n"] = {}
        inner = inner["n"]
    assert applied(client, auth, {"attributes": deep})["attributes"] == deep
    assert client.get("/_mock/state").status_code == 200


def test_changing_a_returned_item_changes_nothing_stored(
    app: Any, client: FlaskClient, auth: dict[str, str], seeded: None
) -> None:
    """The service API hands out copies, nested objects included, after a write too."""
    from omnitron_mock import emulator_of

    applied(client, auth, {"attributes": {"n": {"m": "kept"}}})
    handed_out = emulator_of(app).item(1)
    handed_out["attributes"]["n"]["m"] = "changed by a caller"
    handed_out["extra_field"]["erp"] = "changed by a caller"
    stored = get(client, auth, "order_items/1/")
    assert stored["attributes"] == {"n": {"m": "kept"}}
    assert stored["extra_field"]["erp"] == "E-1"
