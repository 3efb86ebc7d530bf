"""GET orders/ (issue 15): django-filter's filters, the sort, and DRF's page-number paging.

Each test seeds ORDERS (replacing the default seed) and reads the list the way
Akinon's connectors do. Expected pages are worked out here from the seed
document, with Python's own datetime, not from the server's code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from omnitron_mock import Settings

from tests.helpers import PREFIXES

INVALID_PAGE = {"detail": "Invalid page."}


def order(
    pk: int,
    placed: str,
    modified: str,
    *,
    is_send: bool = False,
    status: str = "400",
    cancel_status: str | None = None,
    number: str | None = None,
) -> dict[str, Any]:
    return {
        "id": pk,
        "number": number or f"N{pk:03d}",
        "is_send": is_send,
        "status": status,
        "date_placed": placed,
        "modified_date": modified,
        "items": [{"id": pk * 10, "cancel_status": cancel_status}],
    }


# Twelve orders: more than the default page of ten. Dates tie (1 and 3 placed
# together, 3 and 5 modified together), carry offsets, and have fractions
# whose texts do not sort by time (".5Z" after "Z" as text, before it in time).
ORDERS = [
    order(1, "2021-07-13T09:00:00Z", "2021-07-13T09:00:00Z"),
    order(2, "2021-07-12T09:00:00Z", "2021-07-14T10:00:00.25Z", is_send=True, cancel_status="waiting"),
    order(3, "2021-07-13T09:00:00Z", "2021-07-14T10:00:00Z", status="450"),
    order(4, "2021-07-11T00:00:00Z", "2021-07-14T10:00:00.5Z", is_send=True, status="500", cancel_status="confirmed"),
    order(5, "2021-07-15T12:30:00+03:00", "2021-07-14T13:00:00+03:00", cancel_status="waiting"),
    order(6, "2021-07-10T23:00:00-02:00", "2021-07-15T00:00:00Z", is_send=True),
    order(7, "2021-07-09T00:00:00Z", "2021-07-13T23:59:59.999999Z", status="100"),
    order(8, "2021-07-16T00:00:00Z", "2021-07-16T00:00:00Z", is_send=True),
    order(9, "2021-07-08T00:00:00Z", "2021-07-12T00:00:00Z"),
    order(10, "2021-07-17T00:00:00Z", "2021-07-17T00:00:00Z", is_send=True),
    order(11, "2021-07-18T00:00:00Z", "2021-07-18T00:00:00Z", number="SHARED"),
    order(12, "2021-07-19T00:00:00Z", "2021-07-19T00:00:00Z", is_send=True, number="SHARED"),
]
ALL = [o["id"] for o in ORDERS]


def moment(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def pks_where(keep: Any) -> list[int]:
    return [o["id"] for o in ORDERS if keep(o)]


@pytest.fixture
def seeded(client: FlaskClient) -> None:
    response = client.post("/_mock/seed?replace=true", json={"orders": ORDERS})
    assert response.status_code == 200, response.get_data(as_text=True)


def page(client: FlaskClient, auth: dict[str, str], query: str, prefix: str = "/api/i1") -> dict[str, Any]:
    response = client.get(f"{prefix}/orders/?{query}", headers=auth)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def listed(client: FlaskClient, auth: dict[str, str], query: str) -> list[int]:
    """The pks of every order the query lists (all on one page)."""
    found = page(client, auth, f"{query}&limit=100")
    assert found["count"] == len(found["results"])
    assert found["next"] is None and found["previous"] is None
    return [result["pk"] for result in found["results"]]


def refused(client: FlaskClient, auth: dict[str, str], state: Any, query: str) -> tuple[int, Any]:
    """The status and body of a list request, which must change nothing."""
    before = state()
    response = client.get(f"/api/i1/orders/?{query}", headers=auth)
    assert state() == before
    return response.status_code, response.get_json()


def link(url: str) -> tuple[str, dict[str, list[str]]]:
    """An absolute link as (everything before the query, its parameters)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qs(parts.query, keep_blank_values=True)


# --- the list --------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
def test_each_result_is_the_order_as_its_detail_shows_it(
    client: FlaskClient, auth: dict[str, str], seeded: None, prefix: str
) -> None:
    found = page(client, auth, "limit=100", prefix.rstrip("/"))
    assert found["count"] == len(ORDERS)
    for result in found["results"]:
        assert result == client.get(f"{prefix}orders/{result['pk']}/", headers=auth).get_json()


def test_unknown_and_empty_parameters_filter_nothing(client: FlaskClient, auth: dict[str, str], seeded: None) -> None:
    empty = "is_send=&status=&cancel_status=&number=&pk__in=&modified_date__gte=&sort="
    assert listed(client, auth, f"channel=9&customer=x&{empty}") == ALL


# --- is_send -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("True", True),
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("False", False),
        ("false", False),
        ("0", False),
    ],
)
def test_is_send_reads_django_filters_spellings(
    client: FlaskClient, auth: dict[str, str], seeded: None, value: str, expected: bool
) -> None:
    assert listed(client, auth, f"is_send={value}") == pks_where(lambda o: o["is_send"] is expected)


@pytest.mark.parametrize("value", ["maybe", "yes", "2", "t", "%20true"])
def test_an_unreadable_is_send_filters_nothing(
    client: FlaskClient, auth: dict[str, str], seeded: None, value: str
) -> None:
    assert listed(client, auth, f"is_send={value}") == ALL


# --- status, cancel_status, number -------------------------------------------------


@pytest.mark.parametrize("status", ["400", "450", "100", "550"])
def test_status_is_an_exact_match(client: FlaskClient, auth: dict[str, str], seeded: None, status: str) -> None:
    assert listed(client, auth, f"status={status}") == pks_where(lambda o: o["status"] == status)


@pytest.mark.parametrize("status", ["999", "shipped", "4000", "%00"])
def test_a_status_not_in_the_table_is_refused(
    client: FlaskClient, auth: dict[str, str], state: Any, seeded: None, status: str
) -> None:
    shown = status.replace("%00", "\x00")
    assert refused(client, auth, state, f"status={status}") == (
        400,
        {"status": [f"Select a valid choice. {shown} is not one of the available choices."]},
    )


@pytest.mark.parametrize("cancel_status", ["waiting", "confirmed", "completed", "rejected"])
def test_cancel_status_lists_orders_with_an_item_in_it(
    client: FlaskClient, auth: dict[str, str], seeded: None, cancel_status: str
) -> None:
    expected = pks_where(lambda o: any(i["cancel_status"] == cancel_status for i in o["items"]))
    assert listed(client, auth, f"cancel_status={cancel_status}") == expected


@pytest.mark.parametrize("cancel_status", ["x", "Waiting", "null"])
def test_a_cancel_status_not_in_the_list_is_refused(
    client: FlaskClient, auth: dict[str, str], state: Any, seeded: None, cancel_status: str
) -> None:
    assert refused(client, auth, state, f"cancel_status={cancel_status}") == (
        400,
        {"cancel_status": [f"Select a valid choice. {cancel_status} is not one of the available choices."]},
    )


@pytest.mark.parametrize(
    ("number", "expected"),
    [("N003", [3]), ("SHARED", [11, 12]), ("n003", []), ("N00", []), ("NO-SUCH", [])],
)
def test_number_is_an_exact_match(
    client: FlaskClient, auth: dict[str, str], seeded: None, number: str, expected: list[int]
) -> None:
    assert listed(client, auth, f"number={number}") == expected


# --- pk__in ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("listed_pks", "expected"),
    [
        ("5,1,3", [1, 3, 5]),
        ("1,,3,%20", [1, 3]),
        (",", []),
        ("2.0,4.00", [2, 4]),
        ("2.5", []),
        ("-1,0,99", []),
        ("9" * 30 + ",6", [6]),
        ("1e400,7", [7]),
        ("3,3,3", [3]),
    ],
    ids=[
        "several",
        "blanks",
        "only-blanks",
        "integral-decimals",
        "fraction",
        "none-such",
        "huge",
        "huge-exp",
        "repeats",
    ],
)
def test_pk_in_lists_those_orders(
    client: FlaskClient, auth: dict[str, str], seeded: None, listed_pks: str, expected: list[int]
) -> None:
    assert listed(client, auth, f"pk__in={listed_pks}") == expected


@pytest.mark.parametrize("listed_pks", ["1,x", "one", "NaN", "Infinity", "1;2", "0x10", "1e" + "9" * 30])
def test_pk_in_refuses_what_is_no_number(
    client: FlaskClient, auth: dict[str, str], state: Any, seeded: None, listed_pks: str
) -> None:
    assert refused(client, auth, state, f"pk__in={listed_pks}") == (400, {"pk__in": ["Enter a number."]})


def test_filters_combine(client: FlaskClient, auth: dict[str, str], seeded: None) -> None:
    assert listed(client, auth, "is_send=False&status=400&pk__in=1,2,3,5,9") == [1, 5, 9]


# --- modified_date ------------------------------------------------------------------------

COMPARISONS = {
    "gte": lambda stored, bound: stored >= bound,
    "gt": lambda stored, bound: stored > bound,
    "lte": lambda stored, bound: stored <= bound,
    "lt": lambda stored, bound: stored < bound,
}


@pytest.mark.parametrize("comparison", COMPARISONS)
@pytest.mark.parametrize("sent", ["2021-07-14T10:00:00Z", "2021-07-14T10:00:00.25Z"], ids=["whole", "fraction"])
def test_modified_date_compares_moments(
    client: FlaskClient, auth: dict[str, str], seeded: None, comparison: str, sent: str
) -> None:
    compare = COMPARISONS[comparison]
    expected = pks_where(lambda o: compare(moment(o["modified_date"]), moment(sent)))
    assert listed(client, auth, f"modified_date__{comparison}={sent}") == expected


@pytest.mark.parametrize(
    ("sent", "bound"),
    [
        ("2021-07-14T13:00:00%2B03:00", "2021-07-14T10:00:00+00:00"),
        ("2021-07-14T10:00", "2021-07-14T10:00:00+00:00"),
        ("2021-07-14", "2021-07-14T00:00:00+00:00"),
        ("2021-07-13T23:59:59.999999Z", "2021-07-13T23:59:59.999999+00:00"),
    ],
    ids=["offset", "no-seconds-naive", "bare-date-is-midnight", "microseconds"],
)
def test_modified_date_reads_djangos_forms(
    client: FlaskClient, auth: dict[str, str], seeded: None, sent: str, bound: str
) -> None:
    expected = pks_where(lambda o: moment(o["modified_date"]) >= moment(bound))
    assert listed(client, auth, f"modified_date__gte={sent}") == expected


def test_modified_date_bounds_combine(client: FlaskClient, auth: dict[str, str], seeded: None) -> None:
    query = "modified_date__gt=2021-07-14T10:00:00Z&modified_date__lte=2021-07-16"
    assert listed(client, auth, query) == [2, 4, 6, 8]


@pytest.mark.parametrize(
    ("comparison", "value"),
    [
        *[(comparison, "x") for comparison in COMPARISONS],
        *[
            ("gte", value)
            for value in (
                "2021-02-30",
                "2021-07-14T25:00:00Z",
                "2021-07-14T10:00:00%2B24:00",
                "14/07/2021",
                "2021-07-14T10:00:00%200300",
                "1626256800",
            )
        ],
    ],
)
def test_an_unreadable_modified_date_is_refused(
    client: FlaskClient, auth: dict[str, str], state: Any, seeded: None, comparison: str, value: str
) -> None:
    name = f"modified_date__{comparison}"
    assert refused(client, auth, state, f"{name}={value}") == (400, {name: ["Enter a valid date/time."]})


def test_every_refused_parameter_is_named_at_once(
    client: FlaskClient, auth: dict[str, str], state: Any, seeded: None
) -> None:
    query = (
        "modified_date__gte=x&modified_date__gt=2021-07-14&modified_date__lte=y&modified_date__lt=z"
        "&status=999&cancel_status=x&pk__in=a&is_send=maybe&page=9"
    )
    date_error = ["Enter a valid date/time."]
    assert refused(client, auth, state, query) == (
        400,
        {
            "status": ["Select a valid choice. 999 is not one of the available choices."],
            "cancel_status": ["Select a valid choice. x is not one of the available choices."],
            "pk__in": ["Enter a number."],
            "modified_date__gte": date_error,
            "modified_date__lte": date_error,
            "modified_date__lt": date_error,
        },
    )


# --- sort ----------------------------------------------------------------------------------


def by(field: str, descending: bool) -> list[int]:
    """The pks sorted by a date field, ties by ascending pk either way."""
    sign = -1 if descending else 1
    return [o["id"] for o in sorted(ORDERS, key=lambda o: (sign * moment(o[field]).timestamp(), o["id"]))]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("id", ALL),
        ("-id", ALL[::-1]),
        ("date_placed", by("date_placed", False)),
        ("-date_placed", by("date_placed", True)),
        ("modified_date", by("modified_date", False)),
        ("-modified_date", by("modified_date", True)),
    ],
)
def test_sort(client: FlaskClient, auth: dict[str, str], seeded: None, sort: str, expected: list[int]) -> None:
    assert listed(client, auth, f"sort={sort}") == expected


def test_sorting_by_a_tied_date_keeps_ascending_ids(client: FlaskClient, auth: dict[str, str], seeded: None) -> None:
    # Orders 1 and 3 were placed together, 3 and 5 modified together.
    placed = listed(client, auth, "sort=-date_placed")
    assert placed.index(1) + 1 == placed.index(3)
    modified = listed(client, auth, "sort=modified_date")
    assert modified.index(3) + 1 == modified.index(5)


@pytest.mark.parametrize("sort", ["price", "-", "ID", "id,-id", "--id", "pk"])
def test_an_unknown_sort_is_ignored(client: FlaskClient, auth: dict[str, str], seeded: None, sort: str) -> None:
    assert listed(client, auth, f"sort={sort}") == ALL


# --- paging --------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
def test_ten_orders_to_a_page_by_default(client: FlaskClient, auth: dict[str, str], seeded: None, prefix: str) -> None:
    prefix = prefix.rstrip("/")
    first = page(client, auth, "", prefix)
    assert (first["count"], [r["pk"] for r in first["results"]]) == (12, ALL[:10])
    assert first["previous"] is None
    assert first["next"] == f"http://localhost{prefix}/orders/?page=2"
    second = client.get(first["next"], headers=auth).get_json()
    assert [r["pk"] for r in second["results"]] == ALL[10:]
    assert second["next"] is None
    assert second["previous"] == f"http://localhost{prefix}/orders/"


@pytest.mark.parametrize(
    ("query", "size"),
    [
        ("limit=3", 3),
        ("page_size=5", 5),
        ("limit=3&page_size=5", 3),
        ("page_size=5&limit=3", 3),
        ("limit=12", 12),
        ("limit=500", 12),
    ],
)
def test_page_size_from_limit_or_page_size(
    client: FlaskClient, auth: dict[str, str], seeded: None, query: str, size: int
) -> None:
    assert [r["pk"] for r in page(client, auth, query)["results"]] == ALL[:size]


@pytest.mark.parametrize("query", ["limit=0", "limit=-1", "limit=x", "limit=2.5", "page_size=0", "page_size=-5"])
def test_an_unusable_size_falls_back_to_ten(
    client: FlaskClient, auth: dict[str, str], seeded: None, query: str
) -> None:
    assert [r["pk"] for r in page(client, auth, query)["results"]] == ALL[:10]


@pytest.mark.parametrize("settings", [Settings(max_items=4)])
def test_the_page_size_is_capped_at_max_items(client: FlaskClient, auth: dict[str, str], seeded: None) -> None:
    for query in ("limit=50", "page_size=50", ""):
        found = page(client, auth, query)
        assert [r["pk"] for r in found["results"]] == ALL[:4]
        assert link(found["next"])[1]["page"] == ["2"]


@pytest.mark.parametrize("page_number", ["3", "0", "-1", "x", "1.0", "%C2%B2", "9" * 30, "last"])
def test_a_page_that_does_not_exist_is_invalid(
    client: FlaskClient, auth: dict[str, str], state: Any, seeded: None, page_number: str
) -> None:
    assert refused(client, auth, state, f"page={page_number}") == (404, INVALID_PAGE)


def test_links_keep_every_other_parameter(client: FlaskClient, auth: dict[str, str], seeded: None) -> None:
    # Orders 11, 9, 5 and 1 are waiting at status 400: one to a page.
    query = "is_send=False&status=400&limit=1&sort=-id&unknown=kept&page=2"
    found = page(client, auth, query)
    assert [r["pk"] for r in found["results"]] == [9]
    kept = {"is_send": ["False"], "status": ["400"], "limit": ["1"], "sort": ["-id"], "unknown": ["kept"]}
    assert link(found["next"]) == ("http://localhost/api/i1/orders/", {**kept, "page": ["3"]})
    # DRF's link to the first page carries no page parameter.
    assert link(found["previous"]) == ("http://localhost/api/i1/orders/", kept)


def test_next_is_null_on_the_last_page(client: FlaskClient, auth: dict[str, str], seeded: None) -> None:
    last = page(client, auth, "limit=5&page=3")
    assert [r["pk"] for r in last["results"]] == ALL[10:]
    assert last["next"] is None
    assert link(last["previous"])[1] == {"limit": ["5"], "page": ["2"]}


def test_an_empty_list_is_one_empty_page(client: FlaskClient, auth: dict[str, str], state: Any, seeded: None) -> None:
    for query in ("number=NO-SUCH", "number=NO-SUCH&page=1", "pk__in=99&limit=1"):
        assert page(client, auth, query) == {"count": 0, "next": None, "previous": None, "results": []}
    assert refused(client, auth, state, "number=NO-SUCH&page=2") == (404, INVALID_PAGE)


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ALL),
        ("is_send=False&limit=2", pks_where(lambda o: not o["is_send"])),
        ("sort=-modified_date&limit=5", by("modified_date", True)),
        (
            "modified_date__gte=2021-07-14&limit=1",
            pks_where(lambda o: moment(o["modified_date"]) >= moment("2021-07-14T00:00:00+00:00")),
        ),
    ],
    ids=["default", "waiting", "newest-first", "since"],
)
def test_following_next_as_akinons_sdk_does_lists_every_order_once(
    client: FlaskClient, auth: dict[str, str], seeded: None, prefix: str, query: str, expected: list[int]
) -> None:
    # omnisdk starts at page=1 and follows next while it is truthy.
    url: str | None = f"http://localhost{prefix}orders/?{query}&page=1"
    collected: list[int] = []
    pages = 0
    while url:
        response = client.get(url, headers=auth)
        assert response.status_code == 200, response.get_data(as_text=True)
        found = response.get_json()
        assert found["count"] == len(expected)
        collected += [result["pk"] for result in found["results"]]
        url = found["next"]
        pages += 1
        assert pages <= len(ORDERS) + 1, "next never ended"
    assert collected == expected


def test_counts_follow_every_write_that_moves_an_order_between_lists(client: FlaskClient, auth: dict[str, str]) -> None:
    """The waiting orders' count (kept apart from the orders on SQLite) matches
    the orders listed, after marking sent and back, and after seeds that add an
    order or replace one under the same pk."""

    def waiting() -> tuple[int, list[int]]:
        page = client.get("/api/i1/orders/?is_send=False&status=400&limit=100", headers=auth).get_json()
        return page["count"], [order["pk"] for order in page["results"]]

    def every_order() -> int:
        return client.get("/api/i1/orders/?limit=100", headers=auth).get_json()["count"]

    seed = {"orders": [{"id": pk, "items": [{"id": pk * 10}]} for pk in range(1, 6)]}
    assert client.post("/_mock/seed?replace=true", json=seed).status_code == 200
    assert waiting() == (5, [1, 2, 3, 4, 5])
    for pk in (2, 4):
        assert client.patch(f"/api/i1/orders/{pk}/", json={"is_send": True}, headers=auth).status_code == 200
    assert waiting() == (3, [1, 3, 5])
    assert client.patch("/api/i1/orders/4/", json={"is_send": False}, headers=auth).status_code == 200
    # The same value again: counted once.
    assert client.patch("/api/i1/orders/4/", json={"is_send": False}, headers=auth).status_code == 200
    assert waiting() == (4, [1, 3, 4, 5])
    more = {"orders": [{"id": 1, "is_send": True, "items": [{"id": 10}]}, {"id": 9, "status": "450", "items": []}]}
    assert client.post("/_mock/seed", json=more).status_code == 200
    assert waiting() == (3, [3, 4, 5])
    assert every_order() == 6
    assert client.post("/_mock/reset").status_code == 200
    assert (waiting()[0], every_order()) == (2, 2)
