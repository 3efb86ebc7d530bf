"""The order list's per-request cost as the store grows (issue 15).

    python bench/order_list_scaling.py [--sizes 10000,1000000] [--stores memory,sqlite] [--rounds 20]

Each size and store runs in a fresh process: it generates a seed of N items
(orders of 10 items), loads it, moves some orders on (a bulk's touch, an
``is_send`` flip) so that the indexes hold more than the seed, and times the
connector's ``GET orders/`` queries in-process (WSGI calls, no socket): the
median milliseconds of a request. The table gives each query's time at each
size and the ratio of the largest size's to the smallest's, which should stay
near 1.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save, table

QUERIES = (
    "?is_send=False&status=400&limit=2",
    "?is_send=false&status=400&page=3&limit=10",
    "?sort=-modified_date&limit=10",
    "?modified_date__gte=2030-01-01&sort=modified_date&limit=10",
    "?sort=-id&limit=10",
    "?number=0000000007",
    "?pk__in=5,6",
    "",
)

PROBE = r"""
import json, statistics, sys, time
from omnitron_mock import DEV_TOKEN, Settings, create_app
from omnitron_mock.seed import generate_seed_document, startup_seed

size, store, folder, rounds = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
queries = json.loads(sys.argv[5])
orders = size // 10
seed = startup_seed(generate_seed_document(orders, 10))
app = create_app(Settings(db=f"{folder}/store.db" if store == "sqlite" else None), seed=seed)
del seed
client = app.test_client()
headers = {"Authorization": f"Token {DEV_TOKEN}"}
for round_ in range(20):
    order = 1 + (round_ * 7919) % orders
    answer = client.patch(f"/api/i1/orders/{order}/", json={"is_send": round_ % 2 == 0}, headers=headers)
    assert answer.status_code == 200, answer.data
result = {}
for query in queries:
    samples = []
    for _ in range(rounds + 2):
        started = time.perf_counter()
        answer = client.get("/api/i1/orders/" + query, headers=headers)
        samples.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.data
    result[query] = statistics.median(samples[2:]) * 1000
print(json.dumps(result))
"""


def measure(size: int, store: str, rounds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        found = subprocess.run(
            [sys.executable, "-c", PROBE, str(size), store, folder, str(rounds), json.dumps(QUERIES)],
            capture_output=True,
            text=True,
            timeout=3600,
        )
    if found.returncode != 0:
        raise RuntimeError(found.stderr[-3000:])
    return json.loads(found.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--stores", default="memory,sqlite")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    figures: dict[str, dict[str, dict[str, float]]] = {}
    rows = []
    for store in args.stores.split(","):
        for size in sizes:
            figures.setdefault(store, {})[str(size)] = measure(size, store, args.rounds)
            print(f"{store} {size:,}: {figures[store][str(size)]}", flush=True)
        smallest, largest = figures[store][str(sizes[0])], figures[store][str(sizes[-1])]
        for query in QUERIES:
            times = [figures[store][str(size)][query] for size in sizes]
            rows.append([store, f"orders/{query}", *times, largest[query] / smallest[query]])
    headers = ["store", "query", *(f"ms at {size:,}" for size in sizes), f"{sizes[-1]:,} / {sizes[0]:,}"]
    print(table(headers, rows))
    print(f"wrote {save('order_list_scaling', figures, args.json)}")


if __name__ == "__main__":
    main()
