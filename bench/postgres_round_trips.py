"""What one bulk asks of PostgreSQL: round trips, those under the write lock, time.

    python bench/postgres_round_trips.py [--baseline CHECKOUT] [--tenant-mode] [--alternations 4] [--calls 300]

Starts its own PostgreSQL (tests/postgres.py's starter, the tests' settings)
and, in a fresh process per checkout and alternation, sends bulks straight
into an emulator on the PostgreSQL store (no socket, one client): the
documented 3-item bulk with new tracking numbers each time (items and order
change), then the same body again (nothing changes).

Round trips are counted by wrapping psycopg's public calls in that process:
each ``Connection.execute`` (the pool's check of a connection it lends is an
empty one), each ``Cursor.executemany`` (one pipeline: one wait), and two per
``Connection.transaction`` block (BEGIN and COMMIT, or SAVEPOINT and
RELEASE). "Under the lock": from the statement taking the write lock to the
end of its transaction, the part every writer waits for. Time: the fastest
round of ``--calls`` changing bulks, µs per bulk, and of it the time under
the lock (with one client; one lock for every replica: its inverse bounds
the bulks per second of all replicas together).

``--tenant-mode`` adds this checkout in tenant mode (``tenant_per_user``),
the bulks in the development user's world (a schema of its own), to the
same alternations: what tenant mode adds to a bulk.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bulk_load import body_template
from common import DOCUMENTED_REQUEST, bulk_environ, save, table

from tests.postgres import running_postgres

ROUNDS = 5


class Counter:
    """Round trips seen through psycopg's public calls, in this process."""

    def __init__(self) -> None:
        self.total = 0
        self.checks = 0
        self.locked = 0
        self.held_seconds = 0.0
        self._depth = 0
        self._holding = False
        self._locked_at = 0.0

    def add(self, trips: int) -> None:
        self.total += trips
        if self._holding:
            self.locked += trips

    def install(self) -> None:
        import psycopg

        counter = self
        execute = psycopg.Connection.execute
        executemany = psycopg.Cursor.executemany
        transaction = psycopg.Connection.transaction

        def counted_execute(connection: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            text = str(query)
            if not text:
                counter.checks += 1
            if "pg_advisory_xact_lock" in text and counter._depth and not counter._holding:
                counter._holding = True
                counter._locked_at = time.perf_counter()
            counter.add(1)
            return execute(connection, query, *args, **kwargs)

        def counted_executemany(cursor: Any, *args: Any, **kwargs: Any) -> Any:
            counter.add(1)
            return executemany(cursor, *args, **kwargs)

        @contextmanager
        def counted_transaction(connection: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
            counter.add(1)
            counter._depth += 1
            try:
                with transaction(connection, *args, **kwargs) as block:
                    yield block
            finally:
                counter._depth -= 1
                # The COMMIT (or RELEASE) is the lock's last round trip.
                counter.add(1)
                if not counter._depth and counter._holding:
                    counter._holding = False
                    counter.held_seconds += time.perf_counter() - counter._locked_at

        psycopg.Connection.execute = counted_execute  # type: ignore[method-assign]
        psycopg.Cursor.executemany = counted_executemany  # type: ignore[method-assign]
        psycopg.Connection.transaction = counted_transaction  # type: ignore[method-assign,assignment]


def one_process(url: str, calls: int, tenant_mode: bool = False) -> dict[str, Any]:
    """Counts per bulk and the fastest round's µs per bulk, for the emulator importable here."""
    counter = Counter()
    counter.install()
    from omnitron_mock import Settings, create_app

    # Named only when asked: a baseline from before tenant mode has no such setting.
    app = create_app(Settings(db=url, **({"tenant_per_user": True} if tenant_mode else {})))
    head, middle, tail = body_template()
    sent = 0

    def start_response(status: str, *_args: object) -> None:
        if not status.startswith("200"):
            raise RuntimeError(f"a bulk answered {status}")

    def changing() -> bytes:
        nonlocal sent
        sent += 1
        return f"{head}{sent}{middle}{sent}{tail}".encode()

    def counted(make_body: Callable[[], bytes], times: int) -> dict[str, float]:
        before = (counter.total, counter.locked, counter.checks)
        for _ in range(times):
            b"".join(app(bulk_environ(make_body()), start_response))
        total, locked, checks = (
            now - then for now, then in zip((counter.total, counter.locked, counter.checks), before, strict=True)
        )
        return {"round_trips": total / times, "under_lock": locked / times, "pool_checks": checks / times}

    for _ in range(20):  # warm-up: pool, caches, prepared statements
        b"".join(app(bulk_environ(changing()), start_response))
    figures: dict[str, Any] = {"changing": counted(changing, 50)}
    same = json.dumps(DOCUMENTED_REQUEST).encode()
    b"".join(app(bulk_environ(same), start_response))
    figures["unchanged"] = counted(lambda: same, 50)
    fastest, fastest_held = float("inf"), float("inf")
    for _ in range(ROUNDS):
        started, held = time.perf_counter(), counter.held_seconds
        for _ in range(calls):
            b"".join(app(bulk_environ(changing()), start_response))
        fastest = min(fastest, (time.perf_counter() - started) / calls * 1e6)
        fastest_held = min(fastest_held, (counter.held_seconds - held) / calls * 1e6)
    figures["fastest_us_per_bulk"] = fastest
    figures["fastest_us_under_lock"] = fastest_held
    return figures


def measure(checkout: Path | None, url: str, calls: int, tenant_mode: bool = False) -> dict[str, Any]:
    environment = dict(os.environ)
    if checkout is not None:
        # The baseline's packages first on the path: the installed ones are this checkout's.
        parts = (checkout / "mockserver", checkout / "pytest_plugin", checkout)
        environment["PYTHONPATH"] = os.pathsep.join(str(part) for part in parts)
    result = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--one-process",
            url,
            str(calls),
            *(["--tenant-mode"] if tenant_mode else []),
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="a checkout to compare with")
    parser.add_argument("--tenant-mode", action="store_true", help="add this checkout in tenant mode")
    parser.add_argument("--alternations", type=int, default=4)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--json", type=Path, help="default bench/results/postgres_round_trips.json")
    parser.add_argument("--one-process", nargs=2, metavar=("URL", "CALLS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_process:
        url, calls = args.one_process
        print(json.dumps(one_process(url, int(calls), args.tenant_mode)))
        return
    # Each row: the checkout (None: this one) and whether in tenant mode.
    checkouts: dict[str, tuple[Path | None, bool]] = {"this checkout": (None, False)}
    if args.tenant_mode:
        checkouts["this checkout, tenant mode"] = (None, True)
    if args.baseline is not None:
        checkouts["baseline"] = (args.baseline.resolve(), False)
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in checkouts}
    with running_postgres() as server:
        for alternation in range(args.alternations):
            for index, (name, (checkout, tenant_mode)) in enumerate(checkouts.items()):
                # A fresh database each time: no process inherits another's journal or counters.
                url = server.create_database(f"trips_{alternation}_{index}")
                found[name].append(measure(checkout, url, args.calls, tenant_mode))
                print(f"{name}: {found[name][-1]}", flush=True)
    rows, figures = [], {}
    for name, runs in found.items():
        first = runs[0]
        fastest = min(run["fastest_us_per_bulk"] for run in runs)
        held = min(run["fastest_us_under_lock"] for run in runs)
        figures[name] = {**first, "fastest_us_per_bulk": fastest, "fastest_us_under_lock": held, "processes": runs}
        for kind in ("changing", "unchanged"):
            counts = first[kind]
            rows.append([name, kind, counts["round_trips"], counts["under_lock"], counts["pool_checks"]])
    print()
    print(table(["emulator", "bulk", "round trips", "under the write lock", "pool checks"], rows))
    print()
    print(
        table(
            ["emulator", "fastest µs per changing bulk", "of it under the write lock"],
            [[n, f["fastest_us_per_bulk"], f["fastest_us_under_lock"]] for n, f in figures.items()],
        )
    )
    if "baseline" in figures:
        ratio = figures["this checkout"]["fastest_us_per_bulk"] / figures["baseline"]["fastest_us_per_bulk"]
        held = figures["this checkout"]["fastest_us_under_lock"] / figures["baseline"]["fastest_us_under_lock"]
        figures["time_this_over_baseline"] = ratio
        figures["under_lock_this_over_baseline"] = held
        print(f"\nthis checkout / baseline, µs per changing bulk: {ratio:.2f}x, under the write lock: {held:.2f}x")
    if "this checkout, tenant mode" in figures:
        tenant, single = figures["this checkout, tenant mode"], figures["this checkout"]
        figures["time_tenant_mode_over_single_world"] = tenant["fastest_us_per_bulk"] / single["fastest_us_per_bulk"]
        print(
            f"\ntenant mode / single world, µs per changing bulk: {figures['time_tenant_mode_over_single_world']:.2f}x"
        )
    figures["settings"] = {"alternations": args.alternations, "calls": args.calls, "rounds": ROUNDS}
    print(f"\nwrote {save('postgres_round_trips', figures, args.json)}")


if __name__ == "__main__":
    main()
