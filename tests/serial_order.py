"""A concurrency check shared by the thread and the multi-process tests."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from omnitron_mock import DEV_TOKEN

from tests.helpers import FIGURES, checked_session

THREADS = 8
BULKS_PER_THREAD = 30
ITEMS = (1, 2, 3)
HTTP = checked_session()
HEADERS = {"Authorization": f"Token {DEV_TOKEN}"}


def _bulk(worker: int, round_: int) -> tuple[str, dict[str, Any]]:
    """Alternate writers of two fields, and every fifth bulk carries a bad item."""
    tag = f"w{worker}-r{round_}"
    field = "tracking_number" if (worker + round_) % 2 else "invoice_number"
    items: list[dict[str, Any]] = [{"id": item_id, field: tag} for item_id in ITEMS]
    if round_ % 5 == 4:
        items.append({"id": 4, "status": "not-a-status"})
    return tag, {"orderitem_set": items}


def assert_concurrent_bulks_serialize(base_url: str) -> None:
    """Many clients, overlapping bulks (some failing): the final state equals some
    serial order of the accepted bulks, and a rejected bulk leaves no trace."""
    url = f"{base_url}/api/i1/order_items/bulk_status_update/"
    start = threading.Barrier(THREADS)

    def worker(index: int) -> list[tuple[str, int, Any]]:
        outcomes = []
        with checked_session() as session:
            start.wait()
            for round_ in range(BULKS_PER_THREAD):
                tag, body = _bulk(index, round_)
                response = session.patch(url, json=body, headers=HEADERS, timeout=30)
                outcomes.append((tag, response.status_code, response.json()))
        return outcomes

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = [outcome for result in pool.map(worker, range(THREADS)) for outcome in result]

    statuses = {status for _, status, _ in outcomes}
    assert statuses == {200, 400}, statuses
    FIGURES["concurrent bulk requests (no 5xx)"] += len(outcomes)
    accepted = [(tag, body) for tag, status, body in outcomes if status == 200]
    rejected_tags = {tag for tag, status, _ in outcomes if status == 400}
    assert len(accepted) + len(rejected_tags) == THREADS * BULKS_PER_THREAD

    # Each accepted bulk saw its own write on every item at once.
    for tag, items in accepted:
        written = {field for field in ("tracking_number", "invoice_number") if items[0][field] == tag}
        assert len(written) == 1, (tag, items)
        field = written.pop()
        assert [item[field] for item in items] == [tag, tag, tag]
        # the three items agree on the other field too: no bulk landed half-way through this one
        other = "invoice_number" if field == "tracking_number" else "tracking_number"
        assert len({item[other] for item in items}) == 1, items

    # Every process of the server must know every request: one journal, one state.
    journal = HTTP.get(f"{base_url}/_mock/requests?method=PATCH&path=bulk_status_update", timeout=30).json()
    assert journal["count"] == THREADS * BULKS_PER_THREAD, f"the journal holds {journal['count']} bulks"
    reads = [
        HTTP.get(f"{base_url}/api/i1/order_items/{i}/", headers=HEADERS, timeout=10).json()
        for _ in range(4)
        for i in ITEMS
    ]
    assert len({(r["id"], r["tracking_number"], r["invoice_number"]) for r in reads}) == len(ITEMS), reads
    final = [HTTP.get(f"{base_url}/api/i1/order_items/{i}/", headers=HEADERS, timeout=10).json() for i in ITEMS]
    final_pair = {(item["tracking_number"], item["invoice_number"]) for item in final}
    assert len(final_pair) == 1, final
    # Serial-order witness: the last accepted bulk saw exactly the final state,
    # so no later write was lost and no rejected bulk left a trace.
    observed_pairs = {(items[0]["tracking_number"], items[0]["invoice_number"]) for _, items in accepted}
    assert final_pair <= observed_pairs
    assert not (set(final_pair.pop()) & rejected_tags)
    untouched = HTTP.get(f"{base_url}/api/i1/order_items/4/", headers=HEADERS, timeout=10).json()
    assert untouched["status"] == "400"
