"""PATCH order_items/bulk_status_update/ (SPEC section 3), lenient mode.

Default seed: order 1 holds items 1, 2, 3 and order 2 holds items 4, 5; every
item is at status "400" with no invoice or shipping data.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from omnitron_mock import Settings

from tests.helpers import Later, documented

BULK = "order_items/bulk_status_update/"
BULK_PATH = "/api/i1/" + BULK

# SPEC section 3, "Order item object", in the documented order.
ITEM_FIELDS = [
    "id",
    "order",
    "product_sku",
    "status",
    "price_currency",
    "price",
    "tax_rate",
    "extra_field",
    "price_list",
    "stock_list",
    "cancel_status",
    "invoice_number",
    "invoice_date",
    "e_archive_url",
    "installment_interest_amount",
    "tracking_number",
    "carrier_shipping_code",
    "shipping_company",
    "shipment_code",
    "external_status",
    "discount_amount",
    "retail_price",
    "attributes",
    "attributes_kwargs",
    "image",
]

# The item fields a client may send (SPEC section 3, "Item fields").
WRITABLE_FIELDS = (
    "id",
    "status",
    "invoice_number",
    "invoice_date",
    "e_archive_url",
    "tracking_number",
    "shipping_company",
)

# The example request of Akinon's documentation page (see tests/data/README.md).
DOC_REQUEST: dict[str, Any] = documented("request")

NO_MORE_THAN_255 = "Ensure this field has no more than 255 characters."
DATETIME_FORMAT = (
    "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)
ONE_ORDER = ["You can only update one order at a time."]


@pytest.fixture
def settings(request: pytest.FixtureRequest) -> Settings:
    """Default settings unless a test parametrizes ``settings`` indirectly."""
    return getattr(request, "param", Settings())


# --- helpers -----------------------------------------------------------------


def patch(client: Any, auth: dict[str, str], body: Any, prefix: str = "/api/i1/") -> Any:
    return client.patch(prefix + BULK, json=body, headers=auth)


def items_of(snapshot: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Every item of a /_mock/state snapshot, by id."""
    return {item["id"]: item for order in snapshot["orders"] for item in order["items"]}


def get_item(client: Any, auth: dict[str, str], item_id: int, prefix: str = "/api/i1/") -> dict[str, Any]:
    response = client.get(f"{prefix}order_items/{item_id}/", headers=auth)
    assert response.status_code == 200
    return response.get_json()


def assert_rejected(client: Any, auth: dict[str, str], state: Any, body: Any, expected: Any) -> None:
    """400 with exactly ``expected`` as the body, and nothing changed."""
    before = state()
    response = patch(client, auth, body)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json() == expected
    assert state() == before


def entry(message: Any, orderitem_id: str) -> dict[str, Any]:
    return {"message": message, "args": {"orderitem_id": orderitem_id}}


def with_changes(snapshot: dict[str, Any], changes: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """``snapshot`` with the given fields of the given items replaced, and the
    ``modified_date`` of each order whose items took new values moved on."""
    expected = copy.deepcopy(snapshot)
    for order in expected["orders"]:
        moved = False
        for item in order["items"]:
            wanted = changes.get(item["id"], {})
            moved = moved or any(item[name] != value for name, value in wanted.items())
            item.update(wanted)
        if moved:
            order["modified_date"] = Later(order["modified_date"])
    return expected


# --- the documented example --------------------------------------------------


@pytest.mark.parametrize("prefix", ["/api/i1/", "/api/v1/"], ids=["i1", "v1"])
def test_documented_example_request(client: Any, auth: dict[str, str], state: Any, prefix: str) -> None:
    before = items_of(state())

    response = patch(client, auth, DOC_REQUEST, prefix)

    assert response.status_code == 200
    body = response.get_json()
    assert isinstance(body, list)
    assert [item["id"] for item in body] == [1, 2, 3]
    for item in body:
        assert list(item) == ITEM_FIELDS
    one, two, three = body
    # What the request made of the state, not the doc's sample response ("500").
    assert one["status"] == "450"
    assert one["tracking_number"] is None
    assert one["shipping_company"] is None
    assert one["invoice_number"] == "SEP123123"
    assert one["e_archive_url"] == "http://e.archive.url/SEP123123"
    assert one["invoice_date"] == "2021-07-14T00:00:00Z"
    assert two["invoice_date"] == "2021-07-14T00:00:00Z"
    assert three["invoice_date"] is None
    assert (two["status"], two["tracking_number"], two["shipping_company"]) == ("500", "TR123123", "ups")
    assert (three["status"], three["tracking_number"], three["shipping_company"]) == ("500", "TR444444", "ups")
    assert [item["price"] for item in body] == ["100.00", "86.00", "17.00"]
    assert [item["order"] for item in body] == [1, 1, 1]
    for item in body:
        assert item["tax_rate"] == "18.00"
        assert item["price_currency"] == "try"
    # Every other field is what was stored before.
    for sent, item in zip(DOC_REQUEST["orderitem_set"], body, strict=True):
        untouched = set(ITEM_FIELDS) - set(sent)
        assert {k: item[k] for k in untouched} == {k: before[item["id"]][k] for k in untouched}
    # Read back through the detail route, and the state.
    for item in body:
        assert get_item(client, auth, item["id"], prefix) == item
    after = items_of(state())
    assert [after[i] for i in (1, 2, 3)] == body
    assert after[4] == before[4]
    assert after[5] == before[5]


def test_absent_fields_stay_unchanged(client: Any, auth: dict[str, str], state: Any) -> None:
    first = patch(client, auth, DOC_REQUEST)
    assert first.status_code == 200
    updated = first.get_json()[0]

    second = patch(client, auth, {"orderitem_set": [{"id": 1, "tracking_number": "TR999"}]})

    assert second.status_code == 200
    expected = {**updated, "tracking_number": "TR999"}
    assert second.get_json() == [expected]
    assert get_item(client, auth, 1) == expected
    assert expected["status"] == "450"
    assert expected["invoice_number"] == "SEP123123"


def test_good_bulk_changes_exactly_the_named_fields(client: Any, auth: dict[str, str], state: Any) -> None:
    before = state()
    changes = {
        4: {"status": "450", "invoice_number": "INV-4", "invoice_date": "2021-07-15T10:30:00Z"},
        5: {"tracking_number": "TR5", "shipping_company": "aras", "e_archive_url": "https://e.example.com/5"},
    }

    response = patch(client, auth, {"orderitem_set": [{"id": i, **c} for i, c in changes.items()]})

    assert response.status_code == 200
    expected = with_changes(before, changes)
    assert state() == expected
    assert response.get_json() == [items_of(expected)[4], items_of(expected)[5]]
    assert state() != before


def test_null_fields_stay_null_through_bulks(client: Any, auth: dict[str, str], state: Any) -> None:
    # No bulk sends null (every field refuses it), but the null fields of an
    # item must come out of a bulk present and null on every store.
    seeded = {"id": 9, "items": [{"id": 90, "tracking_number": None, "retail_price": None, "price_list": None}]}
    assert client.post("/_mock/seed", json={"orders": [seeded]}).status_code == 200
    refused = patch(client, auth, {"orderitem_set": [{"id": 90, "tracking_number": None}]})
    assert refused.get_json() == [entry({"tracking_number": ["This field may not be null."]}, "90")]

    response = patch(client, auth, {"orderitem_set": [{"id": 90, "status": "450", "invoice_number": "I90"}]})

    assert response.status_code == 200
    [item] = response.get_json()
    assert list(item) == ITEM_FIELDS
    assert get_item(client, auth, 90) == item == items_of(state())[90]
    nulls = {name for name, value in item.items() if value is None}
    assert {"tracking_number", "retail_price", "price_list", "invoice_date", "image"} <= nulls


def test_unknown_fields_are_ignored(client: Any, auth: dict[str, str], state: Any) -> None:
    before = state()

    response = patch(client, auth, {"orderitem_set": [{"id": 1, "tracking_no": "TR1"}]})

    assert response.status_code == 200
    assert response.get_json() == [items_of(before)[1]]
    assert state() == before


# --- accepted input forms ----------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("2021-07-14T00:00:00.000000Z", "2021-07-14T00:00:00Z"),
        ("2021-07-14T03:00:00+03:00", "2021-07-14T00:00:00Z"),
        ("2021-07-13T19:00:00-05:00", "2021-07-14T00:00:00Z"),
        ("2021-07-14T00:00:00.5Z", "2021-07-14T00:00:00.500000Z"),
        ("2021-07-14 00:00:00Z", "2021-07-14T00:00:00Z"),
    ],
    ids=["zero-fraction-dropped", "plus-offset-to-utc", "minus-offset-crosses-day", "fraction-kept", "space-separator"],
)
def test_invoice_date_rendering(client: Any, auth: dict[str, str], sent: str, stored: str) -> None:
    response = patch(client, auth, {"orderitem_set": [{"id": 1, "invoice_date": sent}]})

    assert response.status_code == 200
    assert response.get_json()[0]["invoice_date"] == stored
    assert get_item(client, auth, 1)["invoice_date"] == stored


@pytest.mark.parametrize(
    ("sent", "field", "echoed"),
    [
        ({"id": 1, "status": 450}, "status", "450"),
        ({"id": "1", "status": "450"}, "id", 1),
        ({"id": 1, "tracking_number": 123}, "tracking_number", "123"),
        ({"id": 1, "invoice_number": "N" * 255}, "invoice_number", "N" * 255),
        ({"id": 1, "tracking_number": "T" * 255}, "tracking_number", "T" * 255),
    ],
    ids=["status-int", "id-numeric-string", "tracking-number-int", "invoice-number-255", "tracking-number-255"],
)
def test_coerced_and_boundary_values_accepted(
    client: Any, auth: dict[str, str], sent: dict[str, Any], field: str, echoed: Any
) -> None:
    response = patch(client, auth, {"orderitem_set": [sent]})

    assert response.status_code == 200
    (item,) = response.get_json()
    assert item["id"] == 1
    assert item[field] == echoed
    assert get_item(client, auth, 1)[field] == echoed


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("invoice_date", "2021-07-14 03:00:00+03:00", "2021-07-14T00:00:00Z"),
        ("invoice_date", "14/07/2021", None),
        ("e_archive_url", " https://e.example/1 ", "https://e.example/1"),
        ("e_archive_url", "ftp://e.example/1", None),
        ("invoice_number", "  INV-1" + " " * 400, "INV-1"),
        ("invoice_number", "I" * 256, None),
    ],
    ids=["date", "bad-date", "url", "bad-url", "long-padded-text", "text-too-long"],
)
def test_the_same_value_gets_the_same_answer_every_time(
    client: Any, auth: dict[str, str], state: Any, field: str, value: str, expected: str | None
) -> None:
    # Parsed values are remembered between bulks; refusals must not be.
    answers = [patch(client, auth, {"orderitem_set": [{"id": 1, field: value}]}) for _ in range(3)]
    if expected is None:
        assert [a.status_code for a in answers] == [400, 400, 400]
        assert answers[0].get_json() == answers[2].get_json()
        assert get_item(client, auth, 1)[field] is None
    else:
        assert [a.get_json()[0][field] for a in answers] == [expected] * 3


# --- body-level errors -------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([{"id": 1}], {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
        ("orderitem_set", {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}),
        (1, {"non_field_errors": ["Invalid data. Expected a dictionary, but got int."]}),
        ({}, {"orderitem_set": ["This field is required."]}),
        ({"orderitem": [{"id": 1}]}, {"orderitem_set": ["This field is required."]}),
        ({"orderitem_set": {"id": 1}}, {"orderitem_set": ['Expected a list of items but got type "dict".']}),
        ({"orderitem_set": "1"}, {"orderitem_set": ['Expected a list of items but got type "str".']}),
        ({"orderitem_set": None}, {"orderitem_set": ["This field may not be null."]}),
        ({"orderitem_set": []}, {"orderitem_set": ["This list may not be empty."]}),
        (
            {"orderitem_set": [{"id": 1}] * 1001},
            {"orderitem_set": ["Ensure this field has no more than 1000 elements."]},
        ),
    ],
    ids=[
        "body-list",
        "body-str",
        "body-int",
        "set-missing",
        "set-misspelt",
        "set-dict",
        "set-str",
        "set-null",
        "set-empty",
        "set-1001",
    ],
)
def test_body_level_errors(client: Any, auth: dict[str, str], state: Any, body: Any, expected: Any) -> None:
    assert_rejected(client, auth, state, body, expected)


def test_null_body(client: Any, auth: dict[str, str], state: Any) -> None:
    before = state()

    response = client.patch(BULK_PATH, data="null", content_type="application/json", headers=auth)

    assert response.status_code == 400
    assert response.get_json() == {"non_field_errors": ["No data provided"]}
    assert state() == before


def test_exactly_1000_items_pass_the_limit(client: Any, auth: dict[str, str], state: Any) -> None:
    seeded = client.post("/_mock/seed", json={"orders": [{"id": 3, "items": [{"id": 100 + n} for n in range(1001)]}]})
    assert seeded.status_code == 200
    ids = [100 + n for n in range(1001)]
    before = state()

    too_many = patch(client, auth, {"orderitem_set": [{"id": i, "status": "450"} for i in ids]})
    assert too_many.status_code == 400
    assert too_many.get_json() == {"orderitem_set": ["Ensure this field has no more than 1000 elements."]}
    assert state() == before

    response = patch(client, auth, {"orderitem_set": [{"id": i, "status": "450"} for i in ids[:1000]]})

    assert response.status_code == 200
    assert [item["id"] for item in response.get_json()] == ids[:1000]
    assert state() == with_changes(before, {i: {"status": "450"} for i in ids[:1000]})


def test_1000_items_get_item_errors_not_the_limit_error(client: Any, auth: dict[str, str], state: Any) -> None:
    before = state()

    response = patch(client, auth, {"orderitem_set": [{"id": n} for n in range(1, 1001)]})

    assert response.status_code == 400
    body = response.get_json()
    assert isinstance(body, list)
    assert body[0] == entry(ONE_ORDER, "4")
    assert body[2] == entry({"id": ['Invalid pk "6" - object does not exist.']}, "6")
    assert len(body) == 1000 - 3
    assert state() == before


@pytest.mark.parametrize("settings", [Settings(max_items=2)], ids=["max-items-2"], indirect=True)
def test_lower_item_limit_from_settings(client: Any, auth: dict[str, str], state: Any) -> None:
    assert_rejected(
        client,
        auth,
        state,
        {"orderitem_set": [{"id": 1}, {"id": 2}, {"id": 3}]},
        {"orderitem_set": ["Ensure this field has no more than 2 elements."]},
    )

    response = patch(client, auth, {"orderitem_set": [{"id": 1, "status": "450"}, {"id": 2, "status": "450"}]})

    assert response.status_code == 200
    assert [item["status"] for item in response.get_json()] == ["450", "450"]


# --- item-level errors -------------------------------------------------------

_LONG_URL = "http://e.example.com/" + "a" * (256 - len("http://e.example.com/"))

ITEM_ERRORS = [
    *[
        pytest.param(
            item,
            {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]},
            "None",
            id=f"item-{kind}",
        )
        for kind, item in (("int", 5), ("str", "x"), ("list", [{"id": 1}]))
    ],
    pytest.param({"id": 1, "status": "999"}, {"status": ["No matching type."]}, "1", id="status-unknown-code"),
    pytest.param({"id": 1, "status": "shipped"}, {"status": ["No matching type."]}, "1", id="status-name"),
    pytest.param(
        {"id": 1, "shipping_company": "fedex"},
        {"shipping_company": ['"fedex" is not a valid choice.']},
        "1",
        id="shipping-company-fedex",
    ),
    pytest.param({"id": 1, "invoice_date": "yesterday"}, {"invoice_date": [DATETIME_FORMAT]}, "1", id="date-garbage"),
    pytest.param(
        {"id": 1, "invoice_date": "2021-02-30T00:00:00Z"}, {"invoice_date": [DATETIME_FORMAT]}, "1", id="date-feb-30"
    ),
    pytest.param({"id": 1, "invoice_date": "2021-07-14"}, {"invoice_date": [DATETIME_FORMAT]}, "1", id="date-only"),
    *[
        pytest.param({"id": 1, "e_archive_url": url}, {"e_archive_url": ["Enter a valid URL."]}, "1", id=f"url-{kind}")
        for kind, url in (("ftp", "ftp://x.com"), ("text", "not a url"), ("javascript", "javascript:alert(1)"))
    ],
    pytest.param(
        {"id": 1, "invoice_number": "N" * 256}, {"invoice_number": [NO_MORE_THAN_255]}, "1", id="invoice-number-256"
    ),
    pytest.param(
        {"id": 1, "tracking_number": "T" * 256}, {"tracking_number": [NO_MORE_THAN_255]}, "1", id="tracking-number-256"
    ),
    pytest.param({"id": 1, "e_archive_url": _LONG_URL}, {"e_archive_url": [NO_MORE_THAN_255]}, "1", id="url-256"),
    *[
        pytest.param({"id": 1, name: value}, {name: ["Not a valid string."]}, "1", id=f"{name}-{kind}")
        for name in ("invoice_number", "tracking_number", "e_archive_url", "status")
        for kind, value in (("object", {"a": 1}), ("list", ["a"]), ("bool", True))
    ],
    *[
        pytest.param(
            {"id": 1, name: None} if name != "id" else {"id": None},
            {name: ["This field may not be null."]},
            "1" if name != "id" else "None",
            id=f"{name}-null",
        )
        for name in WRITABLE_FIELDS
    ],
    pytest.param({"status": "450"}, {"id": ["This field is required."]}, "None", id="id-missing"),
    pytest.param({"id": "abc"}, {"id": ["A valid integer is required."]}, "abc", id="id-text"),
    pytest.param({"id": 1.5}, {"id": ["A valid integer is required."]}, "1.5", id="id-fraction"),
    pytest.param({"id": True}, {"id": ["A valid integer is required."]}, "True", id="id-bool"),
    pytest.param({"id": 999}, {"id": ['Invalid pk "999" - object does not exist.']}, "999", id="id-unknown"),
]


@pytest.mark.parametrize(("item", "message", "orderitem_id"), ITEM_ERRORS)
def test_item_level_error(
    client: Any, auth: dict[str, str], state: Any, item: Any, message: Any, orderitem_id: str
) -> None:
    assert_rejected(client, auth, state, {"orderitem_set": [item]}, [entry(message, orderitem_id)])


@pytest.mark.parametrize(("item", "message", "orderitem_id"), ITEM_ERRORS)
def test_item_level_error_among_good_items_changes_nothing(
    client: Any, auth: dict[str, str], state: Any, item: Any, message: Any, orderitem_id: str
) -> None:
    good_before = {"id": 2, "status": "450", "tracking_number": "TR2"}
    good_after = {"id": 3, "status": "450", "shipping_company": "ups"}
    assert_rejected(
        client,
        auth,
        state,
        {"orderitem_set": [good_before, item, good_after]},
        [entry(message, orderitem_id)],
    )


def test_duplicate_id_flags_the_second_entry(client: Any, auth: dict[str, str], state: Any) -> None:
    assert_rejected(
        client,
        auth,
        state,
        {"orderitem_set": [{"id": 1, "status": "450"}, {"id": 2}, {"id": "1", "status": "500"}]},
        [entry({"id": ["Duplicate order item in request."]}, "1")],
    )


def test_item_of_another_order(client: Any, auth: dict[str, str], state: Any) -> None:
    assert_rejected(
        client,
        auth,
        state,
        {"orderitem_set": [{"id": 1, "status": "450"}, {"id": 4, "status": "450"}]},
        [entry(ONE_ORDER, "4")],
    )


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (
            {"id": 1, "status": "bad", "shipping_company": "fedex", "invoice_date": "x"},
            {
                "status": ["No matching type."],
                "shipping_company": ['"fedex" is not a valid choice.'],
                "invoice_date": [DATETIME_FORMAT],
            },
        ),
        (
            {"id": 999, "status": "bad"},
            {"id": ['Invalid pk "999" - object does not exist.'], "status": ["No matching type."]},
        ),
        (
            {"id": 1, "invoice_number": None, "tracking_number": [], "e_archive_url": "ftp://x"},
            {
                "invoice_number": ["This field may not be null."],
                "tracking_number": ["Not a valid string."],
                "e_archive_url": ["Enter a valid URL."],
            },
        ),
    ],
    ids=["three-field-errors", "unknown-id-and-status", "null-type-and-url"],
)
def test_field_errors_of_one_item_merge(
    client: Any, auth: dict[str, str], state: Any, item: dict[str, Any], message: dict[str, Any]
) -> None:
    assert_rejected(client, auth, state, {"orderitem_set": [item]}, [entry(message, str(item["id"]))])


def test_errors_in_request_order_one_per_failing_item(client: Any, auth: dict[str, str], state: Any) -> None:
    assert_rejected(
        client,
        auth,
        state,
        {
            "orderitem_set": [
                {"id": 3, "shipping_company": "fedex"},
                {"id": 2, "status": "450"},
                {"id": 999},
                {"id": 1, "status": "bad", "invoice_date": "x"},
                {"id": 5, "status": "450"},
            ]
        },
        [
            entry({"shipping_company": ['"fedex" is not a valid choice.']}, "3"),
            entry({"id": ['Invalid pk "999" - object does not exist.']}, "999"),
            entry({"invoice_date": [DATETIME_FORMAT], "status": ["No matching type."]}, "1"),
            entry(ONE_ORDER, "5"),
        ],
    )


# --- the single-order rule ---------------------------------------------------


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        pytest.param(
            [{"id": 1, "status": "bad"}, {"id": 4, "status": "450"}, {"id": 5, "status": "450"}],
            [entry({"status": ["No matching type."]}, "1")],
            id="first-item-has-field-error",
        ),
        pytest.param(
            [{"id": 4, "status": "450"}, {"id": 1, "status": "450"}],
            [entry(ONE_ORDER, "1")],
            id="reference-is-order-2",
        ),
        pytest.param(
            [{"id": 1, "status": "450"}, {"id": 4, "status": "bad"}],
            [entry({"status": ["No matching type."]}, "4")],
            id="field-error-never-one-order",
        ),
        pytest.param(
            [{"id": 999}, {"id": 4}, {"id": 1}],
            [entry({"id": ['Invalid pk "999" - object does not exist.']}, "999"), entry(ONE_ORDER, "1")],
            id="unresolved-id-is-not-reference",
        ),
        pytest.param(
            [{"id": "x"}, {"id": 5}, {"id": 4}, {"id": 2}, {"id": 3, "shipping_company": "fedex"}],
            [
                entry({"id": ["A valid integer is required."]}, "x"),
                entry(ONE_ORDER, "2"),
                entry({"shipping_company": ['"fedex" is not a valid choice.']}, "3"),
            ],
            id="mixed",
        ),
    ],
)
def test_single_order_rule_reference_is_first_clean_item(
    client: Any, auth: dict[str, str], state: Any, items: list[Any], expected: list[Any]
) -> None:
    assert_rejected(client, auth, state, {"orderitem_set": items}, expected)


def test_whole_other_order_passes_when_first_item_fails_then_applies_once_fixed(
    client: Any, auth: dict[str, str], state: Any
) -> None:
    """Fixing the failing order-1 item turns the order-2 items into one-order errors."""
    assert_rejected(
        client,
        auth,
        state,
        {"orderitem_set": [{"id": 1, "status": "450"}, {"id": 4, "status": "450"}, {"id": 5, "status": "450"}]},
        [entry(ONE_ORDER, "4"), entry(ONE_ORDER, "5")],
    )
    before = state()

    response = patch(client, auth, {"orderitem_set": [{"id": 4, "status": "450"}, {"id": 5, "status": "450"}]})

    assert response.status_code == 200
    assert state() == with_changes(before, {4: {"status": "450"}, 5: {"status": "450"}})
