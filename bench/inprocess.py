"""Where the time goes: one documented bulk called straight into each app.

    python bench/inprocess.py [--calls 3000] [--rounds 5]

No server and no socket: a prepared WSGI environ goes into bare Flask (the
static answer of ``bare_app``), the emulator on the memory store and the
emulator on a SQLite file, in interleaved rounds; the median of the rounds'
mean time per call is reported. The emulator's extra over bare Flask is its
own work: parsing, rules, store, journal. For SQLite the script also times
the write transaction alone (the part of a bulk during which other worker
processes wait).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bare_app
from common import DOCUMENTED_REQUEST, bulk_environ, median, save, table
from omnitron_mock import Settings, create_app
from omnitron_mock.store.sqlite import SQLiteStore

BODY = json.dumps(DOCUMENTED_REQUEST).encode()
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def environ() -> dict[str, Any]:
    return bulk_environ(BODY)


def mean_call_us(app: WSGIApp, calls: int) -> float:
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
        statuses.append(status)

    started = time.perf_counter()
    for _ in range(calls):
        answer = app(environ(), start_response)
        b"".join(answer)
        getattr(answer, "close", lambda: None)()
    elapsed = time.perf_counter() - started
    assert all(status.startswith("200") for status in statuses), set(statuses)
    return elapsed / calls * 1e6


@contextmanager
def timed_write_transactions(samples: list[float]) -> Iterator[None]:
    """Time every SQLite write transaction, lock wait included, while the block runs."""
    original = SQLiteStore._write

    @contextmanager
    def timed(store: SQLiteStore, *args: Any, **kwargs: Any) -> Iterator[Any]:
        started = time.perf_counter()
        with original(store, *args, **kwargs) as connection:
            yield connection
        samples.append(time.perf_counter() - started)

    SQLiteStore._write = timed  # type: ignore[method-assign]
    try:
        yield
    finally:
        SQLiteStore._write = original  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="where to write the figures (default bench/results/inprocess.json)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="omnitron-bench-"))
    apps: dict[str, WSGIApp] = {
        "bare Flask": bare_app.app,
        "emulator (memory)": create_app(Settings()),
        "emulator (SQLite)": create_app(Settings(db=str(work / "state.db"))),
    }
    for app in apps.values():
        mean_call_us(app, 200)  # warm-up: caches, the statement cache, the journal table
    rounds: dict[str, list[float]] = {name: [] for name in apps}
    transactions: list[float] = []
    for _ in range(args.rounds):
        for name, app in apps.items():
            if name == "emulator (SQLite)":
                with timed_write_transactions(transactions):
                    rounds[name].append(mean_call_us(app, args.calls))
            else:
                rounds[name].append(mean_call_us(app, args.calls))
    per_call = {name: median(values) for name, values in rounds.items()}
    bare = per_call["bare Flask"]
    rows = [[name, us, us - bare] for name, us in per_call.items()]
    print(table(["app", "us per bulk", "us over bare Flask"], rows))
    transaction_us = median(transactions) * 1e6
    print(f"\nSQLite write transaction (bulk and journal entry, lock included): median {transaction_us:.0f} us")
    figures = {
        "settings": {"calls": args.calls, "rounds": args.rounds},
        "us_per_bulk": per_call,
        "us_over_bare": {name: us - bare for name, us in per_call.items()},
        "sqlite_write_transaction_us": transaction_us,
        "rounds": rounds,
    }
    print(f"\nwrote {save('inprocess', figures, args.json)}")


if __name__ == "__main__":
    main()
