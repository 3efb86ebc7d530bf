"""The mock-only control API: health, reset, seed, state, the request journal, contracts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from omnitron_mock import DEV_TOKEN, DEV_USERNAME, Settings, contracts, create_app

from tests.helpers import ContractCheckedClient, checked_session, serving_command

BULK = "/api/i1/order_items/bulk_status_update/"


def checked_client(settings: Settings) -> FlaskClient:
    """A client of a new app with ``settings`` whose every answer is contract-checked."""
    app = create_app(settings)
    app.test_client_class = ContractCheckedClient
    return app.test_client()


def patch_bulk(client: FlaskClient, auth: dict[str, str], *items: dict[str, Any]) -> Any:
    return client.patch(BULK, json={"orderitem_set": list(items)}, headers=auth)


def journal(client: FlaskClient, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"/_mock/requests{query}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["count"] == len(body["requests"])
    return body["requests"]


def test_health_answers_with_version(client: FlaskClient) -> None:
    body = client.get("/_mock/health").get_json()
    assert body["status"] == "ok"
    assert body["version"]


def test_default_seed_is_the_documented_example(state: Any) -> None:
    snapshot = state()
    order = snapshot["orders"][0]
    assert [(i["id"], i["product_sku"], i["price"], i["price_currency"], i["tax_rate"]) for i in order["items"]] == [
        (1, "1185185001", "100.00", "try", "18.00"),
        (2, "1185185002", "86.00", "try", "18.00"),
        (3, "1185185003", "17.00", "try", "18.00"),
    ]
    assert [o["pk"] for o in snapshot["orders"]] == [1, 2]
    assert [u["username"] for u in snapshot["users"]] == [DEV_USERNAME]
    assert snapshot["users"][0]["token"] == DEV_TOKEN


def test_reset_restores_the_seed_and_empties_the_journal(client: FlaskClient, auth: dict[str, str], state: Any) -> None:
    before = state()
    assert patch_bulk(client, auth, {"id": 1, "status": "450"}).status_code == 200
    assert state() != before
    assert client.post("/_mock/reset").status_code == 200
    assert state() == before
    assert journal(client) == []


def test_seed_merges_orders_and_users(client: FlaskClient, state: Any) -> None:
    seed = {
        "users": [{"username": "erp", "password": "pw", "token": "erp-token"}],
        "orders": [{"id": 9, "items": [{"id": 90, "price": "10.00"}, {"id": 91, "status": "450"}]}],
    }
    response = client.post("/_mock/seed", json=seed)
    assert response.status_code == 200
    assert response.get_json() == {"users": 1, "orders": 1, "items": 2}
    snapshot = state()
    assert [o["pk"] for o in snapshot["orders"]] == [1, 2, 9]
    assert {u["username"] for u in snapshot["users"]} == {DEV_USERNAME, "erp"}
    item = client.get("/api/v1/order_items/91/", headers={"Authorization": "Token erp-token"}).get_json()
    assert item["status"] == "450"
    assert item["order"] == 9
    order = client.get("/api/v1/orders/9/", headers={"Authorization": "Token erp-token"}).get_json()
    assert order["orderitem_set"] == [90, 91]
    assert order["amount"] == "10.00"


def test_seed_with_replace_drops_the_old_orders(client: FlaskClient, state: Any) -> None:
    response = client.post("/_mock/seed?replace=true", json={"orders": [{"id": 5, "items": [{"id": 50}]}]})
    assert response.status_code == 200
    snapshot = state()
    assert [o["pk"] for o in snapshot["orders"]] == [5]
    assert [u["username"] for u in snapshot["users"]] == [DEV_USERNAME], "users stay when the seed brings none"


def test_seeding_an_existing_item_id_moves_it(client: FlaskClient, auth: dict[str, str]) -> None:
    assert client.post("/_mock/seed", json={"orders": [{"id": 2, "items": [{"id": 1}]}]}).status_code == 200
    assert client.get("/api/i1/orders/1/", headers=auth).get_json()["orderitem_set"] == [2, 3]
    assert client.get("/api/i1/orders/2/", headers=auth).get_json()["orderitem_set"] == [1, 4, 5]


@pytest.mark.parametrize(
    ("body", "path", "fragment"),
    [
        ({"orders": [{"id": 1, "items": [{"id": 1, "status": "999"}]}]}, "$.orders[0].items[0].status", '"999"'),
        ({"orders": [{"items": []}]}, "$.orders[0]", "'id' is a required property"),
        ({"orders": [{"id": 1, "items": [{"id": 1}, {"id": 1}]}]}, "$.orders[*].items", "id 1 appears more than once"),
        ({"users": [{"username": "a", "password": "b"}, {"username": "a", "password": "c"}]}, "$.users", '"a"'),
        ({"order": []}, "$", "Additional properties are not allowed"),
    ],
    ids=["bad-status", "order-without-id", "duplicate-item", "duplicate-user", "misspelt-key"],
)
def test_bad_seed_is_refused_with_paths_and_changes_nothing(
    client: FlaskClient, state: Any, body: dict[str, Any], path: str, fragment: str
) -> None:
    before = state()
    response = client.post("/_mock/seed", json=body)
    assert response.status_code == 400
    payload = response.get_json()
    assert payload["detail"] == "The seed does not match the seed contract."
    assert any(error["path"] == path and fragment in error["message"] for error in payload["errors"]), payload
    assert state() == before


@pytest.mark.parametrize(
    ("data", "detail"),
    [("", "Send a seed document as the JSON body."), ("{oops", "JSON parse error - ")],
    ids=["empty", "malformed"],
)
def test_seed_needs_a_json_body(client: FlaskClient, state: Any, data: str, detail: str) -> None:
    before = state()
    response = client.post("/_mock/seed", data=data, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith(detail)
    assert state() == before


def test_journal_names_every_header_however_many_kinds_clients_send(client: FlaskClient, auth: dict[str, str]) -> None:
    # More distinct header names than the server remembers between requests, ten a request.
    for first in range(0, 1100, 10):
        client.get("/api/i1/orders/1/", headers={**auth, **{f"X-Trace-{n}": str(n) for n in range(first, first + 10)}})
    entries = client.get("/_mock/requests").get_json()["requests"]
    assert len(entries) == 110
    for entry in entries:
        traces = {name: value for name, value in entry["headers"].items() if name.startswith("X-Trace-")}
        assert len(traces) == 10 and all(name == f"X-Trace-{value}" for name, value in traces.items()), traces
    assert entries[0]["headers"]["X-Trace-0"] == "0"
    assert entries[-1]["headers"]["X-Trace-1099"] == "1099"


def test_journal_records_requests_with_masked_token_and_verdict(client: FlaskClient, auth: dict[str, str]) -> None:
    patch_bulk(client, auth, {"id": 1, "status": "450", "tracking_no": "TR1"})
    [entry] = journal(client)
    assert entry["method"] == "PATCH"
    assert entry["path"] == BULK
    assert entry["status"] == 200
    assert entry["headers"]["Authorization"] == f"Token {DEV_TOKEN[:4]}…{DEV_TOKEN[-4:]}"
    assert DEV_TOKEN not in str(entry)
    assert entry["body"] == {"orderitem_set": [{"id": 1, "status": "450", "tracking_no": "TR1"}]}
    assert entry["response"][0]["status"] == "450"
    assert entry["duration_ms"] >= 0
    assert entry["verdict"] == {
        "contract": "bulk-status-update-request",
        "schema_errors": [],
        "unknown_fields": ["$.orderitem_set[0].tracking_no"],
        "ok": False,
    }


def test_journal_hides_login_passwords_and_returned_keys(client: FlaskClient) -> None:
    response = client.post("/api/i1/auth/login/", json={"username": DEV_USERNAME, "password": "mock-password"})
    assert response.get_json() == {"key": DEV_TOKEN}
    [entry] = journal(client)
    assert entry["body"] == {"username": DEV_USERNAME, "password": "********"}
    assert entry["response"] == {"key": f"{DEV_TOKEN[:4]}…{DEV_TOKEN[-4:]}"}
    assert "mock-password" not in str(entry)
    assert DEV_TOKEN not in str(entry)
    assert entry["verdict"]["ok"] is True


def test_journal_verdict_reports_schema_errors_of_tolerated_input(client: FlaskClient, auth: dict[str, str]) -> None:
    # DRF accepts a numeric status; the contract asks for a string, and the journal says so.
    assert patch_bulk(client, auth, {"id": 1, "status": 450}).status_code == 200
    [entry] = journal(client)
    assert entry["verdict"]["schema_errors"] == [
        {"path": "$.orderitem_set[0].status", "message": "450 is not of type 'string'"}
    ]


def test_journal_verdict_on_a_body_that_is_not_json(client: FlaskClient, auth: dict[str, str]) -> None:
    client.patch(BULK, data="{nope", content_type="application/json", headers=auth)
    [entry] = journal(client)
    assert entry["status"] == 400
    assert entry["body"] == "{nope"
    assert entry["verdict"]["schema_errors"] == [{"path": "$", "message": "body is not valid JSON"}]


def test_journal_verdict_on_a_json_string_body(client: FlaskClient, auth: dict[str, str]) -> None:
    client.patch(BULK, json="orderitem_set", headers=auth)
    [entry] = journal(client)
    assert entry["body"] == "orderitem_set"
    assert entry["verdict"]["schema_errors"] == [{"path": "$", "message": "'orderitem_set' is not of type 'object'"}]


def test_journal_filters_and_clears(client: FlaskClient, auth: dict[str, str]) -> None:
    patch_bulk(client, auth, {"id": 1, "status": "450"})
    patch_bulk(client, auth, {"id": 1, "status": "nope"})
    client.get("/api/v1/orders/1/", headers=auth)
    client.get("/_mock/state")  # control calls are not journalled
    assert [e["status"] for e in journal(client)] == [200, 400, 200]
    assert [e["path"] for e in journal(client, "?method=get")] == ["/api/v1/orders/1/"]
    assert [e["status"] for e in journal(client, "?path=bulk_status&status=400")] == [400]
    assert journal(client, "?status=500") == []
    assert client.get("/_mock/requests?status=abc").status_code == 400
    assert client.delete("/_mock/requests").status_code == 204
    assert journal(client) == []


def test_journal_keeps_the_newest_entries_up_to_its_limit(auth: dict[str, str]) -> None:
    client = checked_client(Settings(journal_limit=2))
    for order_id in (1, 2, 1):
        client.get(f"/api/i1/orders/{order_id}/", headers=auth)
    entries = journal(client)
    assert [e["path"] for e in entries] == ["/api/i1/orders/2/", "/api/i1/orders/1/"]
    assert entries[0]["id"] < entries[1]["id"]


def test_contracts_are_served(client: FlaskClient) -> None:
    index = client.get("/contracts/").get_json()["schemas"]
    assert index == [f"/contracts/{contracts.CONTRACTS_VERSION}/{name}.json" for name in contracts.SCHEMA_NAMES]
    for name in contracts.SCHEMA_NAMES:
        assert client.get(f"/contracts/{name}.json").get_json() == contracts.load_schema(name)
    assert client.get("/openapi.json").get_json() == contracts.bundled_openapi()
    missing = client.get("/contracts/nope.json")
    assert missing.status_code == 404
    assert missing.get_json() == {"detail": "Not found."}


def test_served_contracts_carry_the_enum_extensions(auth: dict[str, str]) -> None:
    settings = Settings(extra_statuses={"700": "lost"}, extra_shipping_companies=("fedex",), max_items=5)
    client = create_app(settings).test_client()
    assert "fedex" in client.get("/contracts/shipping-company.json").get_json()["enum"]
    statuses = client.get("/contracts/order-item-status.json").get_json()["oneOf"]
    assert {"const": "700", "title": "lost"} in statuses
    bundled = client.get("/openapi.json").get_json()
    assert "fedex" in bundled["components"]["schemas"]["shipping-company"]["enum"]
    response = client.patch(
        BULK, json={"orderitem_set": [{"id": 1, "status": "700", "shipping_company": "fedex"}]}, headers=auth
    )
    assert response.status_code == 200
    assert (response.get_json()[0]["status"], response.get_json()[0]["shipping_company"]) == ("700", "fedex")


def test_unknown_control_route_is_json_404(client: FlaskClient) -> None:
    response = client.get("/_mock/nope")
    assert response.status_code == 404
    assert response.get_json() == {"detail": "Not found."}


def test_control_route_wrong_method_is_json_405(client: FlaskClient) -> None:
    response = client.get("/_mock/reset")
    assert response.status_code == 405
    assert response.get_json() == {"detail": 'Method "GET" not allowed.'}
    assert "POST" in response.headers["Allow"]


@pytest.mark.parametrize(
    "status",
    ["\u00b2", "\u0661\u0662\u0663", "\uff12\uff10\uff10", "1" * 5000, "-1", "2 00", "", "+200"],
    ids=[
        "superscript-two",
        "arabic-indic-digits",
        "fullwidth-digits",
        "5000-digits",
        "negative",
        "space",
        "empty",
        "plus",
    ],
)
def test_journal_status_filter_takes_ascii_digits_only(client: FlaskClient, auth: dict[str, str], status: str) -> None:
    client.get("/api/i1/orders/1/", headers=auth)
    response = client.get("/_mock/requests", query_string={"status": status})
    assert response.status_code == 400
    assert response.get_json() == {"detail": "status must be an HTTP status code: digits 0-9 only, such as 200."}


def test_journal_status_filter_with_ascii_digits(client: FlaskClient, auth: dict[str, str]) -> None:
    client.get("/api/i1/orders/1/", headers=auth)
    assert [e["status"] for e in journal(client, "?status=200")] == [200]
    assert [e["status"] for e in journal(client, "?status=0200")] == [200]
    assert journal(client, "?status=404") == []


def test_stored_rows_read_as_the_emulated_api_shows_them(client: FlaskClient, auth: dict[str, str]) -> None:
    client.post("/_mock/faults", json={"kind": "status", "status": 503})
    for control, emulated in (("state/items/2", "order_items/2/"), ("state/orders/1", "orders/1/")):
        client.delete("/_mock/faults")
        shown = client.get(f"/api/i1/{emulated}", headers=auth).get_json()
        client.post("/_mock/faults", json={"kind": "status", "status": 503})
        # No fault answers a control read, and none is journalled.
        assert client.get(f"/_mock/{control}").get_json() == shown
    client.delete("/_mock/faults")
    assert client.get("/_mock/state/items/999").status_code == 404
    assert client.get("/_mock/state/orders/999").status_code == 404
    page = client.get("/_mock/state/items?order=2").get_json()
    assert (page["count"], [item["id"] for item in page["items"]]) == (2, [4, 5])
    assert client.get("/_mock/state/items").get_json()["count"] == 5
    assert [entry["path"] for entry in journal(client)] == ["/api/i1/order_items/2/", "/api/i1/orders/1/"]


@pytest.mark.parametrize("order", ["x", "-1", "", "1" * 20, "²"])
def test_a_bad_order_filter_is_refused(client: FlaskClient, order: str) -> None:
    response = client.get("/_mock/state/items", query_string={"order": order})
    assert response.status_code == 400
    assert response.get_json() == {"detail": "order must be an order id: digits 0-9 only, such as 1."}


def test_stored_orders_read_as_the_emulated_api_shows_them(client: FlaskClient, auth: dict[str, str]) -> None:
    client.post("/_mock/seed", json={"orders": [{"id": 7, "is_send": True, "items": [{"id": 70}]}]})
    client.patch("/api/i1/orders/2/", json={"is_send": True}, headers=auth)
    client.delete("/_mock/requests")
    client.post("/_mock/faults", json={"kind": "status", "status": 503})
    listed = client.get("/_mock/state/orders").get_json()
    assert (listed["count"], [order["pk"] for order in listed["orders"]]) == (3, [1, 2, 7])
    sent = client.get("/_mock/state/orders?is_send=true").get_json()
    assert (sent["count"], [order["pk"] for order in sent["orders"]]) == (2, [2, 7])
    assert [order["pk"] for order in client.get("/_mock/state/orders?is_send=FALSE").get_json()["orders"]] == [1]
    # No fault answers a control read, and none is journalled.
    assert journal(client) == []
    client.delete("/_mock/faults")
    for order in listed["orders"]:
        assert order == client.get(f"/api/i1/orders/{order['pk']}/", headers=auth).get_json()


@pytest.mark.parametrize("is_send", ["maybe", "1", "0", "yes", "", "truee", "true\u0000", "\u0131"])
def test_a_bad_is_send_filter_is_refused(client: FlaskClient, is_send: str) -> None:
    response = client.get("/_mock/state/orders", query_string={"is_send": is_send})
    assert response.status_code == 400
    assert response.get_json() == {"detail": "is_send must be true or false, such as is_send=true."}


def test_stored_mappings_list_what_create_mapping_made(client: FlaskClient, auth: dict[str, str]) -> None:
    assert client.get("/_mock/state/mappings").get_json() == {"count": 0, "mappings": []}
    client.post("/api/i1/order_items/4/create_mapping/", json={"code": "ERP-4"}, headers=auth)
    client.post("/api/i1/order_items/2/create_mapping/", json={"code": "ERP-2", "update_stock": False}, headers=auth)
    listed = client.get("/_mock/state/mappings").get_json()
    assert listed["count"] == 2
    assert listed["mappings"] == [
        {
            "pk": 1,
            "content_type": 38,
            "object_id": 4,
            "integration_type": "external_company",
            "code": "ERP-4",
            "update_stock": True,
        },
        {
            "pk": 2,
            "content_type": 38,
            "object_id": 2,
            "integration_type": "external_company",
            "code": "ERP-2",
            "update_stock": False,
        },
    ]
    assert client.get("/_mock/state/mappings?item=2").get_json() == {"count": 1, "mappings": listed["mappings"][1:]}
    for unmapped in ("1", "999", "0002" + "0" * 15):
        assert client.get(f"/_mock/state/mappings?item={unmapped}").get_json() == {"count": 0, "mappings": []}
    client.post("/_mock/reset")
    assert client.get("/_mock/state/mappings").get_json()["count"] == 0


@pytest.mark.parametrize("item", ["x", "-1", "", "1" * 20, "²", "1.0"])
def test_a_bad_item_filter_is_refused(client: FlaskClient, item: str) -> None:
    response = client.get("/_mock/state/mappings", query_string={"item": item})
    assert response.status_code == 400
    assert response.get_json() == {"detail": "item must be an order item id: digits 0-9 only, such as 1."}


def test_strict_mode_reads_and_switches_until_the_next_reset(client: FlaskClient, auth: dict[str, str]) -> None:
    assert client.get("/_mock/strict").get_json() == {"strict": False}
    assert client.put("/_mock/strict", json={"strict": True}).get_json() == {"strict": True}
    assert patch_bulk(client, auth, {"id": 1, "status": "550"}).status_code == 200
    assert patch_bulk(client, auth, {"id": 1, "status": "400"}).status_code == 400
    client.post("/_mock/reset")
    assert client.get("/_mock/strict").get_json() == {"strict": False}


@pytest.mark.parametrize("body", [None, {}, {"strict": 1}, {"strict": "true"}, {"strict": True, "x": 1}, [True]])
def test_a_bad_strict_body_is_refused_and_changes_nothing(client: FlaskClient, body: Any) -> None:
    response = client.put("/_mock/strict", json=body) if body is not None else client.put("/_mock/strict")
    assert response.status_code == 400
    assert response.get_json() == {"detail": 'Send {"strict": true} or {"strict": false} as the JSON body.'}
    assert client.get("/_mock/strict").get_json() == {"strict": False}


@pytest.mark.parametrize(
    "path",
    [
        "/_mock/state/items/1",
        "/_mock/state/orders/1",
        "/_mock/state/items",
        "/_mock/state/orders",
        "/_mock/state/mappings",
        "/_mock/strict",
    ],
)
def test_the_new_reads_need_the_admin_token(path: str) -> None:
    client = checked_client(Settings(admin_token="s3cret"))
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"X-Mock-Admin-Token": "wrong"}).status_code == 403
    assert client.get(path, headers={"X-Mock-Admin-Token": "s3cret"}).status_code == 200
    assert client.put("/_mock/strict", json={"strict": True}).status_code == 401


def test_strict_mode_reaches_every_worker_process(tmp_path: Path) -> None:
    """Switched through one worker, strict mode holds in all: it lives in the shared store."""
    command = [sys.executable, "-m", "omnitron_mock", "serve", "--port", "0", "--workers", "2"]
    with serving_command([*command, "--db", str(tmp_path / "state.db")]) as (url, _banner):
        auth = {"Authorization": f"Token {DEV_TOKEN}"}
        assert requests.put(f"{url}/_mock/strict", json={"strict": True}, timeout=10).json() == {"strict": True}
        shipped = {"orderitem_set": [{"id": 1, "status": "550"}]}
        assert requests.patch(f"{url}{BULK}", json=shipped, headers=auth, timeout=10).status_code == 200
        back = {"orderitem_set": [{"id": 1, "status": "400"}]}
        # A new connection each: the two workers both take some of them.
        answers = [requests.patch(f"{url}{BULK}", json=back, headers=auth, timeout=10).status_code for _ in range(20)]
        assert answers == [400] * 20
        assert {requests.get(f"{url}/_mock/strict", timeout=10).json()["strict"] for _ in range(10)} == {True}
        requests.post(f"{url}/_mock/reset", timeout=10)
        assert {requests.get(f"{url}/_mock/strict", timeout=10).json()["strict"] for _ in range(10)} == {False}


def test_a_worker_built_after_a_switch_leaves_it_alone(tmp_path: Path) -> None:
    """A worker process starting late (or replacing one that died) must not
    undo a strict switch another worker made: ``serve`` builds its workers'
    apps without applying the startup strictness, which its parent applied."""
    settings = Settings(db=str(tmp_path / "state.db"))
    first = create_app(settings)
    assert first.test_client().put("/_mock/strict", json={"strict": True}).status_code == 200
    late = create_app(settings, startup_writes=False)
    assert late.test_client().get("/_mock/strict").get_json() == {"strict": True}
    restarted = create_app(settings)
    assert restarted.test_client().get("/_mock/strict").get_json() == {"strict": False}


def test_a_restart_takes_its_strictness_from_its_settings(tmp_path: Path) -> None:
    database = tmp_path / "state.db"
    command = [sys.executable, "-m", "omnitron_mock", "serve", "--port", "0", "--db", str(database)]
    with serving_command(command) as (url, _banner), checked_session() as http:
        http.put(f"{url}/_mock/strict", json={"strict": True}, timeout=10)
    with serving_command(command) as (url, _banner), checked_session() as http:
        assert http.get(f"{url}/_mock/strict", timeout=10).json() == {"strict": False}
    with serving_command([*command, "--strict"]) as (url, _banner), checked_session() as http:
        assert http.get(f"{url}/_mock/strict", timeout=10).json() == {"strict": True}
