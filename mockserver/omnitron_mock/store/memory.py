"""The in-memory store: rows behind one lock."""

from __future__ import annotations

import bisect
import copy
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from operator import attrgetter, itemgetter
from typing import cast

from omnitron_mock.clock import moved_on
from omnitron_mock.jsonio import dumps
from omnitron_mock.records import ORDER_FIELDS, ItemRecord, OrderRecord, copy_nested
from omnitron_mock.store.base import (
    DEFAULT_JOURNAL_BYTES,
    ITEM_STATE_FIELDS,
    OrderKey,
    OrderLimitExceeded,
    OrderQuery,
    Row,
    SeedData,
    T,
    UpdatedItems,
    forget_verdicts,
    journal_entry_size,
    mapping_row,
    numbered_users,
    page_of_orders,
    token_digest,
    user_holding_token,
)
from omnitron_mock.store.order_index import OrderIndex

_ORDERS_INSERTED_ONE_BY_ONE = 64
_RECORD_STATE = attrgetter(*ITEM_STATE_FIELDS)
_ORDER_POSITIONS = {name: position for position, name in enumerate(ORDER_FIELDS)}
_ROW_STATE = itemgetter(*ITEM_STATE_FIELDS)


def _differs(stored: object, new: object) -> bool:
    """Whether ``new`` reads back other than ``stored``, as the SQLite store
    compares the stored texts: Python holds 1 == 1.0 == True and ignores key
    order, JSON does not."""
    if stored != new:
        return True
    # Equal strings (every bulk field) and nulls read back the same: no encoding on the bulk's path.
    return not isinstance(new, str) and new is not None and dumps(stored) != dumps(new)


class _MemoryTransaction:
    """Reads see the store; writes wait in ``pending`` until the commit."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self.pending: dict[int, Row] = {}
        self.pending_orders: dict[int, OrderRecord] = {}
        self.pending_mappings: dict[int, Row] = {}
        self.pending_requests: list[Row] = []

    def append_request(self, entry: Row) -> None:
        self.pending_requests.append(entry)

    def get_items(self, ids: Iterable[int]) -> dict[int, Row]:
        found = {}
        for item_id in ids:
            stored = self.pending.get(item_id) or self._store._items.get(item_id)
            if stored is not None:
                # Only what the rules read: a whole item in wire form would copy every field.
                state = _RECORD_STATE(stored) if isinstance(stored, ItemRecord) else _ROW_STATE(stored)
                found[item_id] = dict(zip(ITEM_STATE_FIELDS, state, strict=True))
        return found

    def update_items(self, changes: list[tuple[int, Row]]) -> UpdatedItems:
        updated = []
        changed = False
        for item_id, fields in changes:
            # The bulk read every item it changes: each one exists.
            before = self.pending.get(item_id) or cast(Row, self._store._item(item_id))
            changed = changed or any(_differs(before[name], value) for name, value in fields.items())
            item = {**before, **fields}
            self.pending[item_id] = item
            updated.append(dumps(item))
        return UpdatedItems(updated, changed)

    def get_item(self, item_id: int) -> Row | None:
        pending = self.pending.get(item_id)
        return dict(pending) if pending is not None else self._store._item(item_id)

    def _order(self, order_id: int) -> OrderRecord | None:
        return self.pending_orders.get(order_id) or self._store._orders.get(order_id)

    def get_order(self, order_id: int) -> Row | None:
        order = self._order(order_id)
        return None if order is None else self._store._order_wire(order)

    def update_order(self, order_id: int, changes: Row) -> None:
        # Records are never changed in place (a reset points back at them). A
        # new record from the values: dataclasses.replace takes six times as
        # long, and every bulk moves its order's modified_date.
        values = list(cast(OrderRecord, self._order(order_id)).to_values())
        for name, value in changes.items():
            values[_ORDER_POSITIONS[name]] = value
        self.pending_orders[order_id] = OrderRecord.from_values(values)

    def touch_order(self, order_id: int) -> None:
        order = cast(OrderRecord, self._order(order_id))
        self.update_order(order_id, {"modified_date": moved_on(order.modified_date)})

    def mapping_of(self, item_id: int) -> Row | None:
        found = self.pending_mappings.get(item_id) or self._store._mappings.get(item_id)
        return None if found is None else dict(found)

    def add_mapping(self, item_id: int, code: str, update_stock: bool) -> Row:
        pk = self._store._next_mapping_pk + len(self.pending_mappings)
        self.pending_mappings[item_id] = mapping_row(pk, item_id, code, update_stock)
        return dict(self.pending_mappings[item_id])


class MemoryStore:
    """Keeps everything in process memory; one lock serialises writers.

    Items and orders as loaded stay records (:mod:`omnitron_mock.records`),
    which no code changes in place. An item a bulk changed becomes the dict
    the bulk merged: the next bulk or read of it copies that dict, several
    times cheaper than rendering a record and building a new one. A reset
    points back at the startup records instead of copying them.
    """

    def __init__(self, journal_limit: int = 10_000, journal_bytes: int = DEFAULT_JOURNAL_BYTES) -> None:
        self._lock = threading.RLock()
        self._users: dict[str, Row] = {}
        self._tokens: dict[bytes, Row] = {}
        self._orders: dict[int, OrderRecord] = {}
        self._items: dict[int, ItemRecord | Row] = {}
        self._order_item_ids: dict[int, list[int]] = {}
        self._order_index = OrderIndex()
        # By item id: an item has at most one mapping.
        self._mappings: dict[int, Row] = {}
        self._next_mapping_pk = 1
        self._journal: deque[Row] = deque()
        self._journal_sizes: deque[int] = deque()
        self._journal_size = 0
        self._journal_limit = journal_limit
        self._journal_bytes = journal_bytes
        self._journal_counter = 0
        self._startup = SeedData()
        self._faults: list[Row] = []
        self._strict: bool | None = None
        self._fault_clears = 0

    def initialize(self, seed: SeedData) -> None:
        # Memory starts empty every time: the seed always loads. Records are
        # never changed in place, so the startup seed is kept without a copy.
        self._startup = seed
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.load(self._startup, replace=True)
            self._clear_journal()
            self._faults = copy.deepcopy(self._startup.faults)

    def replace_users(self, users: list[Row]) -> None:
        with self._lock:
            self._users.clear()
            self._tokens.clear()
            self.load(SeedData(users=users), replace=False)

    def reset_unless_used_since(self, since: str) -> bool:
        with self._lock:
            if self._journal and self._journal[-1]["time"] >= since:
                return False
            self.reset()
            return True

    @contextmanager
    def transaction(self) -> Iterator[_MemoryTransaction]:
        with self._lock:
            transaction = _MemoryTransaction(self)
            yield transaction
            # Reached only without an exception: an aborted transaction writes nothing.
            self._items.update(transaction.pending)
            for pk, order in transaction.pending_orders.items():
                # Orders are created by loads only: each one here is stored.
                self._order_index.replace(self._orders[pk], order)
            self._orders.update(transaction.pending_orders)
            self._mappings.update(transaction.pending_mappings)
            self._next_mapping_pk += len(transaction.pending_mappings)
            for entry in transaction.pending_requests:
                self.append_request(entry)

    def _item(self, item_id: int) -> Row | None:
        stored = self._items.get(item_id)
        if stored is None:
            return None
        if isinstance(stored, ItemRecord):
            return stored.to_wire()
        # An item a write changed is a dict: its nested objects are copied too,
        # or a caller changing one would change the store.
        return {
            **stored,
            "extra_field": copy_nested(stored["extra_field"]),
            "attributes": copy_nested(stored["attributes"]),
            "attributes_kwargs": copy_nested(stored["attributes_kwargs"]),
        }

    def get_item(self, item_id: int) -> Row | None:
        with self._lock:
            return self._item(item_id)

    def _order_wire(self, order: OrderRecord) -> Row:
        return {**order.to_wire(), "orderitem_set": list(self._order_item_ids.get(order.pk, []))}

    def get_order(self, order_id: int) -> Row | None:
        with self._lock:
            order = self._orders.get(order_id)
            return None if order is None else self._order_wire(order)

    def list_orders(self, query: OrderQuery, offset: int, limit: int) -> tuple[int, list[Row]]:
        with self._lock:
            found = self._order_index.page(self._orders, query, offset, limit)
            if found is None:
                orders = (self._orders[pk] for pk in self._order_index.candidates(query) if pk in self._orders)
                keys = (
                    OrderKey(order.pk, order.date_placed, order.modified_date)
                    for order in orders
                    if (query.is_send is None or order.is_send is query.is_send)
                    and (query.status is None or order.status == query.status)
                    and (query.number is None or order.number == query.number)
                    and (query.cancel_status is None or self._has_cancel_status(order.pk, query.cancel_status))
                )
                found = page_of_orders(keys, query, offset, limit)
            count, pks = found
            return count, [self._order_wire(self._orders[pk]) for pk in pks]

    def _has_cancel_status(self, order_id: int, cancel_status: str) -> bool:
        for item_id in self._order_item_ids.get(order_id, ()):
            item = self._items[item_id]
            stored = item.cancel_status if isinstance(item, ItemRecord) else item["cancel_status"]
            if stored == cancel_status:
                return True
        return False

    def mappings(self, item_id: int | None = None) -> list[Row]:
        with self._lock:
            found = self._mappings.values() if item_id is None else [m for m in [self._mappings.get(item_id)] if m]
            return sorted((dict(mapping) for mapping in found), key=lambda mapping: mapping["pk"])

    def get_order_by_number(self, number: str) -> Row | None:
        with self._lock:
            found = self._order_index.first_by_number(number)
            return None if found is None else self.get_order(found)

    def list_items(self, order_id: int | None, offset: int, limit: int) -> tuple[int, list[Row]]:
        with self._lock:
            ids = sorted(self._items) if order_id is None else self._order_item_ids.get(order_id, [])
            return len(ids), [cast(Row, self._item(i)) for i in ids[offset : offset + limit]]

    def iter_items(self) -> Iterator[Row]:
        with self._lock:
            ids = sorted(self._items)
        return (row for i in ids if (row := self.get_item(i)) is not None)

    def users(self) -> list[Row]:
        with self._lock:
            return [dict(self._users[name]) for name in sorted(self._users)]

    def user_by_username(self, username: str) -> Row | None:
        with self._lock:
            user = self._users.get(username)
            return dict(user) if user is not None else None

    def user_by_token(self, token: str) -> Row | None:
        with self._lock:
            user = self._tokens.get(token_digest(token))
        return user_holding_token(user, token)

    def load(self, seed: SeedData, replace: bool, order_limit: int | None = None) -> None:
        with self._lock:
            if order_limit is not None:
                seeded = {order.pk for order in seed.orders}
                held = len(seeded) if replace else len(self._orders) + len(seeded - self._orders.keys())
                if held > order_limit:
                    raise OrderLimitExceeded(held, order_limit)
            if replace:
                self._orders.clear()
                self._items.clear()
                self._order_item_ids.clear()
                self._mappings.clear()
                self._next_mapping_pk = 1
                if seed.users:
                    self._users.clear()
                    self._tokens.clear()
            next_pk = max((u["pk"] for u in self._users.values()), default=0) + 1
            for user in numbered_users(seed.users, next_pk, self._stored_pk):
                previous = self._users.get(user["username"])
                if previous is not None:
                    self._tokens.pop(token_digest(previous["token"]), None)
                self._users[user["username"]] = user
                self._tokens[token_digest(user["token"])] = user
            # Sorted once when many come: inserting each would move the rest every time.
            rebuild = replace or len(seed.orders) > _ORDERS_INSERTED_ONE_BY_ONE
            for order in seed.orders:
                if not rebuild:
                    previous_order = self._orders.get(order.pk)
                    if previous_order is not None:
                        self._order_index.remove(previous_order)
                    self._order_index.add(order)
                self._orders[order.pk] = order
                self._order_item_ids.setdefault(order.pk, [])
            if rebuild:
                self._order_index.rebuild(self._orders)
            for item in seed.items:
                identifier, order_id = item.id, item.order
                previous_item = self._items.get(identifier)
                if previous_item is not None:
                    old_order = previous_item.order if isinstance(previous_item, ItemRecord) else previous_item["order"]
                    self._order_item_ids[old_order].remove(identifier)
                self._items[identifier] = item
                ids = self._order_item_ids.setdefault(order_id, [])
                if ids and ids[-1] > identifier:
                    bisect.insort(ids, identifier)
                else:
                    ids.append(identifier)

    def _stored_pk(self, username: str) -> int | None:
        user = self._users.get(username)
        return None if user is None else user["pk"]

    def snapshot(self, max_orders: int | None = None) -> dict[str, list[Row]]:
        with self._lock:
            orders = []
            for order_id in sorted(self._orders)[:max_orders]:
                item_ids = self._order_item_ids.get(order_id, [])
                orders.append({**self._orders[order_id].to_wire(), "items": [self._item(i) for i in item_ids]})
        return {"users": self.users(), "orders": orders}

    def faults(self) -> list[Row]:
        with self._lock:
            return copy.deepcopy(self._faults)

    def strict_mode(self) -> bool | None:
        return self._strict

    def set_strict_mode(self, strict: bool) -> None:
        with self._lock:
            self._strict = strict

    def update_faults(self, change: Callable[[list[Row]], T]) -> T:
        with self._lock:
            return change(self._faults)

    def fault_clears(self) -> int:
        return self._fault_clears

    def count_fault_clear(self) -> None:
        with self._lock:
            self._fault_clears += 1

    def append_request(self, entry: Row) -> None:
        with self._lock:
            self._journal_counter += 1
            entry["id"] = self._journal_counter
            size = journal_entry_size(entry)
            self._journal.append(entry)
            self._journal_sizes.append(size)
            self._journal_size += size
            # The oldest go first; the newest entry stays even when it alone is over budget.
            while len(self._journal) > 1 and (
                len(self._journal) > self._journal_limit or self._journal_size > self._journal_bytes
            ):
                self._journal.popleft()
                self._journal_size -= self._journal_sizes.popleft()

    def requests(self) -> list[Row]:
        with self._lock:
            return list(self._journal)

    def recent_requests(self, limit: int, before_id: int | None = None) -> list[Row]:
        found: list[Row] = []
        if limit <= 0:
            return found
        with self._lock:
            # Ids grow along the deque: walk back from the newest, past those at or after before_id.
            for entry in reversed(self._journal):
                if before_id is None or entry["id"] < before_id:
                    found.append(entry)
                    if len(found) == limit:
                        break
        return found

    def journal_size(self) -> int:
        with self._lock:
            return self._journal_size

    def journal_count(self) -> int:
        with self._lock:
            return len(self._journal)

    def _clear_journal(self) -> None:
        self._journal.clear()
        self._journal_sizes.clear()
        self._journal_size = 0
        forget_verdicts()

    def clear_requests(self) -> None:
        with self._lock:
            self._clear_journal()
