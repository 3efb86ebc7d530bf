"""Store scaling: seed time, memory and bulk latency as the store grows.

    python bench/store_scaling.py [--sizes 10000,100000,1000000] [--stores memory,sqlite]

Each size and store runs in a fresh process: it generates a seed of N items
(orders of 10 items), loads it through the public path (contract check and
store load), reports the seconds that took, the process's resident memory
after loading, and the median latency of a 3-item bulk (in-process WSGI call)
on items spread over the whole store. Bulk latency should not grow with size.
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

PROBE = r"""
import gc, io, json, os, statistics, sys, time
from werkzeug.test import EnvironBuilder, run_wsgi_app
from omnitron_mock import DEV_TOKEN, Settings, create_app
from omnitron_mock.seed import generate_seed_document, startup_seed

size, store, folder = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def rss_mib():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
orders = size // 10
started = time.perf_counter()
seed = startup_seed(generate_seed_document(orders, 10))
settings = Settings(db=os.path.join(folder, "store.db") if store == "sqlite" else None)
app = create_app(settings, seed=seed)
seed_seconds = time.perf_counter() - started
del seed
gc.collect()
headers = {"Authorization": f"Token {DEV_TOKEN}", "Content-Type": "application/json"}
samples = []
for round_ in range(60):
    order = 1 + (round_ * 7919) % orders
    first = (order - 1) * 10 + 1
    items = [{"id": first + k, "tracking_number": f"T{round_}"} for k in range(3)]
    body = json.dumps({"orderitem_set": items}).encode()
    path = "/api/i1/order_items/bulk_status_update/"
    environ = EnvironBuilder(path=path, method="PATCH", headers=headers, data=body).get_environ()
    environ["wsgi.input"] = io.BytesIO(body)
    t = time.perf_counter()
    it, status, _ = run_wsgi_app(app, environ, buffered=True); b"".join(it)
    samples.append(time.perf_counter() - t)
    assert status.startswith("200"), status
print(json.dumps({"seed_s": seed_seconds, "rss_mib": rss_mib(), "bulk_ms": statistics.median(samples[10:]) * 1000}))
"""


def measure(size: int, store: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        result = subprocess.run(
            [sys.executable, "-c", PROBE, str(size), store, folder], capture_output=True, text=True, timeout=3600
        )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--stores", default="memory,sqlite")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    figures: dict[str, dict[str, dict[str, float]]] = {}
    rows = []
    for store in args.stores.split(","):
        for size in map(int, args.sizes.split(",")):
            found = measure(size, store)
            figures.setdefault(store, {})[str(size)] = found
            rows.append([store, f"{size:,}", found["seed_s"], found["rss_mib"], found["bulk_ms"]])
            print(f"{store} {size:,}: {found}", flush=True)
    print(table(["store", "items", "seed s", "RSS MiB", "bulk ms"], rows))
    print(f"wrote {save('store_scaling', figures, args.json)}")


if __name__ == "__main__":
    main()
