"""What big journal entries cost: SQLite journal writes at the byte budget, and inspector refreshes.

    python bench/journal_budget.py [--entries 2000] [--entry-kb 60] [--huge 400] [--refreshes 5] [--json PATH]

Writes: ``--entries`` journal entries of ``--entry-kb`` KB each go straight
into a SQLite store (the store API, one write transaction each) with the
default 64 MiB budget, so the journal fills up and is trimmed from then on;
the latency of each write is reported (median, p99, max) with how many took
over 20 ms. A trim that summed the whole journal showed here as recurring
spikes.

Refreshes: ``--huge`` requests without a token, each with 30 headers of 8 KB
and a 70 KB body of ``"<<‹`` (it grows when escaped for HTML), go into an
emulator on each store (in-process WSGI calls); then the inspector's
auto-refresh fragment is fetched ``--refreshes`` times: its size in bytes and
the median time of a fetch, and this process's peak resident memory.

To compare with another version of the code, run this script with that
version first on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import omnitron_mock
from common import save, table
from omnitron_mock import Settings, create_app
from omnitron_mock.store import SeedData
from omnitron_mock.store.sqlite import SQLiteStore

HUGE_HEADERS = {f"X-H{number}": "v" * 8192 for number in range(30)}
HUGE_BODY = ('"<<‹' * 11_700).encode()


def entry(body_bytes: int) -> dict[str, Any]:
    return {
        "time": "2026-01-01T00:00:00.000Z",
        "method": "POST",
        "path": "/api/i1/nothing/",
        "query": "",
        "headers": {"Content-Type": "application/json"},
        "body": "x" * body_bytes,
        "status": 404,
        "response": "{}",
        "duration_ms": 0.5,
        "request_contract": None,
        "fault": None,
    }


def journal_writes(folder: Path, count: int, entry_kb: int) -> dict[str, Any]:
    store = SQLiteStore(folder / "writes.db")
    store.initialize(SeedData())
    times = []
    for _ in range(count):
        started = time.perf_counter()
        store.append_request(entry(entry_kb * 1000))
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "writes": count,
        "entry_kb": entry_kb,
        "median_ms": statistics.median(times),
        "p99_ms": times[int(len(times) * 0.99) - 1],
        "max_ms": times[-1],
        "over_20_ms": sum(1 for taken in times if taken > 20),
    }


def refreshes(folder: Path, store: str, huge: int, fetches: int) -> dict[str, Any]:
    settings = Settings(db=str(folder / "refresh.db") if store == "sqlite" else None)
    client = create_app(settings).test_client()
    for _ in range(huge):
        client.post("/api/i1/nothing/", data=HUGE_BODY, headers=HUGE_HEADERS)
    sizes, times = [], []
    for _ in range(fetches):
        started = time.perf_counter()
        response = client.get("/_mock/ui/fragment")
        times.append((time.perf_counter() - started) * 1000)
        sizes.append(len(response.get_data()))
    return {
        "store": store,
        "requests": huge,
        "fragment_bytes": max(sizes),
        "median_ms": statistics.median(times),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--entry-kb", type=int, default=60)
    parser.add_argument("--huge", type=int, default=400)
    parser.add_argument("--refreshes", type=int, default=5)
    parser.add_argument("--json", type=Path, help="where to write the figures (default bench/results/…json)")
    args = parser.parse_args()
    print(f"code: {Path(omnitron_mock.__file__).parent}")
    with tempfile.TemporaryDirectory(prefix="journal-budget-") as folder:
        writes = journal_writes(Path(folder), args.entries, args.entry_kb)
        print(table(list(writes), [list(writes.values())]))
        # Memory first: the peak resident memory only ever grows.
        pages = [refreshes(Path(folder), store, args.huge, args.refreshes) for store in ("memory", "sqlite")]
        print()
        print(table(list(pages[0]), [list(page.values()) for page in pages]))
    print(f"\nwrote {save('journal_budget', {'writes': writes, 'refreshes': pages}, args.json)}")


if __name__ == "__main__":
    main()
