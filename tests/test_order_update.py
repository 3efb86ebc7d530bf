"""PATCH orders/{pk}/ (issue 15): marking an order sent, as DRF's partial update does it.

Default seed: orders 1 and 2, neither sent.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.helpers import PREFIXES, Later, get_state

NOT_FOUND = {"detail": "Not found."}
NOT_A_BOOLEAN = {"is_send": ["Must be a valid boolean."]}

# DRF BooleanField's TRUE_VALUES and FALSE_VALUES, and the JSON numbers equal to them.
TRUE_SPELLINGS = [True, "true", "True", "TRUE", "1", 1, 1.0, "t", "T", "y", "Y", "yes", "Yes", "YES", "on", "On", "ON"]
FALSE_SPELLINGS = [False, "false", "False", "FALSE", "0", 0, 0.0, "f", "F", "n", "N", "no", "No", "NO", "off", "Off"]


def patch(client: FlaskClient, auth: dict[str, str], body: Any, pk: object = 1, prefix: str = "/api/i1/") -> Any:
    return client.patch(f"{prefix}orders/{pk}/", json=body, headers=auth)


def get_order(client: FlaskClient, auth: dict[str, str], pk: int = 1) -> dict[str, Any]:
    response = client.get(f"/api/i1/orders/{pk}/", headers=auth)
    assert response.status_code == 200
    return response.get_json()


def newest_verdict(client: FlaskClient) -> dict[str, Any]:
    """The contract verdict on the newest PATCH."""
    return client.get("/_mock/requests?method=PATCH").get_json()["requests"][-1]["verdict"]


class Unchanged:
    """The state as the test found it; :meth:`check` asserts it still is."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.before = get_state(client)

    def check(self) -> None:
        assert get_state(self.client) == self.before


@pytest.fixture
def unchanged(client: FlaskClient) -> Unchanged:
    return Unchanged(client)


def assert_refused(unchanged: Unchanged, response: Any, status: int, body: Any) -> None:
    """``response`` is ``status`` with exactly ``body``, and the request changed nothing."""
    assert (response.status_code, response.get_json()) == (status, body)
    unchanged.check()


# --- marking sent ------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
def test_marking_sent_answers_the_whole_order(client: FlaskClient, auth: dict[str, str], prefix: str) -> None:
    before = get_order(client, auth)
    response = patch(client, auth, {"is_send": True}, prefix=prefix)
    assert response.status_code == 200
    after = get_order(client, auth)
    assert response.get_json() == after
    assert after == {**before, "is_send": True, "modified_date": Later(before["modified_date"])}
    assert get_order(client, auth, 2)["is_send"] is False


def test_the_list_of_waiting_orders_drops_an_order_marked_sent(client: FlaskClient, auth: dict[str, str]) -> None:
    assert patch(client, auth, {"is_send": True}, pk=2).status_code == 200
    waiting = client.get("/api/i1/orders/?is_send=False", headers=auth).get_json()
    assert [order["pk"] for order in waiting["results"]] == [1]
    sent = client.get("/api/i1/orders/?is_send=True", headers=auth).get_json()
    assert [order["pk"] for order in sent["results"]] == [2]


@pytest.mark.parametrize("sent", TRUE_SPELLINGS, ids=repr)
def test_drfs_true_spellings_mark_sent(client: FlaskClient, auth: dict[str, str], sent: object) -> None:
    response = patch(client, auth, {"is_send": sent})
    assert response.status_code == 200
    assert response.get_json()["is_send"] is True
    assert get_order(client, auth)["is_send"] is True


@pytest.mark.parametrize("sent", FALSE_SPELLINGS, ids=repr)
def test_drfs_false_spellings_mark_not_sent(client: FlaskClient, auth: dict[str, str], sent: object) -> None:
    assert patch(client, auth, {"is_send": True}).status_code == 200
    response = patch(client, auth, {"is_send": sent})
    assert response.status_code == 200
    assert response.get_json()["is_send"] is False
    assert get_order(client, auth)["is_send"] is False


def test_modified_date_moves_only_when_is_send_changes(client: FlaskClient, auth: dict[str, str]) -> None:
    seeded = get_order(client, auth)["modified_date"]
    assert patch(client, auth, {"is_send": False}).get_json()["modified_date"] == seeded
    marked = patch(client, auth, {"is_send": True}).get_json()["modified_date"]
    assert marked == Later(seeded)
    assert patch(client, auth, {"is_send": "true"}).get_json()["modified_date"] == marked
    assert patch(client, auth, {"is_send": False}).get_json()["modified_date"] == Later(marked)


@pytest.mark.parametrize("body", [{}, {"status": "500"}, None], ids=["empty-object", "only-other-fields", "no-body"])
def test_without_is_send_nothing_changes(
    client: FlaskClient, auth: dict[str, str], unchanged: Unchanged, body: dict[str, Any] | None
) -> None:
    response = client.patch("/api/i1/orders/1/", headers=auth) if body is None else patch(client, auth, body)
    assert response.status_code == 200
    assert response.get_json() == get_order(client, auth)
    unchanged.check()


def test_other_fields_are_ignored_and_reported_as_unknown(client: FlaskClient, auth: dict[str, str]) -> None:
    before = get_order(client, auth)
    body = {"is_send": True, "status": "500", "number": "X", "customer": {"first_name": "X"}, "cargo_company": 3}
    response = patch(client, auth, body)
    assert response.status_code == 200
    assert get_order(client, auth) == {**before, "is_send": True, "modified_date": Later(before["modified_date"])}
    assert newest_verdict(client) == {
        "contract": "order-update-request",
        "schema_errors": [],
        "unknown_fields": ["$.cargo_company", "$.customer", "$.number", "$.status"],
        "ok": False,
    }


def test_a_coerced_value_is_a_contract_deviation(client: FlaskClient, auth: dict[str, str]) -> None:
    assert patch(client, auth, {"is_send": "True"}).status_code == 200
    verdict = newest_verdict(client)
    assert verdict["schema_errors"] == [{"path": "$.is_send", "message": "'True' is not of type 'boolean'"}]
    assert verdict["ok"] is False


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sent",
    ["maybe", "", " true", "tRUE", "2", 2, -1, 0.5, [], [True], {}, {"is_send": True}],
    ids=repr,
)
def test_anything_else_is_not_a_boolean(
    client: FlaskClient, auth: dict[str, str], unchanged: Unchanged, sent: object
) -> None:
    assert_refused(unchanged, patch(client, auth, {"is_send": sent}), 400, NOT_A_BOOLEAN)


def test_null_is_refused(client: FlaskClient, auth: dict[str, str], unchanged: Unchanged) -> None:
    response = patch(client, auth, {"is_send": None})
    assert_refused(unchanged, response, 400, {"is_send": ["This field may not be null."]})


@pytest.mark.parametrize(
    ("body", "kind"),
    [([{"is_send": True}], "list"), ("is_send", "str"), (1, "int"), (True, "bool")],
)
def test_a_body_that_is_no_object_is_refused(
    client: FlaskClient, auth: dict[str, str], unchanged: Unchanged, body: object, kind: str
) -> None:
    expected = {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]}
    assert_refused(unchanged, patch(client, auth, body), 400, expected)


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("pk", ["3", "0", "-1", "1.0", "abc", "9" * 30, "%C2%B9"])
def test_an_unknown_order_is_not_found(
    client: FlaskClient, auth: dict[str, str], unchanged: Unchanged, prefix: str, pk: str
) -> None:
    assert_refused(unchanged, patch(client, auth, {"is_send": True}, pk=pk, prefix=prefix), 404, NOT_FOUND)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"is_send": "maybe"}', "application/json"),
        (b"[]", "application/json"),
        (b"{", "application/json"),
        (b'{"is_send": true}', "text/plain"),
    ],
    ids=["invalid-value", "not-an-object", "malformed", "media-type"],
)
def test_an_unknown_order_is_not_found_before_its_body_is_read(
    client: FlaskClient, auth: dict[str, str], unchanged: Unchanged, body: bytes, content_type: str
) -> None:
    # DRF's UpdateModelMixin finds the order (get_object) before it reads request.data.
    response = client.patch("/api/i1/orders/3/", data=body, content_type=content_type, headers=auth)
    assert_refused(unchanged, response, 404, NOT_FOUND)


def test_a_fault_marks_nothing(client: FlaskClient, auth: dict[str, str], unchanged: Unchanged) -> None:
    headers = {**auth, "X-Mock-Fault": "status=503"}
    response = client.patch("/api/i1/orders/1/", json={"is_send": True}, headers=headers)
    assert response.status_code == 503
    unchanged.check()


def test_a_read_of_an_order_is_judged_by_no_request_contract(client: FlaskClient, auth: dict[str, str]) -> None:
    """orders/{pk}/ takes PATCH bodies; a GET sends none, so its entry names no contract."""
    client.get("/api/i1/orders/1/", headers=auth)
    client.patch("/api/i1/orders/1/", json={"is_send": True}, headers=auth)
    read, write = client.get("/_mock/requests").get_json()["requests"][-2:]
    assert (read["method"], read["verdict"]["contract"]) == ("GET", None)
    assert (write["method"], write["verdict"]["contract"]) == ("PATCH", "order-update-request")
