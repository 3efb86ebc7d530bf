"""Issue 15's polling loop over real HTTP, driven by Akinon's own Python SDK
(``omnisdk``) and, in a twin test, by plain ``requests``: log in, page
through the approved orders not yet sent, mark each one sent, poll again and
find nothing, ship one order with the bulk status update and read it back.

What each step must show is worked out here from the seed document; the
journal (``/_mock/requests``) says how many list requests were made.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from omnisdk.omnitron.client import OmnitronApiClient
from omnisdk.omnitron.endpoints import OmnitronApiEndpoint, OrderByNumberEndpoint, OrderItemEndpoint
from omnisdk.omnitron.models import Order
from omnitron_mock import DEV_PASSWORD, DEV_USERNAME

from tests.helpers import check_response_contract

APPROVED = "400"
SHIPPED = "500"


def order(pk: int, item_ids: list[int], *, status: str = APPROVED, is_send: bool = False) -> dict[str, Any]:
    return {"id": pk, "status": status, "is_send": is_send, "items": [{"id": i} for i in item_ids]}


# Three approved orders waiting for the ERP, mixed with orders the poll must
# not list: one already sent, and waiting ones in other statuses.
ORDERS = [
    order(1, [11, 12]),
    order(2, [21], is_send=True),
    order(3, [31], status="450"),
    order(4, [41]),
    order(5, [51], status="100"),
    order(6, [61, 62]),
    order(7, [71], status=APPROVED, is_send=True),
]
WAITING = [o["id"] for o in ORDERS if o["status"] == APPROVED and not o["is_send"]]
POLL = {"is_send": False, "status": APPROVED, "limit": 2}
SHIPMENT = {
    "orderitem_set": [
        {"id": item_id, "status": SHIPPED, "tracking_number": "TR100", "shipping_company": "yurtici"}
        for item_id in (11, 12)
    ]
}


@pytest.fixture
def emulator(live_server: Any) -> str:
    """The live emulator's root URL, seeded with ORDERS only."""
    response = requests.post(f"{live_server.url}/_mock/seed?replace=true", json={"orders": ORDERS}, timeout=10)
    assert response.status_code == 200, response.text
    assert WAITING == [1, 4, 6]
    return live_server.url


def list_requests(root: str, prefix: str) -> list[dict[str, list[str]]]:
    """The queries of the order list requests the journal holds, oldest first."""
    found = requests.get(f"{root}/_mock/requests", params={"method": "GET", "path": "/orders/"}, timeout=10).json()
    return [parse_qs(entry["query"]) for entry in found["requests"] if entry["path"] == f"{prefix}orders/"]


def stored(root: str, path: str) -> Any:
    response = requests.get(f"{root}/_mock/{path}", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def assert_untouched_but_sent(root: str, before: dict[str, Any], sent: list[int]) -> None:
    """Every order as ``before`` but those in ``sent``, which are now sent."""
    after = {o["pk"]: o for o in stored(root, "state/orders")["orders"]}
    assert sorted(after) == sorted(before)
    for pk, was in before.items():
        if pk in sent:
            assert after[pk]["is_send"] is True and after[pk]["modified_date"] != was["modified_date"]
            assert {**after[pk], "is_send": False, "modified_date": None} == {**was, "modified_date": None}
        else:
            assert after[pk] == was


def assert_shipped(item: dict[str, Any]) -> None:
    assert (item["status"], item["tracking_number"], item["shipping_company"]) == (SHIPPED, "TR100", "yurtici")


class OrderEndpoint(OmnitronApiEndpoint):
    """``orders/``: omnisdk 0.0.103 declares ``channel/{channel_id}/orders``
    and ``order_number`` but no endpoint for the integration API's order list,
    so a connector declares its own, as the SDK's README shows for endpoints
    it lacks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, endpoint="orders", model=Order, **kwargs)


@pytest.fixture
def sdk(emulator: str) -> Iterator[OmnitronApiClient]:
    """omnisdk logged in as its users log in (username and password: it posts
    ``auth/login/`` itself), every answer it gets checked against its contract."""

    def check(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        check_response_contract(
            response.request.method or "", response.request.path_url.split("?")[0], response.status_code, response.text
        )

    # The SDK appends its route "api/v1/" to the root URL as given: the root needs its slash.
    with OmnitronApiClient(base_url=f"{emulator}/", username=DEV_USERNAME, password=DEV_PASSWORD) as api:
        api.session.hooks["response"].append(check)
        yield api


def test_omnisdk_runs_the_export_loop_to_the_end(emulator: str, sdk: Any) -> None:
    before = {o["pk"]: o for o in stored(emulator, "state/orders")["orders"]}
    orders = OrderEndpoint()

    # The SDK's pagination: list() reads page 1, its iterator the pages after
    # it while `next` is not null.
    polled = orders.list(params=dict(POLL))
    for batch in orders.iterator:
        polled.extend(batch)

    assert sorted(o.pk for o in polled) == WAITING
    assert len(polled) == len(WAITING)
    assert list_requests(emulator, "/api/v1/") == [
        {"is_send": ["False"], "status": [APPROVED], "limit": ["2"], "page": [page]} for page in ("1", "2")
    ]
    assert all(o.status == APPROVED and o.is_send is False for o in polled)

    for found in polled:
        assert orders.update(id=found.pk, item=Order(is_send=True)).is_send is True
    assert_untouched_but_sent(emulator, before, WAITING)

    assert orders.list(params=dict(POLL)) == []
    assert list(orders.iterator) == []

    # The SDK's only PATCH call is update(id, item), which PATCHes
    # order_items/{id}/: the bulk route's name in place of the id is that URL.
    shipped_at = stored(emulator, "state/orders/1")["modified_date"]
    OrderItemEndpoint(raw=True).update(id="bulk_status_update", item=SHIPMENT)
    for item_id in (11, 12):
        assert_shipped(OrderItemEndpoint(raw=True).retrieve(id=item_id))
    assert OrderItemEndpoint(raw=True).retrieve(id=61)["status"] == APPROVED
    read_back = OrderByNumberEndpoint(raw=True).retrieve(id=before[1]["number"])
    assert read_back["pk"] == 1 and read_back["orderitem_set"] == [11, 12]
    assert read_back["modified_date"] != shipped_at


def test_plain_requests_run_the_export_loop_to_the_end(emulator: str, http: requests.Session) -> None:
    before = {o["pk"]: o for o in stored(emulator, "state/orders")["orders"]}
    base = f"{emulator}/api/i1/"
    login = http.post(f"{base}auth/login/", json={"username": DEV_USERNAME, "password": DEV_PASSWORD}, timeout=10)
    assert login.status_code == 200, login.text
    http.headers["Authorization"] = f"Token {login.json()['key']}"

    def poll() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        page = http.get(f"{base}orders/", params=POLL, timeout=10).json()
        while True:
            assert page["count"] >= len(page["results"])
            found += page["results"]
            if not page["next"]:
                return found
            page = http.get(page["next"], timeout=10).json()

    polled = poll()
    assert [o["pk"] for o in polled] == WAITING
    # The second page's link keeps the filters; the first page has no page parameter.
    assert list_requests(emulator, "/api/i1/") == [
        {"is_send": ["False"], "status": [APPROVED], "limit": ["2"], **page} for page in ({}, {"page": ["2"]})
    ]

    for found in polled:
        marked = http.patch(f"{base}orders/{found['pk']}/", json={"is_send": True}, timeout=10)
        assert marked.status_code == 200, marked.text
        assert marked.json()["is_send"] is True
    assert_untouched_but_sent(emulator, before, WAITING)

    assert poll() == []

    shipped_at = stored(emulator, "state/orders/1")["modified_date"]
    shipped = http.patch(f"{base}order_items/bulk_status_update/", json=SHIPMENT, timeout=10)
    assert shipped.status_code == 200, shipped.text
    lines = http.get(f"{base}order_items/", params={"order": 1, "limit": 10}, timeout=10).json()["results"]
    assert [line["id"] for line in lines] == [11, 12]
    for line in lines:
        assert_shipped(line)
    assert http.get(f"{base}order_items/61/", timeout=10).json()["status"] == APPROVED
    read_back = http.get(f"{base}orders/1/", timeout=10).json()
    assert read_back["modified_date"] != shipped_at
