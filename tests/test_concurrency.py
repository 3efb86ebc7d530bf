"""Many clients at once against one live server: bulks never interleave, nothing is lost."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

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
