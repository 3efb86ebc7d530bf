"""The service API: Python callers and the control API are two doors to the
same operations, and they see each other's work."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from omnitron_mock import DEV_TOKEN, Emulator, emulator_of
from omnitron_mock.faults import FaultError
from omnitron_mock.seed import SeedError

AUTH = {"Authorization": f"Token {DEV_TOKEN}"}
BULK = "/api/i1/order_items/bulk_status_update/"
SEED = {"orders": [{"id": 7, "number": "N7", "items": [{"id": 70, "status": "400"}]}]}


@pytest.fixture
def service(app: Any) -> Emulator:
    return emulator_of(app)


def test_seeding_from_python_is_what_http_reads(service: Emulator, client: FlaskClient) -> None:
    counts = service.seed(SEED)
    assert (counts.users, counts.orders, counts.items) == (0, 1, 1)
    assert client.get("/api/i1/order_items/70/", headers=AUTH).get_json()["status"] == "400"
    assert service.item(70) == client.get("/api/i1/order_items/70/", headers=AUTH).get_json()
    assert service.order(7) == client.get("/api/i1/orders/7/", headers=AUTH).get_json()
    assert [item["id"] for item in service.items(7)] == [70]
    assert service.snapshot() == client.get("/_mock/state").get_json()


def test_a_bad_seed_names_its_problem_and_loads_nothing(service: Emulator, client: FlaskClient) -> None:
    before = client.get("/_mock/state").get_json()
    with pytest.raises(SeedError) as raised:
        service.seed({"orders": [{"id": "seven"}]})
    assert raised.value.errors and raised.value.errors[0][0].startswith("$.orders[0]")
    assert client.get("/_mock/state").get_json() == before


def test_faults_added_from_python_answer_http_calls(service: Emulator, client: FlaskClient) -> None:
    [fault] = service.add_faults({"kind": "status", "status": 503, "times": 1, "path": "bulk_status_update"})
    assert client.get("/_mock/faults").get_json()["faults"] == service.faults()
    body = {"orderitem_set": [{"id": 1, "status": "450"}]}
    assert client.patch(BULK, json=body, headers=AUTH).status_code == 503
    assert service.faults() == []
    [other] = service.add_faults([{"kind": "latency", "delay_ms": 1}])
    assert service.clear_faults(other["id"]) is True
    assert service.clear_faults(fault["id"]) is False


def test_a_bad_fault_names_its_problem_and_adds_nothing(service: Emulator) -> None:
    with pytest.raises(FaultError) as raised:
        service.add_faults([{"kind": "latency", "delay_ms": 1}, {"kind": "status", "status": "x"}])
    assert raised.value.errors[0][0].startswith("$[1]")
    assert service.faults() == []


def test_the_journal_from_python_is_the_journal_over_http(service: Emulator, client: FlaskClient) -> None:
    client.patch(BULK, json={"orderitem_set": [{"id": 1, "tracking_no": "TR1"}]}, headers=AUTH)
    client.get("/api/i1/order_items/1/", headers=AUTH)
    over_http = client.get("/_mock/requests", query_string={"method": "patch"}).get_json()["requests"]
    assert service.journal(method="patch") == over_http
    [entry] = over_http
    assert entry["verdict"]["unknown_fields"] == ["$.orderitem_set[0].tracking_no"]
    assert service.journal_entry(entry["id"]) == entry
    assert [e["status"] for e in service.journal(path="order_items/1/")] == [200]
    service.clear_journal()
    assert client.get("/_mock/requests").get_json()["count"] == 0
    assert service.journal_entry(entry["id"]) is None


def test_strict_mode_and_reset_from_python(service: Emulator, client: FlaskClient) -> None:
    service.set_strict(True)
    assert service.strict
    # Strict mode refuses a backward step: 550 (delivered) back to 400.
    client.patch(BULK, json={"orderitem_set": [{"id": 1, "status": "550"}]}, headers=AUTH)
    refused = client.patch(BULK, json={"orderitem_set": [{"id": 1, "status": "400"}]}, headers=AUTH)
    assert refused.status_code == 400
    service.reset()
    assert not service.strict
    assert client.get("/_mock/requests").get_json()["count"] == 0
    assert client.get("/api/i1/order_items/1/", headers=AUTH).get_json()["status"] != "550"


def test_what_the_service_hands_out_is_a_copy(service: Emulator, client: FlaskClient) -> None:
    [fault] = service.add_faults({"kind": "status", "status": 503, "path": "no-such-path"})
    fault["status"] = 429
    assert service.faults()[0]["status"] == 503
    client.get("/api/i1/active_user/", headers=AUTH)
    [entry] = service.recent_journal(1)
    entry["status"] = 999
    entry["headers"].clear()
    [shown] = client.get("/_mock/requests").get_json()["requests"]
    assert shown["status"] == 200
    assert shown["headers"]


def test_orders_from_python_are_what_http_reads(service: Emulator, client: FlaskClient) -> None:
    service.seed({"orders": [{"id": 7, "is_send": True, "items": [{"id": 70}]}]})
    assert client.patch("/api/i1/orders/2/", json={"is_send": True}, headers=AUTH).status_code == 200
    assert [order["pk"] for order in service.orders()] == [1, 2, 7]
    for order in service.orders():
        assert order == client.get(f"/api/i1/orders/{order['pk']}/", headers=AUTH).get_json()
    assert [order["pk"] for order in service.orders(is_send=True)] == [2, 7]
    assert [order["pk"] for order in service.orders(is_send=False)] == [1]
    with pytest.raises(TypeError, match="is_send must be True, False or None, not 'yes'"):
        service.orders(is_send="yes")  # type: ignore[arg-type]


def test_mappings_from_python_are_those_create_mapping_made(service: Emulator, client: FlaskClient) -> None:
    assert service.mappings() == []
    for item_id, body in ((3, {"code": "ERP-3"}), (1, {"code": "ERP-1", "update_stock": False})):
        made = client.post(f"/api/i1/order_items/{item_id}/create_mapping/", json=body, headers=AUTH)
        assert made.status_code == 201
    assert service.mappings() == [
        {
            "pk": 1,
            "content_type": 38,
            "object_id": 3,
            "integration_type": "external_company",
            "code": "ERP-3",
            "update_stock": True,
        },
        {
            "pk": 2,
            "content_type": 38,
            "object_id": 1,
            "integration_type": "external_company",
            "code": "ERP-1",
            "update_stock": False,
        },
    ]
    assert [mapping["pk"] for mapping in service.mappings(1)] == [2]
    assert service.mappings(2) == service.mappings(999) == service.mappings(2**70) == []
    service.reset()
    assert service.mappings() == []


def test_orders_and_mappings_are_copies(service: Emulator, client: FlaskClient) -> None:
    client.post("/api/i1/order_items/1/create_mapping/", json={"code": "ERP-1"}, headers=AUTH)
    [first, _second] = service.orders()
    first["is_send"] = True
    first["customer"]["email"] = "changed@example.com"
    first["orderitem_set"].append(99)
    [mapping] = service.mappings()
    mapping["code"] = "changed"
    assert client.get("/api/i1/orders/1/", headers=AUTH).get_json() == service.orders()[0]
    assert service.orders()[0]["is_send"] is False
    assert service.orders()[0]["customer"]["email"] != "changed@example.com"
    assert service.mappings()[0]["code"] == "ERP-1"
