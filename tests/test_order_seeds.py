"""Orders as seeds make them (issue 15): customers, addresses and the new order
fields, old seeds and ``generate-seed`` output, and SQLite state files written
by the version before orders had them.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from omnitron_mock import DEV_PASSWORD, DEV_TOKEN, DEV_USERNAME, Settings, create_app
from omnitron_mock.seed import DEFAULT_SEED_DOCUMENT
from omnitron_mock.store.sqlite import SQLiteStore

from tests.helpers import ContractCheckedClient, run_cli

AUTH = {"Authorization": f"Token {DEV_TOKEN}"}
PLACES = ("country", "city", "township", "district")


def seed(client: FlaskClient, orders: list[dict[str, Any]]) -> None:
    response = client.post("/_mock/seed?replace=true", json={"orders": orders})
    assert response.status_code == 200, response.get_data(as_text=True)


def get_order(client: FlaskClient, pk: int) -> dict[str, Any]:
    response = client.get(f"/api/i1/orders/{pk}/", headers=AUTH)
    assert response.status_code == 200
    return response.get_json()


def seeded_with_nothing(client: FlaskClient, pk: int) -> dict[str, Any]:
    """Order ``pk`` as a seed naming only its id makes it."""
    seed(client, [{"id": pk, "items": [{"id": 1}]}])
    return get_order(client, pk)


# --- customers and addresses ---------------------------------------------------------------


def test_every_order_has_a_customer_and_addresses(client: FlaskClient) -> None:
    for pk in (1, 2):
        order = get_order(client, pk)
        assert order["customer"]["email"] and order["customer"]["first_name"]
        assert order["shipping_address"]["city"]["name"] and order["shipping_address"]["line"]
        assert order["billing_address"] == order["shipping_address"]
        assert order["modified_date"] == order["date_placed"]
        assert (order["is_send"], order["cargo_company"]) == (False, None)


def test_a_customer_seeded_in_part_keeps_the_defaults_of_the_rest(client: FlaskClient) -> None:
    defaults = seeded_with_nothing(client, 7)["customer"]
    seed(client, [{"id": 7, "customer": {"first_name": "Ali", "phone_number": None}}])
    assert get_order(client, 7)["customer"] == {**defaults, "first_name": "Ali", "phone_number": None}


def test_an_address_seeded_in_part_is_billed_there_too(client: FlaskClient) -> None:
    defaults = seeded_with_nothing(client, 7)["shipping_address"]
    ankara = {"pk": 6, "name": "Ankara"}
    seed(client, [{"id": 7, "shipping_address": {"city": ankara, "line": "Kızılay Meydanı 1", "postcode": None}}])
    order = get_order(client, 7)
    assert order["shipping_address"] == {**defaults, "city": ankara, "line": "Kızılay Meydanı 1", "postcode": None}
    assert order["billing_address"] == order["shipping_address"]


def test_a_billing_address_seeded_in_part_takes_the_rest_from_the_shipping_address(client: FlaskClient) -> None:
    shipping = {"line": "Bahariye Cad. 5", "title": "Ev"}
    billing = {"company_name": "Örnek A.Ş.", "tax_office": "Kadıköy", "tax_no": "1234567890", "e_bill_taxpayer": True}
    seed(client, [{"id": 7, "shipping_address": shipping, "billing_address": billing}])
    order = get_order(client, 7)
    assert order["billing_address"] == {**order["shipping_address"], **billing}
    assert order["shipping_address"]["company_name"] is None


@pytest.mark.parametrize("place", PLACES)
def test_a_place_seeded_in_part_keeps_the_rest_of_its_default(client: FlaskClient, place: str) -> None:
    # The seed contract lets each key of a place go; the order contract needs them all.
    defaults = seeded_with_nothing(client, 7)["shipping_address"]
    seed(client, [{"id": 7, "shipping_address": {place: {"name": "İzmir"}}, "billing_address": {place: {"pk": 35}}}])
    order = get_order(client, 7)
    assert order["shipping_address"] == {**defaults, place: {**defaults[place], "name": "İzmir"}}
    assert order["billing_address"] == {
        **order["shipping_address"],
        place: {**defaults[place], "name": "İzmir", "pk": 35},
    }


def test_the_new_order_fields_are_seeded_as_given(client: FlaskClient) -> None:
    fields = {
        "cargo_company": 34,
        "is_send": True,
        "modified_date": "2021-08-01T12:00:00.5+03:00",
        "shipping_tax_rate": None,
        "extra_field": {"channel_order": "X-1"},
        "payment_option": None,
        "payment_option_slug": "pay-at-door",
        "bin_number": "454360",
        "installment": 3,
        "installment_count": 3,
        "delivery_type": None,
        "installment_interest_amount": "1.50",
        "refund_amount": "0.00",
        "discount_refund_amount": "2.00",
    }
    seed(client, [{"id": 7, **fields, "items": [{"id": 1}]}])
    assert get_order(client, 7) == {
        **seeded_with_nothing(client, 7),
        **fields,
        "modified_date": "2021-08-01T09:00:00.500000Z",
    }


def test_seeded_orders_are_found_by_their_flags(client: FlaskClient) -> None:
    seed(
        client,
        [{"id": 1, "is_send": True}, {"id": 2}, {"id": 3, "is_send": True, "modified_date": "2021-08-01T00:00:00Z"}],
    )
    sent = client.get("/api/i1/orders/?is_send=true", headers=AUTH).get_json()
    assert [order["pk"] for order in sent["results"]] == [1, 3]
    recent = client.get("/api/i1/orders/?modified_date__gte=2021-08-01", headers=AUTH).get_json()
    assert [order["pk"] for order in recent["results"]] == [3]


# --- old seeds and generated ones ----------------------------------------------------------


def test_the_default_seed_document_loads(client: FlaskClient, state: Any) -> None:
    before = state()
    assert client.post("/_mock/seed?replace=true", json=DEFAULT_SEED_DOCUMENT).status_code == 200
    assert state() == before


def test_a_seed_without_the_new_fields_still_loads(client: FlaskClient) -> None:
    old = {
        "id": 5,
        "number": "OLD-5",
        "channel": 2,
        "status": "450",
        "date_placed": "2021-06-01T10:00:00Z",
        "currency": "eur",
        "shipping_amount": "5.00",
        "cargo_company": None,
        "is_send": False,
        "items": [{"id": 9, "price": "10.00"}],
    }
    seed(client, [old])
    order = get_order(client, 5)
    kept = {name: order[name] for name in ("number", "channel", "status", "date_placed", "currency", "amount")}
    assert kept == {**{name: old[name] for name in kept if name != "amount"}, "amount": "15.00"}
    assert order["modified_date"] == "2021-06-01T10:00:00Z"
    assert order["customer"]["pk"] == 5 and order["shipping_address"]["country"]["code"] == "tr"


@pytest.mark.parametrize(
    "modified_date", ["2021-02-30T00:00:00Z", "yesterday", "2021-07-14T25:00:00Z", 1626220800, None]
)
def test_a_seed_with_a_bad_modified_date_is_refused_by_path(
    client: FlaskClient, state: Any, modified_date: object
) -> None:
    before = state()
    orders = [{"id": 1, "modified_date": modified_date}]
    response = client.post("/_mock/seed?replace=true", json={"orders": orders})
    assert response.status_code == 400
    assert [error["path"] for error in response.get_json()["errors"]] == ["$.orders[0].modified_date"]
    assert state() == before


def test_generated_seeds_load_with_a_customer_and_an_address_per_order(client: FlaskClient) -> None:
    generated = run_cli("generate-seed", "--orders", "12", "--items", "2")
    assert generated.returncode == 0, generated.stderr
    response = client.post("/_mock/seed?replace=true", data=generated.stdout, content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)
    orders = client.get("/api/i1/orders/?limit=12", headers=AUTH).get_json()["results"]
    assert [order["pk"] for order in orders] == list(range(1, 13))
    for order in orders:
        assert order["customer"]["email"] and order["customer"]["first_name"] and order["customer"]["last_name"]
        assert order["shipping_address"]["first_name"] == order["customer"]["first_name"]
        assert all(order["shipping_address"][place]["name"] for place in PLACES)
    assert len({(o["customer"]["first_name"], o["customer"]["last_name"]) for o in orders}) > 1
    assert len({o["shipping_address"]["city"]["name"] for o in orders}) > 1


# --- SQLite files of the previous version ----------------------------------------------------

# The layout written before orders had customers, addresses and modified_date
# (git show 7079814:mockserver/omnitron_mock/store/sqlite.py, records.py):
# orders as 13 fields, cargo_company a courier slug; the startup seed keeps
# orders and items as lists of their values in field order.
OLD_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE users (
    username TEXT PRIMARY KEY, pk INTEGER NOT NULL, token_digest BLOB NOT NULL UNIQUE, data TEXT NOT NULL);
CREATE TABLE orders (pk INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE items (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX items_by_order ON items (order_id, id);
CREATE INDEX orders_by_number ON orders (json_extract(data, '$.number'), pk);
CREATE TABLE journal (id INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL);
"""
OLD_ORDER_FIELDS = (
    "pk", "number", "channel", "status", "date_placed", "currency", "amount", "shipping_amount",
    "cargo_company", "invoice_number", "invoice_date", "e_archive_url", "is_send",
)  # fmt: skip


def old_order(pk: int, cargo_company: str | None, is_send: bool, status: str = "400") -> dict[str, Any]:
    return {
        "pk": pk,
        "number": f"OLD-{pk}",
        "channel": 1,
        "status": status,
        "date_placed": f"2021-07-1{pk}T09:00:00Z",
        "currency": "try",
        "amount": "100.00",
        "shipping_amount": "0.00",
        "cargo_company": cargo_company,
        "invoice_number": None,
        "invoice_date": None,
        "e_archive_url": None,
        "is_send": is_send,
    }


def old_item(item_id: int, order_id: int, status: str, tracking_number: str | None) -> dict[str, Any]:
    return {
        "id": item_id,
        "order": order_id,
        "product_sku": f"SKU{item_id:08d}",
        "status": status,
        "price_currency": "try",
        "price": "100.00",
        "tax_rate": "18.00",
        "extra_field": {},
        "price_list": 1,
        "stock_list": 1,
        "cancel_status": None,
        "invoice_number": None,
        "invoice_date": None,
        "e_archive_url": None,
        "installment_interest_amount": "0.00",
        "tracking_number": tracking_number,
        "carrier_shipping_code": None,
        "shipping_company": "yurtici" if tracking_number else None,
        "shipment_code": None,
        "external_status": None,
        "discount_amount": "0.00",
        "retail_price": None,
        "attributes": {},
        "attributes_kwargs": {},
        "image": None,
    }


OLD_USER = {
    "pk": 1,
    "username": DEV_USERNAME,
    "password": DEV_PASSWORD,
    "token": DEV_TOKEN,
    "email": "mock-user@example.com",
    "first_name": "Mock",
    "last_name": "User",
    "is_active": True,
}
# What the file holds now (order 1 sent, shipped by a courier slug) and what
# it started from (nothing sent yet).
OLD_ORDERS = [old_order(1, "yurtici", True, "500"), old_order(2, None, False)]
OLD_ITEMS = [old_item(1, 1, "500", "TR-OLD-1"), old_item(2, 2, "400", None)]
OLD_STARTUP_ORDERS = [old_order(1, "aras", False), old_order(2, None, False), old_order(3, "ups", False)]
OLD_STARTUP_ITEMS = [old_item(1, 1, "400", None), old_item(2, 2, "400", None), old_item(3, 3, "400", None)]


def write_old_state_file(path: Path) -> None:
    startup = {
        "users": [OLD_USER],
        "orders": [[order[name] for name in OLD_ORDER_FIELDS] for order in OLD_STARTUP_ORDERS],
        "items": [list(item.values()) for item in OLD_STARTUP_ITEMS],
        "faults": [],
    }
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.executescript(OLD_SCHEMA)
        connection.execute("BEGIN")
        connection.execute(
            "INSERT INTO users VALUES (?, ?, ?, ?)",
            (DEV_USERNAME, 1, hashlib.sha256(DEV_TOKEN.encode()).digest(), json.dumps(OLD_USER)),
        )
        connection.executemany(
            "INSERT INTO orders VALUES (?, ?)", [(order["pk"], json.dumps(order)) for order in OLD_ORDERS]
        )
        connection.executemany(
            "INSERT INTO items VALUES (?, ?, ?)", [(i["id"], i["order"], json.dumps(i)) for i in OLD_ITEMS]
        )
        connection.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [
                ("startup_seed", json.dumps(startup)),
                ("seeded", "1"),
                ("faults", "[]"),
                ("settings_generation", "3"),
                ("journal_bytes", "0"),
            ],
        )
        connection.execute("COMMIT")


def as_seeded(order: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    """The seed document order holding an old order's fields (cargo_company aside)."""
    named = {name: order[name] for name in ("number", "channel", "status", "date_placed", "currency", "is_send")}
    return {"id": order["pk"], **named, "items": [{"id": i["id"], "price": i["price"]} for i in items]}


def expected_upgrade(orders: list[dict[str, Any]], items: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Each old order as an emulator seeded with its fields (and nothing new) shows it."""
    reference = create_app().test_client()
    document = [as_seeded(order, [i for i in items if i["order"] == order["pk"]]) for order in orders]
    assert reference.post("/_mock/seed?replace=true", json={"orders": document}).status_code == 200
    return {order["pk"]: get_order(reference, order["pk"]) for order in orders}


@pytest.fixture
def old_file(tmp_path: Path) -> Path:
    path = tmp_path / "old.db"
    write_old_state_file(path)
    return path


def served(path: Path) -> FlaskClient:
    application = create_app(Settings(db=str(path)))
    application.test_client_class = ContractCheckedClient
    return application.test_client()


def test_a_state_file_of_the_previous_version_opens_with_its_orders_upgraded(old_file: Path) -> None:
    client = served(old_file)
    expected = expected_upgrade(OLD_ORDERS, OLD_ITEMS)
    for pk in (1, 2):
        order = get_order(client, pk)
        # The courier slug names no cargo company id: dropped.
        assert order == expected[pk]
        assert order["cargo_company"] is None and order["modified_date"] == order["date_placed"]
    for item in OLD_ITEMS:
        assert client.get(f"/api/i1/order_items/{item['id']}/", headers=AUTH).get_json() == item
    waiting = client.get("/api/i1/orders/?is_send=False", headers=AUTH).get_json()
    assert [order["pk"] for order in waiting["results"]] == [2]


def test_an_upgraded_file_takes_the_erp_loop_and_keeps_it_across_restarts(old_file: Path) -> None:
    client = served(old_file)
    assert client.patch("/api/i1/orders/2/", json={"is_send": True}, headers=AUTH).status_code == 200
    assert client.post("/api/i1/order_items/2/create_mapping/", json={"code": "E2"}, headers=AUTH).status_code == 201
    bulk = {"orderitem_set": [{"id": 2, "status": "450"}]}
    assert client.patch("/api/i1/order_items/bulk_status_update/", json=bulk, headers=AUTH).status_code == 200
    state = client.get("/_mock/state").get_json()
    # A second start on the file upgrades nothing again: what the loop wrote stays.
    again = served(old_file)
    assert again.get("/_mock/state").get_json() == state
    assert again.post("/api/i1/order_items/2/create_mapping/", json={"code": "E2"}, headers=AUTH).status_code == 200


def test_a_reset_of_an_upgraded_file_goes_to_the_startup_seed(old_file: Path) -> None:
    client = served(old_file)
    assert client.post("/_mock/reset").status_code == 200
    fresh = create_app().test_client()
    assert client.get("/_mock/state").get_json() == fresh.get("/_mock/state").get_json()


def test_the_startup_seed_a_previous_version_stored_still_resets(old_file: Path) -> None:
    # A store opened on the file without a new startup seed restores the one stored, as value lists.
    store = SQLiteStore(old_file)
    store.reset()
    expected = expected_upgrade(OLD_STARTUP_ORDERS, OLD_STARTUP_ITEMS)
    for pk, order in expected.items():
        assert store.get_order(pk) == order
    assert [item["status"] for item in store.iter_items()] == ["400", "400", "400"]
    assert store.users() == [OLD_USER]
    assert store.mappings() == []
