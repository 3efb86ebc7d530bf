"""Read-back endpoints: one item, a page of items, one order, the active user."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from omnitron_mock import DEV_USERNAME, Settings

PREFIXES = ("/api/i1", "/api/v1")


@pytest.mark.parametrize("prefix", PREFIXES)
def test_item_detail_is_the_stored_item(client: FlaskClient, auth: dict[str, str], state: Any, prefix: str) -> None:
    stored = state()["orders"][0]["items"][1]
    response = client.get(f"{prefix}/order_items/2/", headers=auth)
    assert response.status_code == 200
    assert response.get_json() == stored


@pytest.mark.parametrize("prefix", PREFIXES)
def test_order_detail_lists_its_item_ids(client: FlaskClient, auth: dict[str, str], prefix: str) -> None:
    order = client.get(f"{prefix}/orders/1/", headers=auth).get_json()
    assert order["pk"] == 1
    assert order["orderitem_set"] == [1, 2, 3]
    assert order["amount"] == "203.00"
    assert client.get(f"{prefix}/orders/2/", headers=auth).get_json()["orderitem_set"] == [4, 5]


def test_item_list_filters_by_order(client: FlaskClient, auth: dict[str, str]) -> None:
    page = client.get("/api/i1/order_items/?order=2", headers=auth).get_json()
    assert page["count"] == 2
    assert [item["id"] for item in page["results"]] == [4, 5]
    assert page["next"] is None
    assert page["previous"] is None


def test_item_list_without_filter_lists_everything(client: FlaskClient, auth: dict[str, str]) -> None:
    page = client.get("/api/i1/order_items/", headers=auth).get_json()
    assert [item["id"] for item in page["results"]] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("order", ["999", "-1", str(10**30)])
def test_item_list_of_an_unknown_order_is_empty(client: FlaskClient, auth: dict[str, str], order: str) -> None:
    page = client.get(f"/api/i1/order_items/?order={order}", headers=auth).get_json()
    assert page == {"count": 0, "next": None, "previous": None, "results": []}


@pytest.mark.parametrize("route", ["order_items", "orders"])
@pytest.mark.parametrize("digits", [19, 31, 5000], ids=["past-64-bit", "30-digits", "past-int-parsing"])
def test_ids_beyond_any_store_are_not_found(client: FlaskClient, auth: dict[str, str], route: str, digits: int) -> None:
    response = client.get(f"/api/i1/{route}/{'9' * digits}/", headers=auth)
    assert (response.status_code, response.get_json()) == (404, {"detail": "Not found."})


def test_item_list_pages_link_to_each_other(client: FlaskClient, auth: dict[str, str]) -> None:
    first = client.get("/api/i1/order_items/?page_size=2", headers=auth).get_json()
    assert first["count"] == 5
    assert [item["id"] for item in first["results"]] == [1, 2]
    assert first["next"] == "http://localhost/api/i1/order_items/?page_size=2&page=2"
    second = client.get(first["next"], headers=auth).get_json()
    assert [item["id"] for item in second["results"]] == [3, 4]
    assert second["previous"] == "http://localhost/api/i1/order_items/?page_size=2"
    third = client.get(second["next"], headers=auth).get_json()
    assert [item["id"] for item in third["results"]] == [5]
    assert third["next"] is None


@pytest.mark.parametrize(
    ("query", "size"),
    [("limit=2", 2), ("limit=2&page_size=3", 2), ("page_size=3&limit=2", 2), ("limit=0&page_size=3", 5)],
)
def test_item_list_takes_limit_before_page_size(
    client: FlaskClient, auth: dict[str, str], query: str, size: int
) -> None:
    page = client.get(f"/api/i1/order_items/?{query}", headers=auth).get_json()
    assert [item["id"] for item in page["results"]] == [1, 2, 3, 4, 5][:size]
    assert (page["next"] is None) == (size == 5)


@pytest.mark.parametrize("bad_size", ["0", "-1", "x"])
def test_bad_page_size_falls_back_to_the_default_as_drf_does(
    client: FlaskClient, auth: dict[str, str], bad_size: str
) -> None:
    page = client.get(f"/api/i1/order_items/?page_size={bad_size}", headers=auth).get_json()
    assert [item["id"] for item in page["results"]] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("settings", [Settings(page_size=3)])
def test_default_page_size_is_configurable(client: FlaskClient, auth: dict[str, str]) -> None:
    page = client.get("/api/i1/order_items/", headers=auth).get_json()
    assert len(page["results"]) == 3
    assert page["next"].endswith("?page=2")


@pytest.mark.parametrize(
    ("query", "status", "body"),
    [
        ("page=9", 404, {"detail": "Invalid page."}),
        ("page=0", 404, {"detail": "Invalid page."}),
        ("page=x", 404, {"detail": "Invalid page."}),
        ("order=abc", 400, {"order": ["Enter a number."]}),
        (f"page={10**30}", 404, {"detail": "Invalid page."}),
    ],
    ids=["past-the-end", "zero-page", "word-page", "word-order", "huge-page"],
)
def test_item_list_refuses_bad_queries(
    client: FlaskClient, auth: dict[str, str], state: Any, query: str, status: int, body: dict[str, Any]
) -> None:
    before = state()
    response = client.get(f"/api/i1/order_items/?{query}", headers=auth)
    assert response.status_code == status
    assert response.get_json() == body
    assert state() == before


def test_active_user_describes_the_token_owner(client: FlaskClient, auth: dict[str, str]) -> None:
    user = client.get("/api/v1/active_user/", headers=auth).get_json()
    assert user == {
        "pk": 1,
        "username": DEV_USERNAME,
        "email": "mock-user@example.com",
        "first_name": "Mock",
        "last_name": "User",
        "is_active": True,
    }


def test_seeded_users_get_their_own_primary_keys(client: FlaskClient) -> None:
    seed = {"users": [{"username": "erp", "password": "pw", "token": "erp-token"}]}
    assert client.post("/_mock/seed", json=seed).status_code == 200
    user = client.get("/api/i1/active_user/", headers={"Authorization": "Token erp-token"}).get_json()
    assert user["pk"] == 2
    assert client.post("/_mock/seed", json=seed).status_code == 200, "seeding a user again keeps its key"
    assert client.get("/api/i1/active_user/", headers={"Authorization": "Token erp-token"}).get_json()["pk"] == 2


@pytest.mark.parametrize("prefix", PREFIXES)
def test_order_by_number_is_the_order(client: FlaskClient, auth: dict[str, str], prefix: str) -> None:
    order = client.get(f"{prefix}/orders/2/", headers=auth).get_json()
    response = client.get(f"{prefix}/order_number/{order['number']}/", headers=auth)
    assert response.status_code == 200
    assert response.get_json() == order
    unknown = client.get(f"{prefix}/order_number/NO-SUCH-ORDER/", headers=auth)
    assert (unknown.status_code, unknown.get_json()) == (404, {"detail": "Not found."})


@pytest.mark.parametrize(
    "number",
    ["%ED%A0%80", "%00", "x%2Fy", "9" * 5000, "%F0%9F%98%80", "%27%3B%20DROP%20TABLE%20orders%3B%20--", "%25"],
    ids=["lone-surrogate", "nul", "encoded-slash", "long", "emoji", "sql", "percent"],
)
def test_an_odd_order_number_is_not_found(client: FlaskClient, auth: dict[str, str], number: str) -> None:
    response = client.get(f"/api/i1/order_number/{number}/", headers=auth)
    assert (response.status_code, response.get_json()) == (404, {"detail": "Not found."})
    assert client.get("/api/i1/orders/1/", headers=auth).status_code == 200
