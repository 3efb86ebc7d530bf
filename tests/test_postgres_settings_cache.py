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


def test_in_tenant_mode_each_tenant_cache_follows_its_own_changes(postgres_server: PostgresServer) -> None:
    # Each tenant's tables live in a schema of its own: its cache asks that schema's generation.
    url = postgres_server.create_database("cache_tenants")
    seed = {
        "users": [
            {"username": "alice", "password": "pw-alice", "token": "tok-alice"},
            {"username": "bob", "password": "pw-bob", "token": "tok-bob"},
        ],
        "orders": [{"id": 1, "items": [{"id": 1}]}],
    }
    settings = Settings(db=url, tenant_per_user=True, admin_token="admin-secret")
    first, second = (create_app(settings, seed=seed).test_client() for _ in range(2))
    alice, bob = {"Authorization": "Token tok-alice"}, {"Authorization": "Token tok-bob"}
    # Both replicas have read both tenants' settings.
    for client in (first, second):
        for user in (alice, bob):
            assert bulk(client, "400", user).status_code == 200
    fault = {"kind": "status", "status": 503, "path": "*/bulk_status_update/"}
    assert first.post("/_mock/faults", json=fault, headers=bob).status_code == 201
    assert bulk(second, "400", bob).status_code == 503
    assert bulk(second, "400", alice).status_code == 200
    assert first.put("/_mock/strict", json={"strict": True}, headers=alice).status_code == 200
    assert bulk(second, "450", alice).status_code == 200
    assert bulk(second, "400", alice).status_code == 400  # back from 450: strict refuses it
    assert first.delete("/_mock/faults", headers=bob).status_code == 204
    assert bulk(second, "400", bob).status_code == 200  # and bob's world is not strict
