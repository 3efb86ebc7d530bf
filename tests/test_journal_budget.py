"""The journal has a byte budget: bodies are kept up to a size and marked as
cut, the oldest entries go when the total is reached, and the inspector reads
only what it shows."""

from __future__ import annotations

import json
import multiprocessing
import random
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from omnitron_mock import DEV_TOKEN, Settings, create_app, journal
from omnitron_mock.journal import HEADER_BYTES, HEADERS_BYTES
from omnitron_mock.store import SeedData
from omnitron_mock.store.memory import MemoryStore
from omnitron_mock.store.sqlite import _TRIM_EVERY, SQLiteStore

from tests.helpers import sqlite_steps

BULK = "/api/i1/order_items/bulk_status_update/"
AUTH = {"Authorization": f"Token {DEV_TOKEN}"}
JSON = "application/json"


@pytest.fixture
def small_journal_app(fresh_app: Callable[[Settings], Any]) -> Callable[..., Any]:
    """``small_journal_app(**limits)``: a new app with these journal limits, on each store."""
    return lambda **limits: fresh_app(replace(Settings(), **limits))


def padded_bulk(padding: int, **extra: Any) -> bytes:
    """A valid bulk whose JSON is about ``padding`` bytes longer (spaces between tokens)."""
    return json.dumps({"orderitem_set": [{"id": 1, "status": "450", **extra}]}, indent=padding).encode()


def test_long_bodies_are_cut_with_their_length_and_judged_whole(small_journal_app: Callable[..., Any]) -> None:
    client = small_journal_app(journal_body_bytes=1000).test_client()
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


def test_long_responses_are_cut_too(small_journal_app: Callable[..., Any]) -> None:
    client = small_journal_app(journal_body_bytes=500).test_client()
    response = client.get("/api/i1/order_items/?limit=50", headers=AUTH)
    assert response.status_code == 200
    [entry] = client.get("/_mock/requests").get_json()["requests"]
    assert entry["response_truncated"] is True
    assert entry["response_length"] == len(response.get_data())
    assert entry["response"] == response.get_data()[:500].decode("utf-8", "ignore")


def test_short_bodies_are_kept_whole(small_journal_app: Callable[..., Any]) -> None:
    client = small_journal_app().test_client()
    client.patch(BULK, json={"orderitem_set": [{"id": 1, "status": "450"}]}, headers=AUTH)
    [entry] = client.get("/_mock/requests").get_json()["requests"]
    assert (entry["body_truncated"], entry["response_truncated"]) == (False, False)
    assert "body_length" not in entry


def test_the_oldest_entries_go_when_the_byte_budget_is_reached(small_journal_app: Callable[..., Any]) -> None:
    client = small_journal_app(journal_body_bytes=4000, journal_bytes=60_000).test_client()
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


def test_the_verdict_of_a_cut_body_counts_in_the_budget(small_journal_app: Callable[..., Any]) -> None:
    client = small_journal_app(journal_body_bytes=1000, journal_bytes=100_000, journal_limit=1000).test_client()
    for seed in range(20):
        response = client.patch(BULK, data=many_unknown_fields(seed), headers={**AUTH, "Content-Type": JSON})
        assert response.status_code == 200
    entries = client.get("/_mock/requests").get_json()["requests"]
    assert all(entry["body_truncated"] and len(entry["verdict"]["unknown_fields"]) == 100 for entry in entries)
    # Each entry keeps 1000 bytes of body and a verdict of about 30 KB: a few fit.
    assert stored_bytes(entries) < 100_000, len(entries)
    assert entries[-1]["id"] == 20


def test_the_budget_counts_bytes_not_characters(small_journal_app: Callable[..., Any]) -> None:
    client = small_journal_app(journal_body_bytes=4000, journal_bytes=60_000, journal_limit=1000).test_client()
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


def test_the_verdict_cache_is_bounded_in_bytes(small_journal_app: Callable[..., Any], monkeypatch: Any) -> None:
    monkeypatch.setattr(journal, "_MAX_VERDICT_BYTES", 200_000)
    client = small_journal_app().test_client()
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


def test_clearing_the_journal_empties_the_verdict_cache(small_journal_app: Callable[..., Any]) -> None:
    client = small_journal_app().test_client()
    client.patch(BULK, json={"orderitem_set": [{"id": 1, "status": "450", "tracking_no": "1"}]}, headers=AUTH)
    [entry] = client.get("/_mock/requests").get_json()["requests"]
    assert entry["verdict"]["unknown_fields"] == ["$.orderitem_set[0].tracking_no"]
    assert journal.verdict_cache_usage()[0] >= 1
    assert client.delete("/_mock/requests").status_code == 204
    assert journal.verdict_cache_usage() == (0, 0)
    assert client.get("/_mock/requests").get_json() == {"count": 0, "requests": []}


@pytest.mark.parametrize("cut", [False, True], ids=["whole-body", "cut-body"])
def test_verdict_texts_quote_long_values_shortened(small_journal_app: Callable[..., Any], cut: bool) -> None:
    client = small_journal_app(journal_body_bytes=1000 if cut else 64 * 1024).test_client()
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


# -- request headers: each kept up to HEADER_BYTES, all of them up to HEADERS_BYTES -----------------

BIG_HEADERS = {f"X-H{number}": "v" * 8192 for number in range(30)}


def utf8_size(headers: dict[str, str]) -> int:
    return sum(len(name.encode()) + len(value.encode()) for name, value in headers.items())


def test_long_headers_are_cut_with_their_length(small_journal_app: Callable[..., Any]) -> None:
    client = small_journal_app().test_client()
    token = "T" * 5000 + "LAST"
    headers = {"Authorization": f"Token {token}", **BIG_HEADERS}
    assert client.post("/api/i1/nothing/", data=b"{}", headers=headers).status_code in (401, 404)
    [entry] = client.get("/_mock/requests").get_json()["requests"]
    kept = entry["headers"]
    assert entry["headers_truncated"] is True
    # Counted as masked: the token's length does not show.
    assert utf8_size(BIG_HEADERS) < entry["headers_length"] < utf8_size(BIG_HEADERS) + 1000
    # Masked first, then cut: the token keeps its last four characters, and is short.
    assert kept["Authorization"].endswith("LAST") and len(kept["Authorization"]) < 100
    assert "X-H0" in kept and "X-H29" not in kept
    assert entry["headers_omitted"] == 30 - sum(name.startswith("X-H") for name in kept)
    assert kept["X-H0"] == "v" * HEADER_BYTES + "…[cut: 8192 bytes]"
    marks = sum(value.count("…[cut: ") for value in kept.values())
    assert utf8_size(kept) <= HEADERS_BYTES + marks * len("…[cut: 8192 bytes]".encode())
    page = client.get("/_mock/").get_data(as_text=True)
    assert f"{entry['headers_length']} bytes were sent and {entry['headers_omitted']} header(s) left out" in page


def test_a_long_header_name_is_cut_too(small_journal_app: Callable[..., Any]) -> None:
    client = small_journal_app().test_client()
    client.get("/api/i1/nothing/", headers={"X-" + "n" * 9000: "1", "X-Short": "kept"})
    [entry] = client.get("/_mock/requests").get_json()["requests"]
    [long_name] = [name for name in entry["headers"] if name.startswith("X-N")]
    assert long_name.endswith("…[cut: 9002 bytes]") and len(long_name) < HEADER_BYTES + 20
    assert entry["headers"]["X-Short"] == "kept"
    assert entry["headers_truncated"] is True and "headers_omitted" not in entry


def test_usual_headers_are_kept_whole(small_journal_app: Callable[..., Any]) -> None:
    client = small_journal_app().test_client()
    client.get("/api/i1/active_user/", headers={**AUTH, "X-Trace": "t" * 3000})
    [entry] = client.get("/_mock/requests").get_json()["requests"]
    assert entry["headers"]["X-Trace"] == "t" * 3000
    assert entry["headers_truncated"] is False and "headers_length" not in entry


# -- the SQLite journal's byte count: kept, not summed, and exact across stores sharing a file ------


def stored_size(entry: dict[str, Any]) -> int:
    """The bytes the SQLite store counts for an entry: its JSON as stored (without its id)."""
    data = {name: value for name, value in entry.items() if name != "id"}
    return len(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())


def sized_entry(rng: random.Random) -> dict[str, Any]:
    """A journal entry of a random size, multi-byte characters among its bytes."""
    return {
        "time": "2026-01-01T00:00:00.000Z",
        "method": "POST",
        "path": "/api/i1/nothing/",
        "query": "",
        "headers": {"Content-Type": JSON},
        "body": rng.choice(["x", "発", "é"]) * rng.randrange(0, 6000),
        "status": 404,
        "response": "{}",
        "duration_ms": 0.5,
        "request_contract": None,
        "fault": None,
    }


def open_shared(path: Path, budget: int, limit: int = 10_000) -> tuple[SQLiteStore, SQLiteStore]:
    first = SQLiteStore(path, journal_limit=limit, journal_bytes=budget)
    first.initialize(SeedData())
    second = SQLiteStore(path, journal_limit=limit, journal_bytes=budget)
    second.initialize(SeedData())
    return first, second


def test_the_sqlite_byte_count_is_exact_across_stores_sharing_a_file(tmp_path: Path) -> None:
    budget = 40_000
    first, second = open_shared(tmp_path / "shared.db", budget)
    rng = random.Random(12)
    # What the journal should hold: (id, bytes) of each entry, oldest first.
    expected: list[tuple[int, int]] = []
    trims = 0
    for _ in range(800):
        store = rng.choice((first, second))
        roll = rng.random()
        if roll < 0.01:
            store.clear_requests()
            expected.clear()
        elif roll < 0.02:
            store.reset()
            expected.clear()
        else:
            entry = sized_entry(rng)
            store.append_request(entry)
            expected.append((entry["id"], stored_size(entry)))
            # Only the oldest go, and only until the rest fit; the newest always stays.
            while len(expected) > 1 and sum(size for _, size in expected) > budget:
                expected.pop(0)
                trims += 1
        entries = second.requests()
        assert [entry["id"] for entry in entries] == [entry_id for entry_id, _ in expected]
        held = sum(stored_size(entry) for entry in entries)
        assert first.journal_size() == second.journal_size() == held
        assert held <= budget or len(entries) == 1
    assert trims > 200


def test_the_count_limit_uncounts_what_it_drops(tmp_path: Path) -> None:
    first, second = open_shared(tmp_path / "shared.db", budget=10**9, limit=10)
    rng = random.Random(3)
    for number in range(1, 2 * _TRIM_EVERY + 1):
        (first if number % 2 else second).append_request(sized_entry(rng))
    # The count limit trims every _TRIM_EVERY entries: just now, down to the newest 10.
    entries = first.requests()
    assert [entry["id"] for entry in entries] == list(range(2 * _TRIM_EVERY - 9, 2 * _TRIM_EVERY + 1))
    assert first.journal_size() == second.journal_size() == sum(stored_size(entry) for entry in entries)


def test_a_file_without_a_byte_count_is_counted_once(tmp_path: Path) -> None:
    path = tmp_path / "older.db"
    store = SQLiteStore(path, journal_bytes=30_000)
    store.initialize(SeedData())
    rng = random.Random(5)
    for _ in range(5):
        store.append_request(sized_entry(rng))
    # As a file from a version that kept no count.
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("DELETE FROM meta WHERE key = 'journal_bytes'")
    assert store.journal_size() == sum(stored_size(entry) for entry in store.requests())
    for _ in range(40):
        store.append_request(sized_entry(rng))
    entries = store.requests()
    assert store.journal_size() == sum(stored_size(entry) for entry in entries) <= 30_000


def _append_many(path: str, seed: int, count: int) -> None:
    store = SQLiteStore(path, journal_bytes=60_000)
    rng = random.Random(seed)
    for _ in range(count):
        store.append_request(sized_entry(rng))


def test_worker_processes_keep_the_count_exact(tmp_path: Path) -> None:
    path = str(tmp_path / "workers.db")
    SQLiteStore(path, journal_bytes=60_000).initialize(SeedData())
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(path, seed, 150)) for seed in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    store = SQLiteStore(path, journal_bytes=60_000)
    entries = store.requests()
    assert [entry["id"] for entry in entries][-1] == 450
    assert store.journal_size() == sum(stored_size(entry) for entry in entries) <= 60_000


def fixed_size_entry(rng: random.Random, size: int) -> dict[str, Any]:
    entry = sized_entry(rng)
    entry["body"] = "x" * (size - 200)
    return entry


def most_work_of_an_insert(store: SQLiteStore, rng: random.Random, size: int, inserts: int) -> int:
    return max(
        sqlite_steps(store._connection(), lambda: store.append_request(fixed_size_entry(rng, size)))
        for _ in range(inserts)
    )


def test_a_trim_reads_what_it_drops_not_the_whole_journal(tmp_path: Path) -> None:
    """The most work any of 200 inserts into a full journal takes does not
    grow with the number of entries the journal holds."""
    costs = []
    for entries in (100, 1000):
        store = SQLiteStore(tmp_path / f"full-{entries}.db", journal_bytes=entries * 1000)
        store.initialize(SeedData())
        rng = random.Random(entries)
        for _ in range(entries + 10):
            store.append_request(fixed_size_entry(rng, 1000))
        costs.append(most_work_of_an_insert(store, rng, 1000, 200))
    small, large = costs
    assert large < small * 1.5, costs
