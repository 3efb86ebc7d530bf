"""Bulk scaling: the cost per item of a bulk of 1, 10, 100 and 1000 items.

    python bench/bulk_scaling.py [--repeat 50]

In-process (a WSGI call into the app, no socket) and over HTTP (the CLI's
waitress server on 127.0.0.1). One order of 1000 items is seeded; each bulk
ships its items with a new tracking number. Medians of ``--repeat`` calls.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import requests
from werkzeug.test import EnvironBuilder, run_wsgi_app

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BULK_PATH, DEV_TOKEN, median, save, table
from omnitron_mock import Settings, create_app
from omnitron_mock.seed import generate_seed_document
from omnitron_mock.serving import HTTPServer

SIZES = (1, 10, 100, 1000)
HEADERS = {"Authorization": f"Token {DEV_TOKEN}", "Content-Type": "application/json"}


def body(size: int, round_: int) -> bytes:
    items = [
        {"id": i, "status": "500", "tracking_number": f"T{round_}-{i}", "shipping_company": "ups"}
        for i in range(1, size + 1)
    ]
    return json.dumps({"orderitem_set": items}).encode()


def in_process(app: object, size: int, repeat: int) -> list[float]:
    samples = []
    for round_ in range(repeat):
        payload = body(size, round_)
        environ = EnvironBuilder(path=BULK_PATH, method="PATCH", headers=HEADERS, data=payload).get_environ()
        environ["wsgi.input"] = io.BytesIO(payload)
        started = time.perf_counter()
        app_iter, status, _ = run_wsgi_app(app, environ, buffered=True)
        b"".join(app_iter)
        samples.append(time.perf_counter() - started)
        assert status.startswith("200"), status
    return samples


def over_http(url: str, size: int, repeat: int) -> list[float]:
    samples = []
    with requests.Session() as session:
        for round_ in range(repeat):
            payload = body(size, round_)
            started = time.perf_counter()
            response = session.patch(url, data=payload, headers=HEADERS, timeout=60)
            samples.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text[:300]
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    app = create_app(Settings(), seed=generate_seed_document(1, 1000))
    rows, figures = [], {}
    with HTTPServer(app, port=0) as server:
        for size in SIZES:
            inside = median(in_process(app, size, args.repeat))
            wire = median(over_http(server.url + BULK_PATH, size, args.repeat))
            figures[str(size)] = {
                "in_process_ms": inside * 1000,
                "http_ms": wire * 1000,
                "in_process_us_per_item": inside / size * 1e6,
                "http_us_per_item": wire / size * 1e6,
            }
            rows.append([size, inside * 1000, inside / size * 1e6, wire * 1000, wire / size * 1e6])
    print(table(["items", "in-process ms", "us/item", "HTTP ms", "us/item"], rows))
    for mode in ("in_process", "http"):
        ratio = figures["1000"][f"{mode}_us_per_item"] / figures["100"][f"{mode}_us_per_item"]
        figures[f"{mode}_per_item_1000_over_100"] = ratio
        print(f"{mode}: per-item cost at 1000 items / at 100 items = {ratio:.2f}x")
    print(f"wrote {save('bulk_scaling', figures, args.json)}")


if __name__ == "__main__":
    main()
