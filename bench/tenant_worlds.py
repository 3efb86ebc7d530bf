"""The tenant-mode rows of bench/shared_store.py: a startup seed of users
that each own a world (``serve --tenant-per-user``), on the default seed's
orders, so that a tenant's bulk does the single world's work; each world
opened before the rounds; and a read of every world afterwards that shows
the load reached each one and they stayed apart."""

from __future__ import annotations

import copy
import json
import time
import urllib.request
from pathlib import Path

from common import BULK_HEADERS, BULK_PATH, DOCUMENTED_REQUEST, wait_for
from omnitron_mock.seed import DEFAULT_SEED_DOCUMENT

# The documented bulk gives this item a new tracking number each time (bench/bulk_load.py).
TRACKED_ITEM = 2


def tokens(count: int) -> list[str]:
    """The users' explicit tokens (a seed without them would derive them; named, they read plainly)."""
    return [f"bench-tenant-{index:02d}-token" for index in range(count)]


def seed_document(count: int) -> dict[str, object]:
    users = [
        {"username": f"bench-tenant-{index:02d}", "password": f"bench-secret-{index:02d}", "token": token}
        for index, token in enumerate(tokens(count))
    ]
    return {"users": users, "orders": copy.deepcopy(DEFAULT_SEED_DOCUMENT["orders"])}


def serve_options(folder: Path, count: int, journal_quota: int) -> list[str]:
    """``serve`` options for a replica in tenant mode, its seed written into ``folder``.
    ``journal_quota``: a tenant whose journal is full gets 403 for its calls,
    so the bench sets it above what its run can send one tenant."""
    seed = folder / "tenants.json"
    seed.write_text(json.dumps(seed_document(count)))
    return ["--tenant-per-user", "--seed", str(seed), "--tenant-max-journal", str(journal_quota)]


def open_worlds(urls: list[str], users: list[str], deadline: float = 60.0) -> None:
    """One bulk per user through each replica: a world's first request makes
    its PostgreSQL schema, a one-off cost that belongs before the rounds."""
    body = json.dumps(DOCUMENTED_REQUEST).encode()
    for url in urls:
        for token in users:
            wait_for(url + BULK_PATH, deadline, "PATCH", body, {**BULK_HEADERS, "Authorization": f"Token {token}"})


def tracking_numbers(urls: list[str], users: list[str], deadline: float = 30.0) -> dict[str, list[str | None]]:
    """Each user's tracked item as each replica reads it (its own control API,
    the user's token): the last bulk its world took. Worlds differ, as only
    that user's connections wrote to each; replicas agree on a world once the
    bulks still in flight when the load stopped (wrk closes its connections
    mid-request; the replica finishes them) have committed: read until they
    do, and fail if they never do."""
    started = time.perf_counter()
    while True:
        found = {token: [_tracking_number(url, token) for url in urls] for token in users}
        if all(len(set(reads)) == 1 for reads in found.values()):
            return found
        if time.perf_counter() - started > deadline:
            raise RuntimeError(f"the replicas still read different worlds after {deadline} s: {found}")
        time.sleep(0.05)


def _tracking_number(url: str, token: str) -> str | None:
    request = urllib.request.Request(
        f"{url}/_mock/state/items/{TRACKED_ITEM}", headers={"Authorization": f"Token {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        number: str | None = json.load(response)["tracking_number"]
    return number
