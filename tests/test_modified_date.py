"""An order's modified_date (issue 15): moved by every change to the order or its
items, by nothing else, and always forward, so that a connector polling
``modified_date__gt`` sees each change once.

Default seed: order 1 holds items 1, 2, 3 and order 2 holds items 4, 5.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from itertools import pairwise
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.helpers import Later

BULK = "/api/i1/order_items/bulk_status_update/"
Write = Callable[[FlaskClient, dict[str, str]], Any]


def bulk(*items: dict[str, Any]) -> Write:
    return lambda client, auth: client.patch(BULK, json={"orderitem_set": list(items)}, headers=auth)


def item_patch(item: int, body: Any) -> Write:
    return lambda client, auth: client.patch(f"/api/i1/order_items/{item}/", json=body, headers=auth)


def order_patch(order: int, body: Any) -> Write:
    return lambda client, auth: client.patch(f"/api/v1/orders/{order}/", json=body, headers=auth)


def mapping(item: int, code: str) -> Write:
    return lambda client, auth: client.post(
        f"/api/i1/order_items/{item}/create_mapping/", json={"code": code}, headers=auth
    )


def dates(client: FlaskClient) -> dict[int, str]:
    return {order["pk"]: order["modified_date"] for order in client.get("/_mock/state").get_json()["orders"]}


CHANGES = [
    pytest.param(bulk({"id": 2, "status": "450"}), id="bulk-status"),
    pytest.param(bulk({"id": 2, "tracking_number": "TR1"}), id="bulk-tracking-number"),
    pytest.param(item_patch(3, {"status": "450"}), id="item-status"),
    pytest.param(item_patch(1, {"cancel_status": "waiting"}), id="item-cancel-status"),
    pytest.param(item_patch(1, {"extra_field": {"erp": "E1"}}), id="item-extra-field"),
    pytest.param(item_patch(1, {"attributes_kwargs": {"k": 1}}), id="item-attributes-kwargs"),
    pytest.param(order_patch(1, {"is_send": True}), id="order-is-send"),
    pytest.param(mapping(2, "E2"), id="new-mapping"),
]


@pytest.mark.parametrize("write", CHANGES)
def test_a_change_moves_its_orders_modified_date_only(client: FlaskClient, auth: dict[str, str], write: Write) -> None:
    before = dates(client)
    response = write(client, auth)
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    assert dates(client) == {1: Later(before[1]), 2: before[2]}


# Writes answered 2xx that set what is stored already.
NO_OPS = [
    pytest.param(bulk({"id": 1, "status": "400"}, {"id": 2}), id="bulk-same-status"),
    pytest.param(item_patch(1, {"status": "400", "cancel_status": None, "extra_field": {}}), id="item-same-values"),
    pytest.param(item_patch(1, {"order_number": "1000000001"}), id="item-unknown-field-only"),
    pytest.param(order_patch(1, {"is_send": False}), id="order-not-sent-again"),
    pytest.param(order_patch(1, {"status": "500"}), id="order-without-is-send"),
]
REFUSALS = [
    pytest.param(bulk({"id": 1, "status": "999"}), id="bulk-bad-status"),
    pytest.param(bulk({"id": 1, "status": "450"}, {"id": 4, "status": "450"}), id="bulk-two-orders"),
    pytest.param(item_patch(1, {"status": "450", "extra_field": []}), id="item-bad-field"),
    pytest.param(order_patch(1, {"is_send": "maybe"}), id="order-bad-boolean"),
    pytest.param(mapping(1, ""), id="mapping-blank-code"),
    pytest.param(order_patch(99, {"is_send": True}), id="unknown-order"),
]


@pytest.mark.parametrize("write", NO_OPS + REFUSALS)
def test_a_write_that_changes_nothing_moves_nothing(
    client: FlaskClient, auth: dict[str, str], state: Any, write: Write
) -> None:
    before = state()
    write(client, auth)
    assert state() == before


def test_a_strict_refusal_moves_nothing(client: FlaskClient, auth: dict[str, str], state: Any) -> None:
    assert client.put("/_mock/strict", json={"strict": True}).status_code == 200
    before = state()
    assert item_patch(1, {"status": "500"})(client, auth).status_code == 400
    assert bulk({"id": 1, "status": "500"})(client, auth).status_code == 400
    assert state() == before


def test_a_mapping_made_again_moves_nothing(client: FlaskClient, auth: dict[str, str], state: Any) -> None:
    assert mapping(1, "E1")(client, auth).status_code == 201
    before = state()
    assert mapping(1, "E1")(client, auth).status_code == 200
    assert mapping(1, "E2")(client, auth).status_code == 400
    assert state() == before


@pytest.mark.parametrize("write", CHANGES)
def test_a_faulted_write_moves_nothing(client: FlaskClient, auth: dict[str, str], state: Any, write: Write) -> None:
    assert client.post("/_mock/faults", json={"kind": "status", "status": 503}).status_code == 201
    before = state()
    assert write(client, auth).status_code == 503
    assert state() == before


def test_quick_successive_changes_move_it_strictly_forward(client: FlaskClient, auth: dict[str, str]) -> None:
    # Many changes within one clock tick still give distinct, increasing stamps.
    stamps = [dates(client)[1]]
    for round_ in range(40):
        if round_ % 2:
            write = order_patch(1, {"is_send": round_ % 4 == 1})
        else:
            write = item_patch(1, {"status": "450" if round_ % 4 == 0 else "400"})
        assert write(client, auth).status_code == 200
        stamps.append(dates(client)[1])
    moments = [datetime.fromisoformat(stamp) for stamp in stamps]
    assert all(earlier < later for earlier, later in pairwise(moments))


def test_a_change_to_an_order_dated_in_the_future_still_moves_it_forward(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    seed = {"orders": [{"id": 1, "modified_date": "2999-12-31T23:59:59.999999Z", "items": [{"id": 1}]}]}
    assert client.post("/_mock/seed?replace=true", json=seed).status_code == 200
    assert order_patch(1, {"is_send": True})(client, auth).status_code == 200
    assert dates(client)[1] == Later("2999-12-31T23:59:59.999999Z")


def test_a_connector_polling_modified_date_sees_each_change_once(client: FlaskClient, auth: dict[str, str]) -> None:
    def changed_since(stamp: str) -> list[int]:
        page = client.get(f"/api/i1/orders/?modified_date__gt={stamp}&sort=modified_date", headers=auth).get_json()
        return [order["pk"] for order in page["results"]]

    seen = max(dates(client).values(), key=datetime.fromisoformat)
    assert changed_since(seen) == []
    assert bulk({"id": 4, "status": "450"})(client, auth).status_code == 200
    assert order_patch(1, {"is_send": True})(client, auth).status_code == 200
    assert changed_since(seen) == [2, 1]
    seen = max(dates(client).values(), key=datetime.fromisoformat)
    assert changed_since(seen) == []
    assert mapping(4, "E4")(client, auth).status_code == 201
    assert changed_since(seen) == [2]


def test_an_order_dated_at_the_calendars_end_keeps_its_stamp(client: FlaskClient, auth: dict[str, str]) -> None:
    """No microsecond follows 9999-12-31T23:59:59.999999: the write succeeds, the stamp stays."""
    last = "9999-12-31T23:59:59.999999Z"
    seed = {"orders": [{"id": 1, "modified_date": last, "items": [{"id": 1}]}]}
    assert client.post("/_mock/seed?replace=true", json=seed).status_code == 200
    shipped = {"orderitem_set": [{"id": 1, "status": "450"}]}
    assert client.patch("/api/i1/order_items/bulk_status_update/", json=shipped, headers=auth).status_code == 200
    assert order_patch(1, {"is_send": True})(client, auth).status_code == 200
    assert dates(client)[1] == last
