"""Replicas on one PostgreSQL database keep users, faults and strict mode
between requests (the store's settings cache), and what one replica changes
rules the very next request another serves: nothing waits for a cache to
expire."""

from __future__ import annotations

from typing import Any

from omnitron_mock import DEV_TOKEN, Settings, create_app

from tests.helpers import ContractCheckedClient
from tests.postgres import PostgresServer

BULK_PATH = "/api/i1/order_items/bulk_status_update/"
AUTH = {"Authorization": f"Token {DEV_TOKEN}"}
OTHER_TOKEN = "0123456789abcdef0123456789abcdef01234567"


def replicas(postgres_server: PostgresServer, name: str) -> tuple[Any, Any]:
    """Two emulators on one new database, as two replicas serve it."""
    url = postgres_server.create_database(name)
    apps = []
    for _ in range(2):
        application = create_app(Settings(db=url))
        application.test_client_class = ContractCheckedClient
        apps.append(application.test_client())
    return apps[0], apps[1]


def bulk(client: Any, status: str, headers: dict[str, str] = AUTH) -> Any:
    return client.patch(BULK_PATH, json={"orderitem_set": [{"id": 1, "status": status}]}, headers=headers)


def test_a_fault_added_on_one_replica_answers_the_next_bulk_on_the_other(postgres_server: PostgresServer) -> None:
    first, second = replicas(postgres_server, "cache_faults")
    assert bulk(first, "400").status_code == 200  # first has read the (empty) faults
    fault = {"kind": "status", "status": 503, "times": 1, "path": "*/bulk_status_update/"}
    assert second.post("/_mock/faults", json=fault).status_code == 201
    assert bulk(first, "400").status_code == 503
    # Used up on first, and counted where second sees it.
    assert bulk(second, "400").status_code == 200
    assert second.get("/_mock/faults").get_json() == {"faults": []}
    lasting = {key: value for key, value in fault.items() if key != "times"}
    assert second.post("/_mock/faults", json=lasting).status_code == 201
    assert bulk(first, "400").status_code == 503
    assert second.delete("/_mock/faults").status_code == 204
    assert bulk(first, "400").status_code == 200


def test_strict_mode_switched_on_one_replica_rules_the_next_bulk_on_the_other(
    postgres_server: PostgresServer,
) -> None:
    first, second = replicas(postgres_server, "cache_strict")
    assert bulk(first, "450").status_code == 200
    assert second.put("/_mock/strict", json={"strict": True}).status_code == 200
    # Back from 450 to 400: strict rules refuse it.
    refused = bulk(first, "400")
    assert refused.status_code == 400, refused.get_data(as_text=True)
    assert first.get("/_mock/strict").get_json() == {"strict": True}
    assert second.put("/_mock/strict", json={"strict": False}).status_code == 200
    assert bulk(first, "400").status_code == 200


def test_users_seeded_or_reset_on_one_replica_authenticate_on_the_other(postgres_server: PostgresServer) -> None:
    first, second = replicas(postgres_server, "cache_users")
    other = {"Authorization": f"Token {OTHER_TOKEN}"}
    assert bulk(first, "400", other).status_code == 401  # first has read the users without it
    user = {"username": "erp", "password": "secret", "token": OTHER_TOKEN}
    assert second.post("/_mock/seed", json={"users": [user], "orders": []}).status_code == 200
    assert bulk(first, "400", other).status_code == 200
    # A reset brings back the startup seed's users only.
    assert second.post("/_mock/reset").status_code == 200
    assert bulk(first, "400", other).status_code == 401
    assert bulk(first, "400").status_code == 200
