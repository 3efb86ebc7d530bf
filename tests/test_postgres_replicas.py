"""Several emulator processes on one PostgreSQL database, as replicas behind a
load balancer: every acknowledged bulk is in the state and the journal
whichever process took it, a fault's ``times`` is counted once across all of
them, and a process killed mid-load loses no acknowledged bulk and leaves no
bulk half-written.

Every process is a real ``omnitron-mock serve`` (tests/replicas.py); the
clients are threads sending to the processes in turn.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from omnitron_mock import DEV_TOKEN, Settings, create_app

from tests.helpers import BULK_PATH, FIGURES, checked_session
from tests.postgres import PostgresServer
from tests.replicas import Replica, running_replicas

AUTH = {"Authorization": f"Token {DEV_TOKEN}"}
PROCESSES = 3
ITEMS_PER_ORDER = 3
STATUSES = ("450", "500", "550")
# What a request on loopback gets before it counts as unanswered.
REQUEST_SECONDS = 30.0

_DATABASE_NUMBERS = itertools.count(1)


@pytest.fixture
def database(postgres_server: PostgresServer) -> str:
    """A new, empty database of this test's own."""
    return postgres_server.create_database(f"replicas_{next(_DATABASE_NUMBERS)}")


def items_of(order: int) -> list[int]:
    """Order ``order``'s items (seeded by :func:`write_seed`)."""
    return [(order - 1) * ITEMS_PER_ORDER + offset for offset in range(1, ITEMS_PER_ORDER + 1)]


def write_seed(folder: Path, orders: int) -> Path:
    """A seed of ``orders`` orders with ``ITEMS_PER_ORDER`` items each (and the
    development user): a bulk names one order's items, so each group of items
    a bulk writes is one order."""
    seed = {
        "orders": [{"id": order, "items": [{"id": item} for item in items_of(order)]} for order in range(1, orders + 1)]
    }
    path = folder / "seed.json"
    path.write_text(json.dumps(seed))
    return path


@dataclass(frozen=True)
class Bulk:
    """One bulk: all items of ``order`` get the same status, tracking and invoice numbers."""

    order: int
    tag: str
    status: str

    def body(self) -> dict[str, Any]:
        return {
            "orderitem_set": [
                {"id": item, "status": self.status, "tracking_number": self.tag, "invoice_number": f"I-{self.tag}"}
                for item in items_of(self.order)
            ]
        }

    def values(self) -> tuple[str, str, str]:
        """What each of its items holds once it is applied."""
        return self.status, self.tag, f"I-{self.tag}"


def item_values(item: dict[str, Any]) -> tuple[Any, Any, Any]:
    return item["status"], item["tracking_number"], item["invoice_number"]


def send(
    session: requests.Session,
    replica: Replica,
    bulk: Bulk,
    headers: dict[str, str] | None = None,
    timeout: float = REQUEST_SECONDS,
) -> int:
    """Send ``bulk`` to ``replica``; the answer's status. A 200 must show every
    item with the bulk's values."""
    answer = session.patch(
        replica.url + BULK_PATH, json=bulk.body(), headers={**AUTH, **(headers or {})}, timeout=timeout
    )
    if answer.status_code == 200:
        assert [item_values(item) for item in answer.json()] == [bulk.values()] * ITEMS_PER_ORDER, answer.text
    return answer.status_code


def control(replica: Replica, path: str) -> Any:
    """A control API read (``/_mock/...``): never journalled."""
    with checked_session() as session:
        answer = session.get(replica.url + path, timeout=REQUEST_SECONDS)
    assert answer.status_code == 200, answer.text
    return answer.json()


def items_by_id(replica: Replica) -> dict[int, dict[str, Any]]:
    state = control(replica, "/_mock/state")
    return {item["id"]: item for order in state["orders"] for item in order["items"]}


def journal(replica: Replica) -> list[dict[str, Any]]:
    """The whole journal, oldest first, as ``replica`` reads it."""
    return control(replica, "/_mock/requests")["requests"]  # type: ignore[no-any-return]


def bulk_tag(entry: dict[str, Any]) -> str:
    """The tag (tracking number) of the bulk a journal entry records."""
    return entry["body"]["orderitem_set"][0]["tracking_number"]  # type: ignore[no-any-return]


def assert_ids_unique_and_dense(entries: list[dict[str, Any]]) -> None:
    """Entry ids from one counter: no two alike, none skipped (a fresh database starts at 1)."""
    ids = [entry["id"] for entry in entries]
    assert ids == list(range(1, len(ids) + 1)), f"journal ids are not 1..{len(ids)}: {ids[:5]}…{ids[-5:]}"


def figure(test: str, **counts: int) -> None:
    """Print the test's figures and add them to the run's summary."""
    print(f"{test}: " + ", ".join(f"{name}={count}" for name, count in counts.items()))
    for name, count in counts.items():
        FIGURES[f"{test}: {name}"] += count


def run_clients(threads: int, client: Callable[[int], list[Any]]) -> list[Any]:
    """``client(index)`` in ``threads`` threads started together; their results, in one list."""
    start = threading.Barrier(threads)

    def started(index: int) -> list[Any]:
        start.wait(timeout=REQUEST_SECONDS)
        return client(index)

    with ThreadPoolExecutor(threads) as pool:
        return [outcome for result in pool.map(started, range(threads)) for outcome in result]


# --- every acknowledged bulk is kept, whichever process took it -------------------------------------

THREADS = 6
ROUNDS = 25


def test_every_acknowledged_bulk_is_in_the_state_and_the_journal_of_every_process(
    database: str, tmp_path: Path
) -> None:
    seed = write_seed(tmp_path, THREADS)
    with running_replicas(database, PROCESSES, "--seed", str(seed)) as replicas:

        def client(thread: int) -> list[tuple[Bulk, int]]:
            # Each thread writes its own order, so its last acknowledged bulk is the one its items must show.
            sent = []
            with checked_session() as session:
                for round_ in range(ROUNDS):
                    bulk = Bulk(thread + 1, f"T{thread}-{round_}", STATUSES[round_ % len(STATUSES)])
                    sent.append((bulk, send(session, replicas[(thread + round_) % PROCESSES], bulk)))
            return sent

        outcomes = run_clients(THREADS, client)
        assert Counter(status for _, status in outcomes) == {200: THREADS * ROUNDS}
        last = {bulk.order: bulk for bulk, _ in outcomes}  # each thread's outcomes are in its order

        views = [items_by_id(replica) for replica in replicas]
        journals = [journal(replica) for replica in replicas]

    assert all(view == views[0] for view in views), "the processes read different states"
    for order, bulk in last.items():
        assert [item_values(views[0][item]) for item in items_of(order)] == [bulk.values()] * ITEMS_PER_ORDER
    assert all([entry["id"] for entry in entries] == [entry["id"] for entry in journals[0]] for entries in journals)
    entries = journals[0]
    assert_ids_unique_and_dense(entries)
    acknowledged = Counter(bulk.tag for bulk, _ in outcomes)
    journalled = Counter(bulk_tag(entry) for entry in entries if entry["status"] == 200)
    assert journalled == acknowledged, "acknowledged bulks and journal entries differ"
    figure(
        "replicas on one PostgreSQL",
        processes=PROCESSES,
        bulks_acknowledged=sum(acknowledged.values()),
        journal_entries=len(entries),
    )


# --- a fault's times counted once across processes --------------------------------------------------

FAULT_ROUNDS = 10
BULK_PATH_GLOB = "*/bulk_status_update/"


def bulks_through_every_process(replicas: list[Replica]) -> list[tuple[Bulk, int]]:
    """``THREADS × FAULT_ROUNDS`` bulks, each thread on its own order, sent to the processes in turn."""

    def client(thread: int) -> list[tuple[Bulk, int]]:
        sent = []
        with checked_session() as session:
            for round_ in range(FAULT_ROUNDS):
                bulk = Bulk(thread + 1, f"F{thread}-{round_}", STATUSES[round_ % len(STATUSES)])
                sent.append((bulk, send(session, replicas[(thread + round_) % PROCESSES], bulk)))
        return sent

    return run_clients(THREADS, client)


def add_fault(replica: Replica, fault: dict[str, Any]) -> None:
    with checked_session() as session:
        added = session.post(replica.url + "/_mock/faults", json=fault, timeout=REQUEST_SECONDS)
    assert added.status_code == 201, added.text


def fault_answers_alone(fault: dict[str, Any], requests_sent: int) -> Counter[int]:
    """The statuses ``fault`` answers ``requests_sent`` bulks with in a single
    in-memory emulator: the sequence every process together must reproduce."""
    client = create_app(Settings()).test_client()
    assert client.post("/_mock/faults", json=fault).status_code == 201
    bulk = Bulk(1, "alone", STATUSES[0])
    statuses = Counter(
        client.patch(BULK_PATH, json=bulk.body(), headers=AUTH).status_code for _ in range(requests_sent)
    )
    del statuses[200]
    return statuses


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 503, "times": 7, "path": BULK_PATH_GLOB},
        # A seeded flaky fault fails the same uses wherever they are counted: 30 uses, some failing.
        {"kind": "flaky", "rate": 0.5, "seed": 17, "times": 30, "path": BULK_PATH_GLOB},
    ],
    ids=["status-times", "flaky-sequence"],
)
def test_a_fault_added_through_one_process_is_used_exactly_times_across_all(
    fault: dict[str, Any], database: str, tmp_path: Path
) -> None:
    expected = fault_answers_alone(fault, fault["times"])
    assert 0 < sum(expected.values()) <= fault["times"]
    with running_replicas(database, PROCESSES, "--seed", str(write_seed(tmp_path, THREADS))) as replicas:
        add_fault(replicas[0], fault)
        outcomes = bulks_through_every_process(replicas)
        remaining = [control(replica, "/_mock/faults")["faults"] for replica in replicas]
        entries = journal(replicas[1])

    answered = Counter(status for _, status in outcomes)
    assert answered.pop(200) == len(outcomes) - sum(expected.values())
    assert answered == expected, f"fault answers {answered}, one process alone gives {expected}"
    assert remaining == [[]] * PROCESSES, "the fault outlived its times"
    assert_ids_unique_and_dense(entries)
    noted = Counter(entry["status"] for entry in entries if entry["fault"] is not None)
    assert noted == expected
    figure(
        f"fault {fault['kind']} times={fault['times']} across processes",
        processes=PROCESSES,
        requests=len(outcomes),
        fault_answers=sum(answered.values()),
    )


# --- a process killed mid-load ---------------------------------------------------------------------

KILL_THREADS = 8
KILL_ROUNDS = 40
# The victim is killed once it has acknowledged this many bulks, at a moment
# when at least this many others are in flight to it.
KILL_AFTER_ACKNOWLEDGED = 30
KILL_WITH_IN_FLIGHT = 2
VICTIM = 1
# How long the parked bulk waits in the victim: far longer than the load takes to reach the kill.
PARKED_MS = 120_000


@dataclass
class Load:
    """Bulks in flight and acknowledged, by process; the kill waits on it."""

    acknowledged: Counter[int] = field(default_factory=Counter)
    in_flight: Counter[int] = field(default_factory=Counter)
    changed: threading.Condition = field(default_factory=threading.Condition)
    dead: set[int] = field(default_factory=set)

    def route(self, preferred: int) -> int:
        """The process a request goes to: ``preferred`` unless it is dead (as a load balancer would)."""
        with self.changed:
            return next(
                index for step in range(PROCESSES) if (index := (preferred + step) % PROCESSES) not in self.dead
            )


def test_a_process_killed_mid_load_loses_no_acknowledged_bulk_and_leaves_none_partial(
    database: str, tmp_path: Path
) -> None:
    # Every bulk writes an order of its own, once: applied, all its items hold its
    # values; not applied, all still hold the seed's. Anything else is a partial bulk.
    bulks = [
        Bulk(order, f"K{order}", STATUSES[order % len(STATUSES)]) for order in range(1, KILL_THREADS * KILL_ROUNDS + 2)
    ]
    parked = bulks.pop()  # sent to the victim held in a latency fault: surely in flight at the kill
    seed = write_seed(tmp_path, len(bulks) + 1)
    load = Load()
    with running_replicas(database, PROCESSES, "--seed", str(seed)) as replicas:
        seeded = items_by_id(replicas[0])
        victim = replicas[VICTIM]

        def client(thread: int) -> list[tuple[Bulk, int, int | None]]:
            sent: list[tuple[Bulk, int, int | None]] = []
            with checked_session() as session:
                for round_ in range(KILL_ROUNDS):
                    bulk = bulks[round_ * KILL_THREADS + thread]
                    index = load.route(thread + round_)
                    with load.changed:
                        load.in_flight[index] += 1
                    status: int | None = None
                    try:
                        status = send(session, replicas[index], bulk)
                    except requests.RequestException:
                        assert index == VICTIM, f"process {index} failed a request, yet only {VICTIM} was killed"
                    with load.changed:
                        load.in_flight[index] -= 1
                        load.acknowledged[index] += status == 200
                        load.changed.notify_all()
                    sent.append((bulk, index, status))
            return sent

        def parked_client() -> int | None:
            with checked_session() as session:
                try:
                    return send(session, victim, parked, {"X-Mock-Fault": f"latency={PARKED_MS}"}, PARKED_MS / 1000)
                except requests.RequestException:
                    return None

        def kill_when_loaded() -> int:
            """Kill the victim after its ``KILL_AFTER_ACKNOWLEDGED``-th acknowledged
            bulk, at a moment when ``KILL_WITH_IN_FLIGHT`` bulks to it are in
            flight; how many were (the parked one too)."""
            deadline = time.monotonic() + 120
            with load.changed:
                while not (
                    load.acknowledged[VICTIM] >= KILL_AFTER_ACKNOWLEDGED
                    and load.in_flight[VICTIM] >= KILL_WITH_IN_FLIGHT
                ):
                    assert load.changed.wait(timeout=deadline - time.monotonic()), "the load never reached the victim"
                victim.kill()
                load.dead.add(VICTIM)
                return load.in_flight[VICTIM] + 1  # the parked bulk too

        with ThreadPoolExecutor(2) as side:
            parked_answer = side.submit(parked_client)
            in_flight_at_kill = side.submit(kill_when_loaded)
            outcomes = run_clients(KILL_THREADS, client)
            killed_with_in_flight = in_flight_at_kill.result(timeout=REQUEST_SECONDS)
            assert parked_answer.result(timeout=REQUEST_SECONDS) is None, "the parked bulk was answered"

        survivor = replicas[0]
        after = items_by_id(survivor)
        entries = journal(survivor)
        assert not victim.alive()

    outcomes.append((parked, VICTIM, None))
    journalled = Counter(bulk_tag(entry) for entry in entries if entry["status"] == 200)
    assert max(journalled.values()) == 1, "a bulk journalled twice"
    assert_ids_unique_and_dense(entries)
    lost, partial, unjournalled = [], [], []
    applied_unacknowledged = 0
    for bulk, _, status in outcomes:
        found = {item_values(after[item]) for item in items_of(bulk.order)}
        applied = found == {bulk.values()}
        untouched = [after[item] for item in items_of(bulk.order)] == [seeded[item] for item in items_of(bulk.order)]
        if not (applied or untouched):
            partial.append((bulk, found))
        if status == 200 and not (applied and journalled[bulk.tag]):
            lost.append(bulk)
        # The bulk and its journal entry commit together, or neither does.
        if applied != bool(journalled[bulk.tag]):
            unjournalled.append(bulk)
        applied_unacknowledged += applied and status != 200
    figure(
        "replica killed mid-load (PostgreSQL)",
        processes=PROCESSES,
        requests_sent=len(outcomes),
        acknowledged=sum(status == 200 for _, _, status in outcomes),
        unanswered=sum(status is None for _, _, status in outcomes),
        in_flight_at_kill=killed_with_in_flight,
        unanswered_but_applied=applied_unacknowledged,
        lost=len(lost),
        partial=len(partial),
    )
    assert lost == [], f"acknowledged bulks missing after the kill: {lost[:5]}"
    assert partial == [], f"bulks applied in part: {partial[:5]}"
    assert unjournalled == [], f"state and journal disagree on: {unjournalled[:5]}"
