"""Tenant mode (--tenant-per-user): each user's token names a world of its own,
on every store; the admin token sees and resets them all."""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from omnitron_mock import Settings, create_app, tenants_of
from werkzeug.test import EnvironBuilder

from tests.helpers import BULK_PATH, ContractCheckedClient, run_cli, serving_command
from tests.postgres import PostgresServer

ADMIN_TOKEN = "admin-secret"
ADMIN = {"X-Mock-Admin-Token": ADMIN_TOKEN}
ALICE = {"Authorization": "Token tok-alice"}
BOB = {"Authorization": "Token tok-bob"}
CAROL = {"Authorization": "Token tok-carol"}
SEED = {
    "users": [
        {"username": "alice", "password": "pw-alice", "token": "tok-alice"},
        {"username": "bob", "password": "pw-bob", "token": "tok-bob", "tenant": "team"},
        {"username": "carol", "password": "pw-carol", "token": "tok-carol", "tenant": "team"},
    ],
    "orders": [
        {"id": 1, "number": "N-1", "items": [{"id": 11, "status": "400"}, {"id": 12, "status": "400"}]},
        {"id": 2, "number": "N-2", "items": [{"id": 21, "status": "400"}]},
    ],
}
_databases = itertools.count()

MakeApp = Callable[..., Any]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def make_tenant_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeApp]:
    """``make(**settings)``: a tenant-mode app on the parametrised store, with SEED;
    a second call gives another app on the same database (a replica)."""
    apps: list[Any] = []
    db: str | None = None
    if request.param == "sqlite":
        db = str(tmp_path / "state.sqlite3")
    elif request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        db = server.create_database(f"tenants_{next(_databases)}")

    def make(faults: object = None, **changes: Any) -> Any:
        settings = Settings(tenant_per_user=True, admin_token=ADMIN_TOKEN, db=db, **changes)
        application = create_app(settings, seed=SEED, faults=faults)
        application.test_client_class = ContractCheckedClient
        apps.append(application)
        return application

    yield make
    for application in apps:
        close = getattr(application.extensions["omnitron_mock"].store, "close", None)
        if close is not None:
            close()


@pytest.fixture
def client(make_tenant_app: MakeApp) -> FlaskClient:
    return make_tenant_app().test_client()


def _bulk(client: FlaskClient, headers: dict[str, str], item_id: int, status: str) -> Any:
    return client.patch(BULK_PATH, json={"orderitem_set": [{"id": item_id, "status": status}]}, headers=headers)


def _status(client: FlaskClient, headers: dict[str, str], item_id: int) -> str:
    response = client.get(f"/api/i1/order_items/{item_id}/", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["status"]


def _journal_paths(client: FlaskClient, headers: dict[str, str], query: str = "") -> list[tuple[str, str]]:
    response = client.get(f"/_mock/requests{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return [(entry["method"], entry["path"]) for entry in response.get_json()["requests"]]


def test_each_tenant_has_its_own_items_and_journal(client: FlaskClient) -> None:
    assert _bulk(client, ALICE, 11, "450").status_code == 200
    assert (_status(client, ALICE, 11), _status(client, BOB, 11)) == ("450", "400")
    assert _journal_paths(client, ALICE) == [
        ("PATCH", BULK_PATH),
        ("GET", "/api/i1/order_items/11/"),
    ]
    assert _journal_paths(client, BOB) == [("GET", "/api/i1/order_items/11/")]


def test_users_of_one_named_tenant_share_its_world(client: FlaskClient) -> None:
    assert _bulk(client, BOB, 21, "450").status_code == 200
    assert _status(client, CAROL, 21) == "450"
    assert _status(client, ALICE, 21) == "400"
    # Both users' requests are in the one journal, whichever token reads it.
    assert _journal_paths(client, CAROL) == _journal_paths(client, BOB)[:2]


def test_a_login_is_journalled_in_the_tenant_of_the_user_it_names(client: FlaskClient) -> None:
    response = client.post("/api/i1/auth/login/", json={"username": "alice", "password": "pw-alice"})
    assert response.get_json() == {"key": "tok-alice"}
    anonymous = client.get("/api/i1/active_user/")
    assert anonymous.status_code == 401
    assert _journal_paths(client, ALICE) == [("POST", "/api/i1/auth/login/")]
    # What names no tenant (no token, a login for nobody) is the root world's: the admin sees it.
    client.post("/api/i1/auth/login/", json={"username": "nobody", "password": "x"})
    assert _journal_paths(client, ADMIN) == [("GET", "/api/i1/active_user/"), ("POST", "/api/i1/auth/login/")]


def test_faults_and_strict_mode_are_a_tenants_own(client: FlaskClient) -> None:
    added = client.post("/_mock/faults", json={"kind": "status", "status": 503, "times": 2}, headers=BOB)
    assert added.status_code == 201
    assert client.put("/_mock/strict", json={"strict": True}, headers=BOB).status_code == 200
    assert [client.get("/api/i1/active_user/", headers=ALICE).status_code for _ in range(2)] == [200, 200]
    assert [client.get("/api/i1/active_user/", headers=CAROL).status_code for _ in range(3)] == [503, 503, 200]
    assert client.get("/_mock/strict", headers=ALICE).get_json() == {"strict": False}
    assert client.get("/_mock/strict", headers=CAROL).get_json() == {"strict": True}
    assert client.get("/_mock/faults", headers=ALICE).get_json() == {"faults": []}


def test_mappings_are_a_tenants_own(client: FlaskClient) -> None:
    mapped = client.post("/api/i1/order_items/11/create_mapping/", json={"code": "ERP-1"}, headers=ALICE)
    assert mapped.status_code == 201
    assert [m["code"] for m in client.get("/_mock/state/mappings", headers=ALICE).get_json()["mappings"]] == ["ERP-1"]
    assert client.get("/_mock/state/mappings", headers=BOB).get_json() == {"count": 0, "mappings": []}


def test_control_calls_need_a_token_and_reach_only_their_own_tenant(client: FlaskClient) -> None:
    _bulk(client, ALICE, 11, "450")
    missing = client.get("/_mock/state/items/11")
    assert missing.status_code == 401
    assert "needs a user's API token" in missing.get_json()["detail"]
    assert client.get("/_mock/state/items/11", headers={"Authorization": "Token nobody"}).status_code == 403
    assert client.get("/_mock/state/items/11", headers={"X-Mock-Admin-Token": "wrong"}).status_code == 403
    other = client.get("/_mock/state/items/11?tenant=team", headers=ALICE)
    assert other.status_code == 403
    assert other.get_json() == {
        "detail": "This token belongs to tenant 'alice': only the admin token reaches another tenant."
    }
    assert client.get("/_mock/state/items/11?tenant=alice", headers=ALICE).get_json()["status"] == "450"
    assert (
        client.get("/_mock/state/items/11", headers={**ADMIN, "X-Mock-Tenant": "alice"}).get_json()["status"] == "450"
    )
    assert client.get("/_mock/state/items/11?tenant=team", headers=ADMIN).get_json()["status"] == "400"
    unknown = client.get("/_mock/state/items/11?tenant=nobody", headers=ADMIN)
    assert unknown.status_code == 404
    assert "GET /_mock/tenants lists them" in unknown.get_json()["detail"]
    # Health and the control API's own description stay open.
    assert client.get("/_mock/health").status_code == 200


def test_a_tenants_reset_resets_its_world_alone(client: FlaskClient) -> None:
    _bulk(client, ALICE, 11, "450")
    _bulk(client, BOB, 11, "450")
    assert client.post("/_mock/reset", headers=BOB).status_code == 200
    assert (_status(client, ALICE, 11), _status(client, BOB, 11)) == ("450", "400")
    assert _journal_paths(client, ALICE)[0] == ("PATCH", BULK_PATH)


def test_the_admin_reset_resets_every_world(client: FlaskClient) -> None:
    _bulk(client, ALICE, 11, "450")
    _bulk(client, BOB, 11, "450")
    client.get("/api/i1/active_user/")
    assert client.post("/_mock/reset", headers=ADMIN).get_json() == {"status": "reset", "tenants": ["alice", "team"]}
    assert _journal_paths(client, ADMIN) == []
    assert (_status(client, ALICE, 11), _status(client, BOB, 11)) == ("400", "400")
    # One tenant named: that tenant alone.
    _bulk(client, ALICE, 11, "450")
    _bulk(client, BOB, 11, "450")
    assert client.post("/_mock/reset?tenant=team", headers=ADMIN).status_code == 200
    assert (_status(client, ALICE, 11), _status(client, BOB, 11)) == ("450", "400")


def test_a_new_tenant_starts_from_the_startup_seed_and_faults(make_tenant_app: MakeApp) -> None:
    client = make_tenant_app().test_client()
    client.post("/_mock/seed?replace=true", json={"orders": []}, headers=ALICE)
    assert client.get("/_mock/state/orders", headers=ALICE).get_json()["count"] == 0
    # Bob's tenant was never used: it starts from the seed, whatever alice did.
    assert client.get("/_mock/state/orders", headers=BOB).get_json()["count"] == 2


def test_startup_faults_come_with_every_new_tenant(make_tenant_app: MakeApp) -> None:
    client = make_tenant_app(faults={"kind": "status", "status": 502, "times": 1}).test_client()
    answers = [client.get("/api/i1/active_user/", headers=h).status_code for h in (ALICE, ALICE, BOB, CAROL)]
    assert answers == [502, 200, 502, 200]


def test_a_seed_may_not_bring_users_in_tenant_mode(client: FlaskClient) -> None:
    refused = client.post(
        "/_mock/seed", json={"users": [{"username": "eve", "password": "x"}], "orders": []}, headers=ALICE
    )
    assert refused.status_code == 400
    assert refused.get_json() == {
        "detail": 'In tenant mode users come from the startup seed and --user: send this seed without "users".'
    }
    assert client.post("/api/i1/auth/login/", json={"username": "eve", "password": "x"}).status_code == 400


def test_a_seed_past_the_order_quota_is_refused_and_loads_nothing(make_tenant_app: MakeApp) -> None:
    client = make_tenant_app(tenant_max_orders=3).test_client()
    one_more = {"orders": [{"id": 3, "items": [{"id": 31}]}]}
    two_more = {"orders": [{"id": 4, "items": [{"id": 41}]}, {"id": 5, "items": [{"id": 51}]}]}
    assert client.post("/_mock/seed", json=one_more, headers=ALICE).status_code == 200
    refused = client.post("/_mock/seed", json=two_more, headers=ALICE)
    assert refused.status_code == 403
    assert refused.get_json() == {
        "detail": "This seed would leave the tenant with 5 orders; its quota is 3. "
        "Seed fewer orders, or with ?replace=true."
    }
    assert client.get("/_mock/state/orders", headers=ALICE).get_json()["count"] == 3
    # Orders the tenant holds already count once; replace counts the seed alone.
    assert client.post("/_mock/seed", json={"orders": [{"id": 1}, {"id": 3}]}, headers=ALICE).status_code == 200
    assert client.post("/_mock/seed?replace=true", json=two_more, headers=ALICE).status_code == 200
    assert client.get("/_mock/state/orders", headers=ALICE).get_json()["count"] == 2


def test_a_full_journal_refuses_api_calls_until_cleared(make_tenant_app: MakeApp) -> None:
    client = make_tenant_app(tenant_max_journal=3).test_client()
    for _ in range(3):
        assert client.get("/api/i1/active_user/", headers=ALICE).status_code == 200
    refused = _bulk(client, ALICE, 11, "450")
    assert refused.status_code == 403
    assert refused.get_json() == {
        "detail": "This tenant's journal holds its quota of 3 entries, so its API calls are refused: "
        "clear the journal (DELETE /_mock/requests) or reset (POST /_mock/reset) to go on."
    }
    # Refused: nothing changed, nothing journalled; other tenants go on.
    assert client.get("/_mock/state/items/11", headers=ALICE).get_json()["status"] == "400"
    assert len(_journal_paths(client, ALICE)) == 3
    assert _bulk(client, BOB, 11, "450").status_code == 200
    assert client.delete("/_mock/requests", headers=ALICE).status_code == 204
    assert _bulk(client, ALICE, 11, "450").status_code == 200


def test_tenants_are_listed_for_the_admin_and_each_tenant_sees_itself(client: FlaskClient) -> None:
    client.get("/api/i1/active_user/", headers=BOB)
    listed = client.get("/_mock/tenants", headers=ADMIN).get_json()
    assert [(t["name"], t["users"], t["active"]) for t in listed] == [
        ("alice", ["alice"], False),
        ("team", ["bob", "carol"], True),
    ]
    assert listed[0]["last_seen"] is None and listed[1]["last_seen"] is not None
    own = client.get("/_mock/tenants", headers=CAROL).get_json()
    assert [t["name"] for t in own] == ["team"]


def test_the_admin_expires_a_tenant_back_to_the_startup_seed(client: FlaskClient) -> None:
    _bulk(client, ALICE, 11, "450")
    assert client.delete("/_mock/tenants/alice", headers=ALICE).status_code == 403
    assert client.delete("/_mock/tenants/nobody", headers=ADMIN).status_code == 404
    assert client.delete("/_mock/tenants/alice", headers=ADMIN).status_code == 204
    assert [t["active"] for t in client.get("/_mock/tenants", headers=ADMIN).get_json()] == [False, False]
    assert _journal_paths(client, ALICE) == []
    assert _status(client, ALICE, 11) == "400"


def test_an_idle_tenant_expires(make_tenant_app: MakeApp) -> None:
    client = make_tenant_app(tenant_idle_seconds=1).test_client()
    before_last_request = time.monotonic()
    _bulk(client, ALICE, 11, "450")
    idle_since = time.monotonic()
    deadline = idle_since + 30
    # Bob's requests keep the sweep going; alice's world stays untouched until it expires.
    while time.monotonic() < deadline:
        assert client.get("/api/i1/active_user/", headers=BOB).status_code == 200
        active = {t["name"]: t["active"] for t in client.get("/_mock/tenants", headers=ADMIN).get_json()}
        if not active["alice"]:
            break
    assert not active["alice"], "alice's world did not expire"
    assert time.monotonic() - before_last_request >= 1
    assert _status(client, ALICE, 11) == "400"


def test_replicas_on_one_database_serve_the_same_tenant_worlds(make_tenant_app: MakeApp, request: Any) -> None:
    if "memory" in request.node.callspec.id:
        pytest.skip("the memory store lives in one process")
    first, second = make_tenant_app().test_client(), make_tenant_app().test_client()
    assert _bulk(first, ALICE, 11, "450").status_code == 200
    assert (
        first.post("/_mock/faults", json={"kind": "status", "status": 503, "times": 2}, headers=BOB).status_code == 201
    )
    assert _status(second, ALICE, 11) == "450"
    answers = [c.get("/api/i1/active_user/", headers=BOB).status_code for c in (second, first, second)]
    assert answers == [503, 503, 200]
    assert _journal_paths(first, ALICE) == _journal_paths(second, ALICE)
    # The other replica's inspector shows the bulk the first one served.
    second.set_cookie("omnitron_mock_admin", "tok-alice", path="/_mock")
    page = second.get("/_mock/").get_data(as_text=True)
    assert 'id="tenant-name">alice<' in page and "bulk_status_update" in page
    assert (
        first.get("/_mock/tenants", headers=ADMIN).get_json() == second.get("/_mock/tenants", headers=ADMIN).get_json()
    )


def test_the_inspector_shows_a_tenant_its_own_journal(client: FlaskClient) -> None:
    _bulk(client, ALICE, 11, "450")
    client.get("/api/i1/active_user/", headers=BOB)
    locked = client.get("/_mock/")
    assert locked.status_code == 401
    assert "Your API token" in locked.get_data(as_text=True)
    client.set_cookie("omnitron_mock_admin", "tok-alice", path="/_mock")
    page = client.get("/_mock/").get_data(as_text=True)
    assert 'id="tenant-name">alice<' in page
    assert "bulk_status_update" in page and "active_user" not in page
    client.set_cookie("omnitron_mock_admin", ADMIN_TOKEN, path="/_mock")
    admin_view = client.get("/_mock/?tenant=team").get_data(as_text=True)
    assert 'id="tenant-name">team<' in admin_view
    assert "active_user" in admin_view and "bulk_status_update" not in admin_view
    assert 'name="tenant" value="team"' in admin_view
    assert ">Reset to the seed<" in admin_view
    root_view = client.get("/_mock/").get_data(as_text=True)
    assert ">Reset every tenant to the seed<" in root_view
    assert (
        '<a href="/_mock/?tenant=alice">alice</a>' in root_view
        and '<a href="/_mock/?tenant=team">team</a>' in root_view
    )


def test_without_tenant_mode_there_are_no_tenants(make_app: Any) -> None:
    client = make_app(Settings()).test_client()
    assert client.get("/_mock/tenants").status_code == 404
    assert client.get("/_mock/requests?tenant=alice").status_code == 200


def test_serve_in_tenant_mode_from_flags_says_so_and_isolates_users() -> None:
    command = [sys.executable, "-m", "omnitron_mock", "serve", "--port", "0", "--tenant-per-user"]
    command += ["--user", "erp:pw:erp-token", "--user", "wms:pw:wms-token", "--tenant-max-journal", "2"]
    with serving_command(command) as (url, banner):
        assert "  tenant mode: 2 tenant(s) (erp, wms); control calls need a token" in banner
        assert "  no admin token: each tenant reaches only its own world, nobody all of them" in banner
        erp = {"Authorization": "Token erp-token"}
        assert [requests.get(f"{url}/api/i1/active_user/", headers=erp, timeout=10).status_code for _ in range(3)] == [
            200,
            200,
            403,
        ]
        wms = requests.get(f"{url}/_mock/requests", headers={"Authorization": "Token wms-token"}, timeout=10)
        assert wms.json()["requests"] == []
        assert requests.get(f"{url}/_mock/tenants", timeout=10).status_code == 401


def test_the_environment_switches_tenant_mode_on() -> None:
    env = {**os.environ, "OMNITRON_MOCK_TENANT_PER_USER": "1", "OMNITRON_MOCK_TENANT_IDLE_SECONDS": "0"}
    with serving_command([sys.executable, "-m", "omnitron_mock", "serve", "--port", "0"], env) as (url, banner):
        assert any(line.startswith("  tenant mode: 1 tenant(s) (mock-user)") for line in banner)
        assert requests.get(f"{url}/_mock/requests", timeout=10).status_code == 401


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--tenant-idle-seconds", "-1"], {}, "must be 0 or more, got -1"),
        (["--tenant-max-orders", "0"], {}, "must be at least 1, got 0"),
        (["--tenant-max-journal", "x"], {}, "expected a whole number, got 'x'"),
        ([], {"OMNITRON_MOCK_TENANT_PER_USER": "maybe"}, "OMNITRON_MOCK_TENANT_PER_USER: expected a boolean"),
        ([], {"OMNITRON_MOCK_TENANT_IDLE_SECONDS": "-5"}, "OMNITRON_MOCK_TENANT_IDLE_SECONDS: must be 0 or more"),
    ],
    ids=["negative-idle", "zero-orders", "journal-not-a-number", "env-switch-not-boolean", "env-negative-idle"],
)
def test_serve_refuses_bad_tenant_settings(args: list[str], env: dict[str, str], message: str) -> None:
    result = run_cli("serve", "--port", "0", *args, env=env)
    assert result.returncode == 2
    assert message in result.stderr


def test_a_seed_tenant_name_must_be_text() -> None:
    bad = {"users": [{"username": "x", "password": "y", "tenant": ""}]}
    refused = create_app(Settings(), seed=None).test_client().post("/_mock/seed", json=bad)
    assert refused.status_code == 400
    assert refused.get_json()["errors"][0]["path"] == "$.users[0].tenant"


def test_python_callers_reach_a_tenants_world() -> None:
    assert tenants_of(create_app(Settings())) is None
    application = create_app(Settings(tenant_per_user=True), seed=SEED)
    tenants = tenants_of(application)
    assert tenants is not None
    tenants.world("team").seed({"orders": [{"id": 9, "items": [{"id": 90}]}]})
    client = application.test_client()
    assert client.get("/api/i1/order_items/90/", headers=CAROL).status_code == 200
    assert client.get("/api/i1/order_items/90/", headers=ALICE).status_code == 404
    assert [entry.name for entry in tenants.entries()] == ["alice", "team"]


def test_the_inspectors_reset_button_resets_the_world_it_shows(client: FlaskClient) -> None:
    _bulk(client, ALICE, 11, "450")
    _bulk(client, BOB, 11, "450")
    client.set_cookie("omnitron_mock_admin", ADMIN_TOKEN, path="/_mock")
    page = client.get("/_mock/?tenant=team").get_data(as_text=True)
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert form_token is not None
    done = client.post("/_mock/ui/reset?tenant=team", data={"csrf_token": form_token.group(1)})
    assert done.status_code == 303
    assert done.headers["Location"].endswith("/_mock/?tenant=team")
    assert (_status(client, ALICE, 11), _status(client, BOB, 11)) == ("450", "400")


def test_a_tenants_state_shows_its_own_users_alone(client: FlaskClient) -> None:
    users = client.get("/_mock/state", headers=CAROL).get_json()["users"]
    assert sorted(user["username"] for user in users) == ["bob", "carol"]
    assert client.post("/_mock/reset", headers={"Authorization": "Token tok-alice"}).status_code == 200
    assert [u["username"] for u in client.get("/_mock/state", headers=ALICE).get_json()["users"]] == ["alice"]


def test_a_login_that_fails_reaches_no_tenant(client: FlaskClient) -> None:
    assert (
        client.post("/_mock/faults", json={"kind": "status", "status": 503, "times": 1}, headers=ALICE).status_code
        == 201
    )
    stranger = client.post("/api/i1/auth/login/", json={"username": "alice", "password": "guess"})
    assert stranger.status_code == 400
    assert _journal_paths(client, ALICE) == []
    assert _journal_paths(client, ADMIN) == [("POST", "/api/i1/auth/login/")]
    # Alice's fault is still there for her own next call.
    assert client.post("/api/i1/auth/login/", json={"username": "alice", "password": "pw-alice"}).status_code == 503


def test_the_admin_token_beside_a_token_that_is_nobodys_is_refused(client: FlaskClient) -> None:
    _bulk(client, ALICE, 11, "450")
    mistyped = client.post("/_mock/reset", headers={**ADMIN, "Authorization": "Token typo"})
    assert mistyped.status_code == 403
    assert mistyped.get_json() == {"detail": "Invalid token: it is no user's API token."}
    assert _status(client, ALICE, 11) == "450"
    # Beside a user's token, the admin acts on that user's tenant.
    assert client.post("/_mock/reset", headers={**ADMIN, **BOB}).status_code == 200
    assert _status(client, ALICE, 11) == "450"
    wrong_admin = client.get("/_mock/requests", headers={"X-Mock-Admin-Token": "wrong", **ALICE})
    assert wrong_admin.status_code == 403


def test_the_admin_may_not_seed_users_either(client: FlaskClient) -> None:
    refused = client.post("/_mock/seed", json={"users": [{"username": "dave", "password": "x"}]}, headers=ADMIN)
    assert refused.status_code == 400
    assert client.post("/api/i1/auth/login/", json={"username": "dave", "password": "x"}).status_code == 400


def test_concurrent_seeds_never_pass_the_order_quota(make_tenant_app: MakeApp, request: Any) -> None:
    replicas = 1 if "memory" in request.node.callspec.id else 2
    clients = [make_tenant_app(tenant_max_orders=5).test_client() for _ in range(replicas)]
    seeds = [{"orders": [{"id": 100 + n, "items": [{"id": 1000 + n}]}]} for n in range(12)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(
            pool.map(
                lambda n: clients[n % replicas].post("/_mock/seed", json=seeds[n], headers=ALICE).status_code, range(12)
            )
        )
    # Two orders from the startup seed, three more fit.
    assert sorted(statuses) == [200] * 3 + [403] * 9
    assert clients[0].get("/_mock/state/orders", headers=ALICE).get_json()["count"] == 5


def test_settings_refuse_quotas_below_one_and_a_negative_idle_limit() -> None:
    for changes, message in (
        ({"tenant_max_journal": 0}, "tenant_max_journal must be at least 1, got 0"),
        ({"tenant_max_orders": -1}, "tenant_max_orders must be at least 1, got -1"),
        ({"tenant_idle_seconds": -1}, "tenant_idle_seconds must be 0 or more, got -1"),
    ):
        with pytest.raises(ValueError, match=message):
            Settings(**changes)


def test_a_startup_seed_past_the_order_quota_is_refused_at_start() -> None:
    with pytest.raises(
        ValueError, match=r"the startup seed has 2 orders, more than a tenant may hold \(--tenant-max-orders 1\)"
    ):
        create_app(Settings(tenant_per_user=True, tenant_max_orders=1), seed=SEED)


def test_users_follow_the_startup_seed_on_a_database_that_holds_state(tmp_path: Path) -> None:
    """A team added to the seed (and a changed token) reaches its world after a
    restart, though the database keeps the worlds it holds."""
    db = str(tmp_path / "state.sqlite3")
    first = create_app(Settings(tenant_per_user=True, admin_token=ADMIN_TOKEN, db=db), seed=SEED).test_client()
    assert _bulk(first, ALICE, 11, "450").status_code == 200
    grown = {
        **SEED,
        "users": [
            *SEED["users"][:2],
            {"username": "carol", "password": "pw-carol", "token": "tok-carol-2", "tenant": "team"},
            {"username": "dave", "password": "pw-dave"},
        ],
    }
    restarted = create_app(Settings(tenant_per_user=True, admin_token=ADMIN_TOKEN, db=db), seed=grown).test_client()
    # Dave's token is derived from the seed: every replica started from it knows the same one.
    dave_token = restarted.post("/api/i1/auth/login/", json={"username": "dave", "password": "pw-dave"}).get_json()[
        "key"
    ]
    dave = {"Authorization": f"Token {dave_token}"}
    assert _journal_paths(restarted, dave) == [("POST", "/api/i1/auth/login/")]
    assert _status(restarted, {"Authorization": "Token tok-carol-2"}, 11) == "400"
    assert restarted.get("/api/i1/active_user/", headers=CAROL).status_code == 401
    # Alice's world is as she left it.
    assert _status(restarted, ALICE, 11) == "450"
    again = create_app(Settings(tenant_per_user=True, admin_token=ADMIN_TOKEN, db=db), seed=grown).test_client()
    assert again.post("/api/i1/auth/login/", json={"username": "dave", "password": "pw-dave"}).get_json() == {
        "key": dave_token
    }


def test_a_user_the_seed_no_longer_names_is_nobody(tmp_path: Path) -> None:
    db = str(tmp_path / "state.sqlite3")
    create_app(Settings(tenant_per_user=True, db=db), seed=SEED)
    smaller = {**SEED, "users": SEED["users"][1:]}
    client = create_app(Settings(tenant_per_user=True, admin_token=ADMIN_TOKEN, db=db), seed=smaller).test_client()
    assert client.get("/api/i1/active_user/", headers=ALICE).get_json() == {"detail": "Invalid token."}
    assert client.post("/api/i1/auth/login/", json={"username": "alice", "password": "pw-alice"}).status_code == 400
    assert client.get("/api/i1/active_user/", headers=BOB).status_code == 200


def test_a_worker_started_late_leaves_the_root_world_alone(tmp_path: Path) -> None:
    settings = Settings(tenant_per_user=True, admin_token=ADMIN_TOKEN, db=str(tmp_path / "state.sqlite3"))
    first = create_app(settings, seed=SEED).test_client()
    assert (
        first.post("/_mock/seed", json={"orders": [{"id": 9, "items": [{"id": 90}]}]}, headers=ADMIN).status_code == 200
    )
    late = create_app(settings, seed=SEED, startup_writes=False).test_client()
    assert late.get("/_mock/state/orders", headers=ADMIN).get_json()["count"] == 3


def test_a_start_refused_for_the_quota_changes_nothing_stored(tmp_path: Path) -> None:
    db = str(tmp_path / "state.sqlite3")
    running = create_app(Settings(tenant_per_user=True, admin_token=ADMIN_TOKEN, db=db), seed=SEED).test_client()
    greedy = {**SEED, "orders": [{"id": n} for n in range(1, 6)]}
    with pytest.raises(ValueError, match="the startup seed has 5 orders"):
        create_app(Settings(tenant_per_user=True, tenant_max_orders=3, strict=True, db=db), seed=greedy)
    assert running.get("/_mock/strict", headers=ADMIN).get_json() == {"strict": False}
    assert running.post("/_mock/reset", headers=ADMIN).status_code == 200
    assert running.get("/_mock/state/orders", headers=ADMIN).get_json()["count"] == 2


def test_a_user_moved_to_another_tenant_leaves_its_old_world(tmp_path: Path) -> None:
    db = str(tmp_path / "state.sqlite3")
    before = create_app(Settings(tenant_per_user=True, admin_token=ADMIN_TOKEN, db=db), seed=SEED).test_client()
    assert before.get("/api/i1/active_user/", headers=CAROL).status_code == 200
    moved = {**SEED, "users": [*SEED["users"][:2], {**SEED["users"][2], "tenant": "alice"}]}
    after = create_app(Settings(tenant_per_user=True, admin_token=ADMIN_TOKEN, db=db), seed=moved).test_client()
    team_users = after.get("/_mock/state?tenant=team", headers=ADMIN).get_json()["users"]
    assert [user["username"] for user in team_users] == ["bob"]
    assert after.get("/api/i1/active_user/", headers=CAROL).status_code == 200
    assert _journal_paths(after, ALICE) == [("GET", "/api/i1/active_user/")]


def test_an_inactive_users_token_reaches_no_tenant() -> None:
    inactive = {
        **SEED,
        "users": [*SEED["users"], {"username": "gone", "password": "x", "token": "tok-gone", "is_active": False}],
    }
    gone_client = create_app(Settings(tenant_per_user=True, admin_token=ADMIN_TOKEN), seed=inactive).test_client()
    gone = {"Authorization": "Token tok-gone"}
    assert gone_client.get("/api/i1/active_user/", headers=gone).get_json() == {"detail": "User inactive or deleted."}
    assert gone_client.post("/_mock/reset", headers=gone).status_code == 403


def test_a_tenant_used_after_the_admin_expired_it_still_expires_when_idle(tmp_path: Path) -> None:
    settings = Settings(tenant_per_user=True, admin_token=ADMIN_TOKEN, db=str(tmp_path / "state.sqlite3"))
    first, second = create_app(settings, seed=SEED), create_app(settings, seed=SEED)
    _bulk(first.test_client(), ALICE, 11, "450")
    assert second.test_client().delete("/_mock/tenants/alice", headers=ADMIN).status_code == 204
    # Used again through the first replica, which noted her a moment ago and does not again yet.
    assert _bulk(first.test_client(), ALICE, 12, "450").status_code == 200
    tenants = tenants_of(second)
    assert tenants is not None
    assert tenants.expire_idle(now=time.time() + settings.tenant_idle_seconds + 10) == ["alice"]
    assert _status(first.test_client(), ALICE, 12) == "400"


def test_a_chunked_login_past_the_body_limit_is_refused_in_tenant_mode() -> None:
    """Tenant mode reads a login's body to find its tenant; a body of unknown
    length past the limit stays refused when the endpoint reads it again, as a
    WSGI server that leaves the limit to the app hands it over."""
    application = create_app(Settings(tenant_per_user=True, max_body_bytes=64), seed=SEED)
    # Longer than the limit, shorter than twice it: what a second read finds would pass.
    body = json.dumps({"username": "alice", "password": "pw-alice", "pad": "x" * 40}).encode()
    assert 64 < len(body) < 2 * 64
    environ = EnvironBuilder(path="/api/i1/auth/login/", method="POST", content_type="application/json").get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True})
    statuses: list[str] = []
    answer = b"".join(application.wsgi_app(environ, lambda status, headers: statuses.append(status)))
    assert statuses == ["413 Request Entity Too Large"]
    assert json.loads(answer) == {"detail": "Request body too large."}
