"""The shared staging emulator under load: several emulator processes on one
PostgreSQL database in tenant mode, 20 tenants in parallel doing bulks,
resets and ``times``-limited faults, each request to the next replica in turn.

Afterwards every replica must report, for every tenant, exactly what that
tenant did since its last reset: its items carry its last acknowledged
bulk, its journal holds its own requests and nobody else's, and each fault
answered exactly ``times`` requests, whichever replicas served them.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers import BULK_PATH, FIGURES
from tests.postgres import PostgresServer
from tests.replicas import running_replicas

TENANTS = 20
REPLICAS = 3
ROUNDS = 24
# Every this many rounds a tenant resets its world; every this many it adds a fault.
RESET_EVERY = 7
FAULT_EVERY = 5
FAULT_TIMES = 2
ITEMS = (11, 12, 13)
ADMIN = {"X-Mock-Admin-Token": "replicas-admin"}
TAG = re.compile(r"T\d\d-\d\d")


def _token(tenant: int) -> str:
    return f"tenant-{tenant:02d}-token"


def _seed() -> dict[str, Any]:
    return {
        "users": [
            {"username": f"user-{tenant:02d}", "password": "pw", "token": _token(tenant)} for tenant in range(TENANTS)
        ],
        "orders": [
            {"id": 1, "number": "R-1", "items": [{"id": item, "status": "400"} for item in ITEMS]},
            {"id": 2, "number": "R-2", "items": [{"id": 21, "status": "400"}]},
        ],
    }


@dataclass
class TenantRun:
    """What one tenant did and saw, since its last reset where it matters."""

    tenant: int
    requests: int = 0
    bulks_acknowledged: int = 0
    resets: int = 0
    faults_added: int = 0
    fault_answers: int = 0
    # Requests a fault should have answered, by the faults added and the resets that cleared them.
    fault_answers_due: int = 0
    # (method, path, status) of every emulated-API request since the last reset, in order.
    journal_since_reset: list[tuple[str, str, int]] = field(default_factory=list)
    last_tracking: str | None = None


@pytest.fixture
def replicas(postgres_server: PostgresServer, tmp_path: Path) -> Iterator[list[str]]:
    database = postgres_server.create_database("tenant_replicas")
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(_seed()))
    options = ["--tenant-per-user", "--seed", str(seed), "--admin-token", ADMIN["X-Mock-Admin-Token"]]
    with running_replicas(database, REPLICAS, *options) as running:
        yield [replica.url for replica in running]


def _tenant_load(tenant: int, urls: list[str]) -> TenantRun:
    run = TenantRun(tenant)
    headers = {"Authorization": f"Token {_token(tenant)}"}
    turn = itertools.cycle(urls[tenant % len(urls) :] + urls[: tenant % len(urls)])
    uses_left = 0
    with requests.Session() as http:
        for round_number in range(ROUNDS):
            if round_number and round_number % RESET_EVERY == 0:
                assert http.post(f"{next(turn)}/_mock/reset", headers=headers, timeout=30).status_code == 200
                run.resets += 1
                uses_left = 0  # a reset clears the faults
                run.journal_since_reset.clear()
                run.last_tracking = None
            if round_number % FAULT_EVERY == 0:
                fault = {"kind": "status", "status": 503, "times": FAULT_TIMES, "path": "bulk_status_update"}
                assert (
                    http.post(f"{next(turn)}/_mock/faults", json=fault, headers=headers, timeout=30).status_code == 201
                )
                run.faults_added += 1
                uses_left += FAULT_TIMES
            tracking = f"T{tenant:02d}-{round_number:02d}"
            body = {"orderitem_set": [{"id": item, "status": "450", "tracking_number": tracking} for item in ITEMS]}
            response = http.patch(f"{next(turn)}{BULK_PATH}", json=body, headers=headers, timeout=30)
            run.requests += 1
            run.journal_since_reset.append(("PATCH", BULK_PATH, response.status_code))
            if uses_left:
                uses_left -= 1
                run.fault_answers_due += 1
            if response.status_code == 503:
                run.fault_answers += 1
            else:
                assert response.status_code == 200, response.text
                run.bulks_acknowledged += 1
                run.last_tracking = tracking
    return run


def _bleed_and_loss(run: TenantRun, url: str) -> tuple[int, int]:
    """(foreign things this tenant's world shows, acknowledged things it lacks), as one replica reports them."""
    headers = {"Authorization": f"Token {_token(run.tenant)}"}
    journal = requests.get(f"{url}/_mock/requests", headers=headers, timeout=30).json()["requests"]
    items = [requests.get(f"{url}/_mock/state/items/{item}", headers=headers, timeout=30).json() for item in ITEMS]
    trackings = [item["tracking_number"] for item in items]
    # Every tracking number any tenant wrote names its tenant: T<tenant>-<round>.
    tags = TAG.findall(json.dumps([trackings, [entry["body"] for entry in journal]]))
    foreign_tags = sum(1 for tag in tags if not tag.startswith(f"T{run.tenant:02d}-"))
    seen = Counter((entry["method"], entry["path"], entry["status"]) for entry in journal)
    expected = Counter(run.journal_since_reset)
    foreign_entries = sum((seen - expected).values())
    missing_entries = sum((expected - seen).values())
    stale_items = sum(1 for tracking in trackings if tracking != run.last_tracking)
    return foreign_tags + foreign_entries, missing_entries + stale_items


def test_twenty_tenants_on_three_replicas_see_exactly_their_own_world(replicas: list[str]) -> None:
    with ThreadPoolExecutor(max_workers=TENANTS) as pool:
        runs = list(pool.map(lambda tenant: _tenant_load(tenant, replicas), range(TENANTS)))

    bleed = lost = 0
    for run in runs:
        for url in replicas:
            found_bleed, found_lost = _bleed_and_loss(run, url)
            bleed += found_bleed
            lost += found_lost
    fault_answers = sum(run.fault_answers for run in runs)
    fault_answers_due = sum(run.fault_answers_due for run in runs)
    faults_added = sum(run.faults_added for run in runs)
    requests_sent = sum(run.requests + run.resets + run.faults_added for run in runs)
    listings = [requests.get(f"{url}/_mock/tenants", headers=ADMIN, timeout=30).json() for url in replicas]

    figures = (
        f"tenants={TENANTS} replicas={REPLICAS} requests={requests_sent} "
        f"bulks acknowledged={sum(run.bulks_acknowledged for run in runs)} resets={sum(run.resets for run in runs)} "
        f"faults={faults_added} fault answers={fault_answers} (due {fault_answers_due}) "
        f"bleed found={bleed} lost={lost}"
    )
    print(figures)
    FIGURES[f"multi-replica tenants: {figures}"] += 1
    assert bleed == 0
    assert lost == 0
    assert [run.fault_answers for run in runs] == [run.fault_answers_due for run in runs]
    assert all(listing == listings[0] for listing in listings)
    assert [entry["active"] for entry in listings[0]] == [True] * TENANTS
