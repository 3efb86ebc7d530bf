"""The journal has a byte budget: bodies are kept up to a size and marked as
cut, the oldest entries go when the total is reached, and the inspector reads
only what it shows."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from omnitron_mock import DEV_TOKEN, Settings, create_app, journal
from omnitron_mock.store.memory import MemoryStore

BULK = "/api/i1/order_items/bulk_status_update/"
AUTH = {"Authorization": f"Token {DEV_TOKEN}"}
JSON = "application/json"


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


def stored_bytes(entries: list[dict[str, Any]]) -> int:
    """What the entries hold in UTF-8: bodies, answers and stored verdicts."""
    return sum(
        len(json.dumps([entry["body"], entry["response"], entry["verdict"]], ensure_ascii=False).encode())
        for entry in entries
    )


def many_unknown_fields(seed: int, count: int = 100, name_length: int = 300) -> bytes:
    """A valid bulk with ``count`` misspelt top-level fields of long names: a large verdict."""
    document: dict[str, Any] = {"orderitem_set": [{"id": 1, "status": "450"}]}
    for number in range(count):
        document[f"k{seed}-{number}-".ljust(name_length, "x")] = 1
    return json.dumps(document).encode()


def test_the_verdict_of_a_cut_body_counts_in_the_budget(store_kind: str, tmp_path: Path) -> None:
    client = small_journal_app(
        store_kind, tmp_path, journal_body_bytes=1000, journal_bytes=100_000, journal_limit=1000
    ).test_client()
    for seed in range(20):
        response = client.patch(BULK, data=many_unknown_fields(seed), headers={**AUTH, "Content-Type": JSON})
        assert response.status_code == 200
    entries = client.get("/_mock/requests").get_json()["requests"]
    assert all(entry["body_truncated"] and len(entry["verdict"]["unknown_fields"]) == 100 for entry in entries)
    # Each entry keeps 1000 bytes of body and a verdict of about 30 KB: a few fit.
    assert stored_bytes(entries) < 100_000, len(entries)
    assert entries[-1]["id"] == 20


def test_the_budget_counts_bytes_not_characters(store_kind: str, tmp_path: Path) -> None:
    client = small_journal_app(
        store_kind, tmp_path, journal_body_bytes=4000, journal_bytes=60_000, journal_limit=1000
    ).test_client()
    # Three bytes a character: 1,200 characters are 3,600 bytes.
    body = json.dumps({"orderitem_set": [{"id": 1, "status": "450"}], "note": "発" * 1200}, ensure_ascii=False)
    for _ in range(100):
        response = client.patch(BULK, data=body.encode(), headers={**AUTH, "Content-Type": JSON})
        assert response.status_code == 200
    entries = client.get("/_mock/requests").get_json()["requests"]
    assert entries[0]["body"]["note"] == "発" * 1200
    kept = sum(len(json.dumps(entry["body"], ensure_ascii=False).encode()) for entry in entries)
    assert kept < 60_000, (len(entries), kept)
    assert 5 < len(entries) < 20
    assert entries[-1]["id"] == 100


def test_the_verdict_cache_is_bounded_in_bytes(store_kind: str, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(journal, "_MAX_VERDICT_BYTES", 200_000)
    client = small_journal_app(store_kind, tmp_path).test_client()
    journal.clear_verdicts()
    for seed in range(20):
        response = client.patch(BULK, data=many_unknown_fields(seed), headers={**AUTH, "Content-Type": JSON})
        assert response.status_code == 200
    # Reading the journal works out (and caches) the verdict of every body: about 30 KB each.
    entries = client.get("/_mock/requests").get_json()["requests"]
    assert len(entries) == 20 and all(len(entry["verdict"]["unknown_fields"]) == 100 for entry in entries)
    count, size = journal.verdict_cache_usage()
    assert 0 < size <= 200_000
    assert 1 <= count < 20


def test_clearing_the_journal_empties_the_verdict_cache(store_kind: str, tmp_path: Path) -> None:
    client = small_journal_app(store_kind, tmp_path).test_client()
    client.patch(BULK, json={"orderitem_set": [{"id": 1, "status": "450", "tracking_no": "1"}]}, headers=AUTH)
    [entry] = client.get("/_mock/requests").get_json()["requests"]
    assert entry["verdict"]["unknown_fields"] == ["$.orderitem_set[0].tracking_no"]
    assert journal.verdict_cache_usage()[0] >= 1
    assert client.delete("/_mock/requests").status_code == 204
    assert journal.verdict_cache_usage() == (0, 0)
    assert client.get("/_mock/requests").get_json() == {"count": 0, "requests": []}


@pytest.mark.parametrize("cut", [False, True], ids=["whole-body", "cut-body"])
def test_verdict_texts_quote_long_values_shortened(store_kind: str, tmp_path: Path, cut: bool) -> None:
    client = small_journal_app(store_kind, tmp_path, journal_body_bytes=1000 if cut else 64 * 1024).test_client()
    long_value = "T" * 20_000
    long_name = "n" * 20_000
    body = json.dumps({"orderitem_set": [{"id": 1, "tracking_number": long_value}], long_name: 1}).encode()
    response = client.patch(BULK, data=body, headers={**AUTH, "Content-Type": JSON})
    assert response.status_code == 400
    [entry] = client.get("/_mock/requests").get_json()["requests"]
    assert entry["body_truncated"] is cut
    [error] = entry["verdict"]["schema_errors"]
    assert error["path"] == "$.orderitem_set[0].tracking_number"
    message = error["message"]
    assert message.startswith("'" + "T" * 150) and message.endswith("…' is too long"), message[-40:]
    assert len(message) <= 220
    [unknown] = entry["verdict"]["unknown_fields"]
    assert unknown.startswith("$.nnnn") and "…" in unknown and len(unknown) <= 400
    assert len(json.dumps(entry["verdict"])) < 2000
