"""Values the contract's patterns and types accept but no calendar or column holds.

A date an offset pushes past year 9999 (or before year 1) and an id past a
signed 64-bit column are refused with a field error, never a 500.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

BULK = "/api/i1/order_items/bulk_status_update/"
OVERFLOW = "Datetime value out of range."
PAST_CALENDAR = ["9999-12-31T23:59:59-00:01", "0001-01-01T00:00:00+01:00"]


@pytest.mark.parametrize("moment", PAST_CALENDAR)
def test_a_bulk_date_off_the_calendar_is_a_field_error(
    client: FlaskClient, auth: dict[str, str], state: Any, moment: str
) -> None:
    before = state()
    body = {"orderitem_set": [{"id": 1, "status": "500", "invoice_number": "A1", "invoice_date": moment}]}
    response = client.patch(BULK, json=body, headers=auth)
    assert (response.status_code, response.get_json()) == (
        400,
        [{"message": {"invoice_date": [OVERFLOW]}, "args": {"orderitem_id": "1"}}],
    )
    assert state() == before


@pytest.mark.parametrize("moment", PAST_CALENDAR)
@pytest.mark.parametrize(
    ("document", "path"),
    [
        (lambda m: {"orders": [{"id": 1, "date_placed": m}]}, "$.orders[0].date_placed"),
        (
            lambda m: {"orders": [{"id": 1, "items": [{"id": 1, "invoice_date": m}]}]},
            "$.orders[0].items[0].invoice_date",
        ),
    ],
    ids=["date_placed", "invoice_date"],
)
def test_a_seed_date_off_the_calendar_is_refused(
    client: FlaskClient, state: Any, moment: str, document: Any, path: str
) -> None:
    before = state()
    response = client.post("/_mock/seed", json=document(moment))
    assert response.status_code == 400
    assert {"path": path, "message": OVERFLOW} in response.get_json()["errors"]
    assert state() == before


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"orders": [{"id": 2**63}]}, "$.orders[0].id"),
        ({"orders": [{"id": 1, "items": [{"id": 2**63}]}]}, "$.orders[0].items[0].id"),
        ({"users": [{"pk": 2**63, "username": "u", "password": "p"}]}, "$.users[0].pk"),
    ],
    ids=["order", "item", "user"],
)
def test_a_seed_id_past_64_bits_is_refused(client: FlaskClient, state: Any, document: Any, path: str) -> None:
    before = state()
    response = client.post("/_mock/seed", json=document)
    assert response.status_code == 400
    assert [error["path"] for error in response.get_json()["errors"]] == [path]
    assert state() == before
    # The largest id a 64-bit column holds still loads and reads back.
    largest = 2**63 - 1
    assert client.post("/_mock/seed", json={"orders": [{"id": largest, "items": [{"id": largest}]}]}).status_code == 200


def test_an_echoed_lone_surrogate_is_shown_as_its_escape(client: FlaskClient, auth: dict[str, str]) -> None:
    body = b'{"orderitem_set": [{"id": 1, "status": "600", "tracking_number": "T", "shipping_company": "\\udc00"}]}'
    response = client.patch(BULK, data=body, headers={**auth, "Content-Type": "application/json"})
    assert (response.status_code, response.get_json()) == (
        400,
        [{"message": {"shipping_company": ['"\\udc00" is not a valid choice.']}, "args": {"orderitem_id": "1"}}],
    )
    assert client.get("/_mock/requests").status_code == 200
    assert client.get("/_mock/").status_code == 200
