"""Many clients at once against one live server: bulks never interleave, nothing is lost."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from itertools import pairwise

import pytest
import requests
from omnitron_mock import DEV_TOKEN
from omnitron_mock.serving import HTTPServer

from tests.helpers import checked_session
from tests.serial_order import assert_concurrent_bulks_serialize

ITEMS = (1, 2, 3)
HEADERS = {"Authorization": f"Token {DEV_TOKEN}"}


def test_concurrent_bulks_equal_some_serial_order(live_server: HTTPServer) -> None:
    assert_concurrent_bulks_serialize(live_server.url)


def test_concurrent_reads_during_writes_never_see_half_a_bulk(live_server: HTTPServer) -> None:
    url = f"{live_server.url}/api/i1/order_items/bulk_status_update/"
    page_url = f"{live_server.url}/api/i1/order_items/?order=1"
    stop = threading.Event()

    def writer() -> None:
        try:
            with checked_session() as session:
                for round_ in range(60):
                    body = {"orderitem_set": [{"id": i, "tracking_number": f"t{round_}"} for i in ITEMS]}
                    assert session.patch(url, json=body, headers=HEADERS, timeout=30).status_code == 200
        finally:
            stop.set()

    def reader() -> int:
        torn = 0
        with checked_session() as session:
            while not stop.is_set():
                results = session.get(page_url, headers=HEADERS, timeout=30).json()["results"]
                torn += len({item["tracking_number"] for item in results}) != 1
        return torn

    with ThreadPoolExecutor(4) as pool:
        readers = [pool.submit(reader) for _ in range(3)]
        pool.submit(writer).result()
        assert [future.result() for future in readers] == [0, 0, 0]


@pytest.mark.parametrize("store_kind", ["sqlite"])
def test_marking_an_order_sent_while_its_items_are_mapped_loses_nothing(
    live_server: HTTPServer, http: requests.Session
) -> None:
    items = list(range(1, 31))
    seed = {"orders": [{"id": 1, "items": [{"id": item} for item in items]}]}
    assert http.post(f"{live_server.url}/_mock/seed?replace=true", json=seed, timeout=30).status_code == 200
    order_url = f"{live_server.url}/api/v1/orders/1/"
    start = threading.Barrier(2)

    def mark() -> list[str]:
        stamps = []
        with checked_session() as session:
            start.wait(timeout=30)
            for round_ in range(len(items)):
                # Toggled, so that every request changes the order; the last one marks it sent.
                body = {"is_send": round_ % 2 == 1}
                response = session.patch(order_url, json=body, headers=HEADERS, timeout=30)
                assert response.status_code == 200, response.text
                stamps.append(response.json()["modified_date"])
        return stamps

    def map_items() -> list[int]:
        pks = []
        with checked_session() as session:
            start.wait(timeout=30)
            for item in items:
                url = f"{live_server.url}/api/i1/order_items/{item}/create_mapping/"
                response = session.post(url, json={"code": f"ERP-{item}"}, headers=HEADERS, timeout=30)
                assert response.status_code == 201, response.text
                pks.append(response.json()["pk"])
        return pks

    with ThreadPoolExecutor(2) as pool:
        marked, mapped = pool.submit(mark), pool.submit(map_items)
        stamps, pks = marked.result(), mapped.result()
    assert pks == items
    order = http.get(order_url, headers=HEADERS, timeout=30).json()
    assert order["is_send"] is True
    # Every change moved modified_date forward, and the newest is the order's.
    moments = [datetime.fromisoformat(stamp) for stamp in stamps]
    assert all(earlier < later for earlier, later in pairwise(moments))
    assert datetime.fromisoformat(order["modified_date"]) >= moments[-1]
    for item in items:
        url = f"{live_server.url}/api/i1/order_items/{item}/create_mapping/"
        again = http.post(url, json={"code": f"ERP-{item}"}, headers=HEADERS, timeout=30)
        assert (again.status_code, again.json()["pk"]) == (200, item)
    journal = http.get(f"{live_server.url}/_mock/requests", timeout=30).json()
    assert sorted(entry["status"] for entry in journal["requests"]) == sorted([200] * 61 + [201] * 30)
