"""The journal has a byte budget: bodies are kept up to a size and marked as
cut, the oldest entries go when the total is reached, and the inspector reads
only what it shows."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mockserver import DEV_TOKEN, Settings, create_app
from mockserver.store.memory import MemoryStore

BULK = "/api/i1/order_items/bulk_status_update/"
AUTH = {"Authorization": f"Token {DEV_TOKEN}"}


def small_journal_app(store_kind: str, tmp_path: Path, **limits: int) -> Any:
    settings = replace(Settings(), **limits)
    if store_kind == "sqlite":
        settings = replace(settings, db=str(tmp_path / "budget.db"))
    return create_app(settings)


def padded_bulk(padding: int, **extra: Any) -> bytes:
    """A valid bulk whose JSON is about ``padding`` bytes longer (spaces between tokens)."""
    return json.dumps({"orderitem_set": [{"id": 1, "status": "450", **extra}]}, indent=padding).encode()


def test_long_bodies_are_cut_with_their_length_and_judged_whole(store_kind: str, tmp_path: Path) -> None:
    client = small_journal_app(store_kind, tmp_path, journal_body_bytes=1000).test_client()
    body = b'{"orderitem_set": [{"id": 1, "status": "450"}], ' + b'"padding": "' + b"x" * 3000 + b'", "tracking_no": 1}'
    response = client.patch(BULK, data=body, headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 200
    [entry] = client.get("/_mock/requests").get_json()["requests"]
    assert (entry["body_truncated"], entry["body_length"]) == (True, len(body))
    assert entry["body"] == body[:1000].decode()
    # The misspelt field lies past the cut: the verdict still names it.
    assert entry["verdict"]["unknown_fields"] == ["$.padding", "$.tracking_no"]
    page = client.get("/_mock/").get_data(as_text=True)
    assert f"keeps the first 1000 of its {len(body)} bytes" in page


def test_long_responses_are_cut_too(store_kind: str, tmp_path: Path) -> None:
    client = small_journal_app(store_kind, tmp_path, journal_body_bytes=500).test_client()
    response = client.get("/api/i1/order_items/?limit=50", headers=AUTH)
    assert response.status_code == 200
    [entry] = client.get("/_mock/requests").get_json()["requests"]
    assert entry["response_truncated"] is True
    assert entry["response_length"] == len(response.get_data())
    assert entry["response"] == response.get_data()[:500].decode("utf-8", "ignore")


def test_short_bodies_are_kept_whole(store_kind: str, tmp_path: Path) -> None:
    client = small_journal_app(store_kind, tmp_path).test_client()
    client.patch(BULK, json={"orderitem_set": [{"id": 1, "status": "450"}]}, headers=AUTH)
    [entry] = client.get("/_mock/requests").get_json()["requests"]
    assert (entry["body_truncated"], entry["response_truncated"]) == (False, False)
    assert "body_length" not in entry


def test_the_oldest_entries_go_when_the_byte_budget_is_reached(store_kind: str, tmp_path: Path) -> None:
    client = small_journal_app(store_kind, tmp_path, journal_body_bytes=4000, journal_bytes=60_000).test_client()
    for _ in range(100):
        response = client.patch(BULK, data=padded_bulk(200), headers={**AUTH, "Content-Type": "application/json"})
        assert response.status_code == 200
    entries = client.get("/_mock/requests").get_json()["requests"]
    kept = sum(len(json.dumps(entry["body"])) for entry in entries)
    assert 5 < len(entries) < 60, len(entries)
    assert kept < 60_000
    ids = [entry["id"] for entry in entries]
    assert ids == sorted(ids) and ids[-1] == 100, "the newest entries stay"
    assert client.get("/_mock/").status_code == 200


class JournalReadingForbidden(MemoryStore):
    def requests(self) -> list[Any]:
        raise AssertionError("the inspector must not read the whole journal")


@pytest.mark.parametrize("query", ["", "?path=nowhere", "?status=4xx", "?verdict=unknown"])
def test_the_inspector_reads_the_newest_entries_only(query: str) -> None:
    client = create_app(store=JournalReadingForbidden()).test_client()
    for _ in range(600):
        client.get("/api/i1/active_user/", headers=AUTH)
    page = client.get("/_mock/" + query)
    assert page.status_code == 200
    shown = page.get_data(as_text=True).count('class="entry')
    assert shown == (200 if not query else 0)
