"""The store interface, one suite for every implementation."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from omnitron_mock import DEV_TOKEN
from omnitron_mock.jsonio import dumps
from omnitron_mock.records import ITEM_FIELDS, ORDER_FIELDS, ItemRecord, OrderRecord
from omnitron_mock.seed import DEFAULT_SEED_DOCUMENT, build_seed
from omnitron_mock.store import MemoryStore, SeedData, Store
from omnitron_mock.store.base import ITEM_STATE_FIELDS, OrderLimitExceeded, OrderQuery
from omnitron_mock.store.sqlite import SQLiteStore

from tests.postgres import PostgresServer

StoreFactory = Callable[[], Store]


# Each PostgreSQL-store test gets a database of its own on the run's server.
_DATABASE_NUMBERS = itertools.count(1)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Builds stores of one kind; SQLite ones share one file, PostgreSQL ones
    one database, as processes do."""
    if request.param == "memory":
        yield lambda: MemoryStore(journal_limit=3)
    elif request.param == "sqlite":
        yield lambda: SQLiteStore(tmp_path / "state.db", journal_limit=3)
    else:
        # Imported here: without psycopg the other stores' tests still run.
        from omnitron_mock.store.postgres import PostgresStore

        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.create_database(f"store_test_{next(_DATABASE_NUMBERS)}")
        opened: list[PostgresStore] = []

        def make() -> Store:
            opened.append(PostgresStore(url, journal_limit=3))
            return opened[-1]

        yield make
        for store in opened:
            store.close()


@pytest.fixture
def store(make_store: StoreFactory) -> Store:
    created = make_store()
    created.initialize(default_seed())
    return created


def default_seed() -> SeedData:
    return build_seed(DEFAULT_SEED_DOCUMENT)


def test_initialize_loads_the_seed(store: Store) -> None:
    assert [item["id"] for item in store.iter_items()] == [1, 2, 3, 4, 5]
    assert store.get_item(2)["price"] == "86.00"
    assert store.get_item(99) is None
    assert store.get_order(1)["orderitem_set"] == [1, 2, 3]
    assert store.get_order(99) is None
    assert store.user_by_username("mock-user")["pk"] == 1


def test_ids_beyond_64_bits_name_nothing(store: Store) -> None:
    huge = 10**30
    assert store.get_item(huge) is None
    assert store.get_order(-huge) is None
    assert store.list_items(huge, 0, 10) == (0, [])
    with store.transaction() as tx:
        assert tx.get_items([1, huge]).keys() == {1}


def test_list_items_pages_by_id(store: Store) -> None:
    assert store.list_items(None, 1, 2) == (5, [store.get_item(2), store.get_item(3)])
    assert store.list_items(2, 0, 10) == (2, [store.get_item(4), store.get_item(5)])
    assert store.list_items(99, 0, 10) == (0, [])


def test_tokens_find_their_user_and_nothing_else(store: Store) -> None:
    token = store.user_by_username("mock-user")["token"]
    assert store.user_by_token(token)["username"] == "mock-user"
    assert store.user_by_token(token[:-1] + "0") is None
    assert store.user_by_token("") is None


def test_transaction_writes_on_commit(store: Store) -> None:
    with store.transaction() as tx:
        assert set(tx.get_items([1, 2, 99])) == {1, 2}
        updated = tx.update_items([(2, {"tracking_number": "T2"}), (1, {"status": "450"})])
    assert [json.loads(text)["id"] for text in updated] == [2, 1]
    assert store.get_item(1)["status"] == "450"
    assert store.get_item(2)["tracking_number"] == "T2"


def test_transaction_reads_what_the_rules_need(store: Store) -> None:
    with store.transaction() as tx:
        tx.update_items([(2, {"tracking_number": "T2", "status": "500"})])
        states = tx.get_items([2, 4])
    for item_id, state in states.items():
        stored = store.get_item(item_id)
        assert {name: state[name] for name in ITEM_STATE_FIELDS} == {name: stored[name] for name in ITEM_STATE_FIELDS}


def test_updated_items_come_back_in_wire_form(store: Store) -> None:
    # Escapes, non-ASCII text and a new field's position must match what the
    # read-back endpoints render, byte for byte, in both stores.
    tricky = 'Ş"\\\n\u001f\u2028é 😀'
    with store.transaction() as tx:
        [text] = tx.update_items([(3, {"invoice_number": tricky, "e_archive_url": "https://e.example/é"})])
    assert text == dumps(store.get_item(3))
    assert json.loads(text)["invoice_number"] == tricky


def test_changes_replace_fields_with_exactly_the_values_given(store: Store) -> None:
    # A JSON merge patch (RFC 7396) would drop a field set to null and merge
    # a new object into the old one; both stores must do what memory does.
    fields = list(store.get_item(1))
    with store.transaction() as tx:
        tx.update_items([(1, {"tracking_number": "T1", "extra_field": {"kept": 1, "both": 1}})])
    with store.transaction() as tx:
        [text] = tx.update_items([(1, {"tracking_number": None, "extra_field": {"both": 2}, "image": True})])
    item = store.get_item(1)
    assert list(item) == fields
    assert (item["tracking_number"], item["extra_field"], item["image"]) == (None, {"both": 2}, True)
    assert text == dumps(item)


def test_changes_apply_in_order_whatever_fields_each_names(store: Store) -> None:
    with store.transaction() as tx:
        texts = tx.update_items(
            [
                (1, {"status": "450"}),
                (2, {"status": "500", "tracking_number": "T2"}),
                (1, {"tracking_number": "T1", "status": "500"}),
                (1, {"invoice_number": "I1"}),
            ]
        )
    one = store.get_item(1)
    assert (one["status"], one["tracking_number"], one["invoice_number"]) == ("500", "T1", "I1")
    assert store.get_item(2)["tracking_number"] == "T2"
    assert [json.loads(text)["id"] for text in texts] == [1, 2, 1, 1]


def test_records_give_fresh_wire_rows_and_come_back_from_them() -> None:
    seed = default_seed()
    item, order = seed.items[0], seed.orders[0]
    row = item.to_wire()
    assert list(row) == list(ITEM_FIELDS)
    assert row["extra_field"] is not item.extra_field, "nested objects are copies"
    assert ItemRecord.from_wire(row) == item
    assert ItemRecord.from_values(item.to_values()) == item
    assert OrderRecord.from_wire(order.to_wire()) == order
    assert list(order.to_wire()) == list(ORDER_FIELDS)
    # Defaults are shared between records, as the tuples shared them.
    assert seed.items[0].attributes is seed.items[1].attributes
    nested = build_seed({"orders": [{"id": 1, "items": [{"id": 1, "extra_field": {"a": {"b": [1]}}}]}]}).items[0]
    copied = nested.to_wire()["extra_field"]
    copied["a"]["b"].append(2)
    assert nested.extra_field == {"a": {"b": [1]}}


def test_sqlite_keeps_the_startup_seed_as_value_lists(tmp_path: Path) -> None:
    # The format files held before records: field names on a million items
    # would triple it, and a file from before must still reset.
    path = tmp_path / "state.db"
    seed = default_seed()
    SQLiteStore(path).initialize(seed)
    with sqlite3.connect(path) as connection:
        [text] = connection.execute("SELECT value FROM meta WHERE key = 'startup_seed'").fetchone()
    stored = json.loads(text)
    assert list(stored) == ["users", "orders", "items", "faults"]
    assert stored["items"][1] == list(seed.items[1].to_values())
    assert stored["orders"][0] == list(seed.orders[0].to_values())


def test_transaction_that_raises_writes_nothing(store: Store) -> None:
    before = store.snapshot()
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.update_items([(1, {"status": "450"})])
        raise RuntimeError("abandon")
    assert store.snapshot() == before


def test_returned_rows_are_copies(store: Store) -> None:
    item = store.get_item(1)
    item["status"] = "999"
    item["extra_field"]["changed"] = True
    item["attributes"]["colour"] = "red"
    assert store.get_item(1)["status"] == "400"
    assert store.get_item(1)["extra_field"] == {}
    assert store.get_item(2)["attributes"] == {}


def test_load_merges_moves_and_replaces(store: Store) -> None:
    store.load(build_seed({"orders": [{"id": 2, "items": [{"id": 1}]}, {"id": 7, "items": [{"id": 70}]}]}), False)
    assert store.get_order(1)["orderitem_set"] == [2, 3]
    assert store.get_order(2)["orderitem_set"] == [1, 4, 5]
    assert store.get_item(70)["order"] == 7
    store.load(build_seed({"orders": [{"id": 8, "items": [{"id": 80}]}]}), True)
    assert [item["id"] for item in store.iter_items()] == [80]
    assert store.user_by_username("mock-user") is not None, "a seed without users keeps them"


def test_seeded_users_are_numbered(store: Store) -> None:
    store.load(build_seed({"users": [{"username": "a", "password": "p"}, {"username": "b", "password": "p"}]}), False)
    assert (store.user_by_username("a")["pk"], store.user_by_username("b")["pk"]) == (2, 3)
    store.load(build_seed({"users": [{"username": "a", "password": "q", "token": "new-token"}]}), False)
    assert store.user_by_username("a")["pk"] == 2
    assert store.user_by_token("new-token")["password"] == "q"


def test_reset_restores_the_seed_and_empties_the_journal(store: Store) -> None:
    before = store.snapshot()
    with store.transaction() as tx:
        tx.update_items([(1, {"status": "450"})])
    store.load(build_seed({"orders": [{"id": 9, "items": [{"id": 90}]}]}), False)
    store.append_request({"method": "GET"})
    store.reset()
    assert store.snapshot() == before
    assert store.requests() == []


def test_journal_numbers_entries_and_keeps_the_newest(store: Store) -> None:
    for index in range(5):
        store.append_request({"n": index})
    entries = store.requests()
    assert [e["n"] for e in entries] == [2, 3, 4]
    assert [e["id"] for e in entries] == sorted(e["id"] for e in entries)
    store.clear_requests()
    assert store.requests() == []


def test_journal_count_is_what_a_read_returns(store: Store) -> None:
    """Counted as entries come, go past the limit, roll back and are cleared."""
    counts = [store.journal_count()]
    for index in range(2):
        store.append_request({"n": index})
        counts.append(store.journal_count())
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.append_request({"n": "rolled back"})
        raise RuntimeError
    counts.append(store.journal_count())
    for index in range(2, 5):
        store.append_request({"n": index})
        counts.append(store.journal_count())
    assert counts == [0, 1, 2, 2, 3, 3, 3]
    assert store.journal_count() == len(store.requests())
    store.clear_requests()
    store.append_request({"n": "after a clear"})
    assert store.journal_count() == len(store.requests()) == 1


def test_a_reset_unless_used_since_keeps_a_world_used_since(store: Store) -> None:
    with store.transaction() as tx:
        tx.update_items([(1, {"status": "450"})])
        tx.append_request({"time": "2026-01-01T00:00:05.000Z"})
    assert store.reset_unless_used_since("2026-01-01T00:00:05.000Z") is False
    assert store.get_item(1)["status"] == "450"
    assert store.reset_unless_used_since("2026-01-01T00:00:05.001Z") is True
    assert store.get_item(1)["status"] != "450"
    assert store.requests() == []
    # An empty journal says nothing was used: the reset goes ahead.
    assert store.reset_unless_used_since("2000-01-01T00:00:00.000Z") is True


def test_replace_users_leaves_exactly_those_users(store: Store) -> None:
    orders = store.snapshot()["orders"]
    [kept] = build_seed({"users": [{"username": "kept", "password": "pw", "token": "kept-token"}]}).users
    store.replace_users([kept])
    assert [user["username"] for user in store.users()] == ["kept"]
    assert store.user_by_token("kept-token") is not None
    assert store.snapshot()["orders"] == orders


def test_a_load_past_the_order_limit_loads_nothing(store: Store) -> None:
    before = store.snapshot()
    held = len(before["orders"])
    extra = build_seed({"orders": [{"id": 90 + n, "items": [{"id": 900 + n}]} for n in range(3)]})
    with pytest.raises(OrderLimitExceeded) as refused:
        store.load(extra, False, order_limit=held + 2)
    assert (refused.value.held, refused.value.limit) == (held + 3, held + 2)
    assert store.snapshot() == before
    # Orders it holds already count once; a replacing load counts its own alone.
    store.load(build_seed({"orders": [{"id": before["orders"][0]["pk"]}]}), False, order_limit=held)
    store.load(extra, True, order_limit=3)
    assert len(store.snapshot()["orders"]) == 3


def test_snapshot_nests_items_in_orders(store: Store) -> None:
    snapshot = store.snapshot()
    assert [order["pk"] for order in snapshot["orders"]] == [1, 2]
    assert [item["id"] for item in snapshot["orders"][1]["items"]] == [4, 5]
    assert [user["username"] for user in snapshot["users"]] == ["mock-user"]


def _increment(store: Store, rounds: int) -> None:
    for _ in range(rounds):
        with store.transaction() as tx:
            current = tx.get_items([1])[1]
            tx.update_items([(1, {"tracking_number": str(int(current["tracking_number"] or 0) + 1)})])


def test_transactions_from_many_threads_lose_no_update(store: Store) -> None:
    threads = [threading.Thread(target=_increment, args=(store, 50)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.get_item(1)["tracking_number"] == "400"


def _increment_in_process(path: str, rounds: int) -> None:
    _increment(SQLiteStore(path), rounds)


def test_sqlite_transactions_from_many_processes_lose_no_update(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    SQLiteStore(path).initialize(default_seed())
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_increment_in_process, args=(path, 40)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    assert SQLiteStore(path).get_item(1)["tracking_number"] == "160"


def test_sqlite_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = SQLiteStore(path)
    first.initialize(default_seed())
    with first.transaction() as tx:
        tx.update_items([(1, {"status": "500"})])
    first.append_request({"method": "PATCH"})
    restarted = SQLiteStore(path)
    restarted.initialize(default_seed())
    assert restarted.get_item(1)["status"] == "500"
    assert [e["method"] for e in restarted.requests()] == ["PATCH"]
    restarted.reset()
    assert restarted.get_item(1)["status"] == "400"


def test_sqlite_reset_goes_to_the_latest_startup_seed(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SQLiteStore(path).initialize(default_seed())
    restarted = SQLiteStore(path)
    restarted.initialize(build_seed({"orders": [{"id": 5, "items": [{"id": 50}]}]}))
    assert restarted.get_item(1) is not None, "the state of the earlier run stays"
    restarted.reset()
    assert [item["id"] for item in restarted.iter_items()] == [50]


def test_snapshot_can_stop_after_some_orders(store: Store) -> None:
    limited = store.snapshot(max_orders=1)
    assert [order["pk"] for order in limited["orders"]] == [1]
    assert [item["id"] for item in limited["orders"][0]["items"]] == [1, 2, 3]
    assert store.snapshot(max_orders=5) == store.snapshot()


def test_sqlite_stores_on_one_file_see_new_users_and_faults_at_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    first, second = SQLiteStore(path), SQLiteStore(path)
    first.initialize(default_seed())
    assert second.user_by_token("new-token") is None
    assert second.faults() == []
    first.load(build_seed({"users": [{"username": "new", "password": "pw", "token": "new-token"}]}), replace=False)
    first.update_faults(lambda faults: faults.append({"kind": "drop"}))
    assert second.user_by_token("new-token")["username"] == "new"
    assert second.faults() == [{"kind": "drop"}]
    second.reset()
    assert first.user_by_token("new-token") is None
    assert first.faults() == []


def test_journal_entries_written_in_a_transaction_commit_with_it(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.update_items([(1, {"status": "450"})])
        tx.append_request({"method": "PATCH", "status": 200})
        raise RuntimeError("abandon")
    assert store.requests() == []
    with store.transaction() as tx:
        tx.update_items([(1, {"status": "450"})])
        tx.append_request({"method": "PATCH", "status": 200})
    assert [(e["method"], e["status"]) for e in store.requests()] == [("PATCH", 200)]
    assert store.get_item(1)["status"] == "450"


def test_reads_inside_a_fault_change_see_the_store(store: Store) -> None:
    def change(faults: list) -> object:
        faults.append({"kind": "drop"})
        return store.user_by_token(DEV_TOKEN), store.get_order(1)

    user, order = store.update_faults(change)
    assert user["username"] == "mock-user"
    assert order["pk"] == 1
    assert store.faults() == [{"kind": "drop"}]


def test_strings_any_text_store_cannot_hold_are_kept_and_found(store: Store, request: pytest.FixtureRequest) -> None:
    if request.node.callspec.params["make_store"] == "sqlite":
        # Found writing the PostgreSQL store (issue 17), left for its own fix.
        request.applymarker(pytest.mark.xfail(reason="SQLite finds no order by a number holding NUL", strict=True))
    # NUL (and, in lookups and updates, a lone surrogate): PostgreSQL's text
    # holds neither, JSON escapes both. Seeds refuse surrogates.
    odd, surrogate = "N\x00", "N\udc00"
    store.load(build_seed({"users": [{"username": odd, "password": "p"}]}), False)
    store.load(
        build_seed({"orders": [{"id": 7, "number": odd, "items": [{"id": 70, "cancel_status": "waiting"}]}]}), False
    )
    assert store.user_by_username(odd)["username"] == odd
    assert store.user_by_username("N") is None
    assert store.get_order_by_number(odd)["pk"] == 7
    assert store.get_order_by_number(surrogate) is None
    assert store.user_by_username(surrogate) is None
    assert store.list_orders(OrderQuery(number=surrogate, status=surrogate), 0, 10) == (0, [])
    assert store.list_orders(OrderQuery(number=odd), 0, 10)[0] == 1
    assert store.list_orders(OrderQuery(number=odd, cancel_status="waiting"), 0, 10)[0] == 1
    assert store.list_orders(OrderQuery(cancel_status=odd), 0, 10)[0] == 0
    assert store.list_orders(OrderQuery(cancel_status=surrogate), 0, 10)[0] == 0
    with store.transaction() as tx:
        tx.update_items([(70, {"status": odd, "tracking_number": surrogate})])
        assert (tx.get_items([70])[70]["status"], tx.get_items([70])[70]["tracking_number"]) == (odd, surrogate)
    assert (store.get_item(70)["status"], store.get_item(70)["tracking_number"]) == (odd, surrogate)
