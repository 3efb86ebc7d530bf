"""The store interface every implementation keeps.

Rows are plain dicts in wire shape: an item is exactly what the API returns,
an order lacks only its derived ``orderitem_set``, a user holds its password
and token. A store never validates; the domain layer does that before it
writes, inside one :meth:`Store.transaction` so that reading, deciding and
writing a bulk cannot interleave with another request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from omnitron_mock.clock import instant_key
from omnitron_mock.records import ItemRecord, OrderRecord, Row

T = TypeVar("T")


@dataclass
class SeedData:
    """Normalised rows ready to load: every field present, ids unique. Orders
    and items are records (:mod:`omnitron_mock.records`); users are dicts.

    ``faults`` are the startup faults: installed with the seed by
    ``initialize`` and restored by ``reset``; ``load`` leaves faults alone.
    """

    users: list[Row] = field(default_factory=list)
    orders: list[OrderRecord] = field(default_factory=list)
    items: list[ItemRecord] = field(default_factory=list)
    faults: list[Row] = field(default_factory=list)


DEFAULT_JOURNAL_BYTES = 64 * 1024 * 1024


def seed_text(seed: SeedData) -> str:
    """The startup seed as a database keeps it, to restore on reset."""
    # Orders and items as lists of their values: field names on each of a
    # million items would triple the stored seed.
    return json.dumps(
        {
            "users": seed.users,
            "orders": [order.to_values() for order in seed.orders],
            "items": [item.to_values() for item in seed.items],
            "faults": seed.faults,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def seed_from_text(text: str) -> SeedData:
    """What :func:`seed_text` wrote."""
    stored: dict[str, Any] = json.loads(text)
    return SeedData(
        users=stored.get("users", []),
        orders=[OrderRecord.from_values(values) for values in stored.get("orders", [])],
        items=[ItemRecord.from_values(values) for values in stored.get("items", [])],
        faults=stored.get("faults", []),
    )


class OrderLimitExceeded(ValueError):
    """A load would have left the store with more orders than its limit: nothing was loaded."""

    def __init__(self, held: int, limit: int) -> None:
        self.held = held
        self.limit = limit
        super().__init__(f"the load would leave {held} orders, more than the limit of {limit}")


def journal_time(when: float) -> str:
    """A Unix time as journal entries stamp their ``time``, for comparing with them."""
    return datetime.fromtimestamp(when, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utf8_length(text: str) -> int:
    """How many bytes ``text`` takes in UTF-8 (a lone surrogate counts its three)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def verdict_size(verdict: Row | None) -> int:
    """About how many bytes a contract verdict holds."""
    if not verdict:
        return 0
    errors = sum(64 + utf8_length(e["path"]) + utf8_length(e["message"]) for e in verdict.get("schema_errors", ()))
    unknown = sum(16 + utf8_length(name) for name in verdict.get("unknown_fields", ()))
    return 128 + errors + unknown


def journal_entry_size(entry: Row) -> int:
    """About how many bytes a journal entry holds, for the journal's byte budget:
    its texts in UTF-8 and the verdict stored with a cut body."""
    headers = sum(utf8_length(name) + utf8_length(value) for name, value in entry.get("headers", {}).items())
    texts = sum(utf8_length(entry.get(name) or "") for name in ("path", "query", "body", "response"))
    return 256 + headers + texts + verdict_size(entry.get("verdict"))


def forget_verdicts() -> None:
    """Drop this process's cached contract verdicts: once their journal
    entries are gone they would only hold memory."""
    # Imported here: the journal module imports the store package.
    from omnitron_mock.journal import clear_verdicts

    clear_verdicts()


# The fields of a stored item that the bulk rules decide on.
ITEM_STATE_FIELDS = ("id", "order", "status", "tracking_number")


def token_digest(token: str) -> bytes:
    """The key a store finds a token's user by."""
    # Looking tokens up by digest keeps dict probing (or an index search) from
    # leaking how much of a guessed token matched; the final check is
    # hmac.compare_digest, in user_holding_token().
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def user_holding_token(user: Row | None, token: str) -> Row | None:
    """A copy of ``user``, the one found under ``token``'s digest, when its token
    is ``token``; compared in constant time."""
    if user is None or not hmac.compare_digest(user["token"].encode(), token.encode("utf-8", "surrogatepass")):
        return None
    return dict(user)


def numbered_users(users: Iterable[Row], next_pk: int, stored_pk: Callable[[str], int | None]) -> Iterator[Row]:
    """Copies of seeded ``users``, each with its ``pk``. One seeded without keeps
    the pk of the user of its name (``stored_pk``), or takes ``next_pk`` and
    the numbers after it. Lazy: the store saves each user before the next
    one's ``stored_pk`` is asked."""
    for seeded in users:
        user = dict(seeded)
        if user["pk"] is None:
            previous = stored_pk(user["username"])
            pk = previous if previous is not None else next_pk
            user["pk"] = pk
            next_pk = max(next_pk, pk + 1)
        yield user


# What an order list may be sorted by: the query's value, the order's field, descending.
ORDER_SORTS: dict[str, tuple[str, bool]] = {
    "id": ("pk", False),
    "-id": ("pk", True),
    "date_placed": ("date_placed", False),
    "-date_placed": ("date_placed", True),
    "modified_date": ("modified_date", False),
    "-modified_date": ("modified_date", True),
}
_COMPARISONS: dict[str, Callable[[str, str], bool]] = {
    "gte": lambda stored, bound: stored >= bound,
    "gt": lambda stored, bound: stored > bound,
    "lte": lambda stored, bound: stored <= bound,
    "lt": lambda stored, bound: stored < bound,
}


@dataclass(frozen=True)
class OrderQuery:
    """The filters and the sort of an order list; None filters nothing.

    ``modified`` holds (comparison, stamp) pairs, a comparison being one of
    ``gte``, ``gt``, ``lte``, ``lt``; ``sort`` a key of :data:`ORDER_SORTS`.
    """

    is_send: bool | None = None
    status: str | None = None
    cancel_status: str | None = None
    number: str | None = None
    pks: frozenset[int] | None = None
    modified: tuple[tuple[str, str], ...] = ()
    sort: str = "id"


@dataclass(frozen=True)
class OrderKey:
    """What ordering and the date filters read of an order."""

    pk: int
    date_placed: str
    modified_date: str


def page_of_orders(candidates: Iterable[OrderKey], query: OrderQuery, offset: int, limit: int) -> tuple[int, list[int]]:
    """(how many of ``candidates`` pass the query's date filters, the pks of
    one page of them in the query's order; ties by ascending pk)."""
    bounds = [(_COMPARISONS[name], instant_key(stamp)) for name, stamp in query.modified]
    kept = [key for key in candidates if all(passes(instant_key(key.modified_date), bound) for passes, bound in bounds)]
    field_name, descending = ORDER_SORTS.get(query.sort, ORDER_SORTS["id"])
    if field_name == "pk":
        kept.sort(key=lambda key: key.pk, reverse=descending)
    else:
        # Two stable sorts: ties keep ascending pks whichever way the dates run.
        kept.sort(key=lambda key: key.pk)
        kept.sort(key=lambda key: instant_key(getattr(key, field_name)), reverse=descending)
    return len(kept), [key.pk for key in kept[offset : offset + limit]]


# The content type Omnitron's mappings name their object by (the order item
# model's id there is not public: a fixed number, documented as a choice).
ORDER_ITEM_CONTENT_TYPE = 38


def mapping_row(pk: int, item_id: int, code: str, update_stock: bool) -> Row:
    """A stored mapping: the create_mapping answer plus ``update_stock``."""
    return {
        "pk": pk,
        "content_type": ORDER_ITEM_CONTENT_TYPE,
        "object_id": item_id,
        "integration_type": "external_company",
        "code": code,
        "update_stock": update_stock,
    }


class UpdatedItems(list[str]):
    """Updated items as JSON texts in wire form, with whether any field took a new value."""

    def __init__(self, texts: Iterable[str], changed: bool) -> None:
        super().__init__(texts)
        self.changed = changed


class StoreTransaction(Protocol):
    """Reads and writes inside one exclusive transaction."""

    def get_items(self, ids: Iterable[int]) -> dict[int, Row]:
        """What the bulk rules read of the stored items among ``ids``, by id:
        at least :data:`ITEM_STATE_FIELDS` (unknown ids are left out)."""
        ...

    def update_items(self, changes: list[tuple[int, Row]]) -> UpdatedItems:
        """Apply field changes to existing items; return each updated item
        as JSON text in wire form, in the order of ``changes``, and whether
        any of them changed (a bulk sent twice changes nothing the second time)."""
        ...

    def get_item(self, item_id: int) -> Row | None:
        """One whole item in wire form, as this transaction sees it."""
        ...

    def get_order(self, order_id: int) -> Row | None:
        """:meth:`Store.get_order`, as this transaction sees it."""
        ...

    def update_order(self, order_id: int, changes: Row) -> None:
        """Apply field changes to an existing order."""
        ...

    def touch_order(self, order_id: int) -> None:
        """Move an existing order's ``modified_date`` on (:func:`~omnitron_mock.clock.moved_on`):
        it or one of its items changed."""
        ...

    def mapping_of(self, item_id: int) -> Row | None:
        """The ERP mapping of an item, when it has one."""
        ...

    def add_mapping(self, item_id: int, code: str, update_stock: bool) -> Row:
        """Map an existing, unmapped item to an ERP code; the mapping, numbered."""
        ...

    def append_request(self, entry: Row) -> None:
        """:meth:`Store.append_request` inside this transaction: the entry
        commits with the changes it reports."""
        ...


class Store(Protocol):
    """Storage of one emulator; implementations are safe across threads."""

    def transaction(self) -> AbstractContextManager[StoreTransaction]:
        """An exclusive read-write transaction: what it writes commits when the
        block ends, and nothing does when the block raises."""
        ...

    def get_item(self, item_id: int) -> Row | None: ...

    def get_order(self, order_id: int) -> Row | None:
        """The order with ``orderitem_set``: its item ids, ascending."""
        ...

    def get_order_by_number(self, number: str) -> Row | None:
        """The order whose ``number`` is ``number`` (the lowest pk when several
        share it), as :meth:`get_order` gives it."""
        ...

    def list_items(self, order_id: int | None, offset: int, limit: int) -> tuple[int, list[Row]]:
        """(total count, one page of items by ascending id), optionally of one order."""
        ...

    def list_orders(self, query: OrderQuery, offset: int, limit: int) -> tuple[int, list[Row]]:
        """(how many orders pass ``query``, one page of them as :meth:`get_order` gives them)."""
        ...

    def mappings(self, item_id: int | None = None) -> list[Row]:
        """ERP mappings by ascending pk (of one item when given), each with its
        ``update_stock``: whether it released the item's stock reservation."""
        ...

    def users(self) -> list[Row]:
        """Every user, by username."""
        ...

    def user_by_username(self, username: str) -> Row | None: ...

    def user_by_token(self, token: str) -> Row | None:
        """The user owning ``token``; implementations compare in constant time."""
        ...

    def initialize(self, seed: SeedData) -> None:
        """Remember ``seed`` as what :meth:`reset` restores, and load it unless
        the store already holds state (a database from an earlier run keeps
        its orders, items and journal)."""
        ...

    def reset(self) -> None:
        """Restore the seed given to :meth:`initialize`; empty the journal and the mappings."""
        ...

    def load(self, seed: SeedData, replace: bool, order_limit: int | None = None) -> None:
        """Load rows in one step. ``replace`` empties orders, items and mappings first,
        and users too when ``seed`` brings users of its own. Users without a
        ``pk`` get the next free one (or keep theirs when they replace a user).
        Raise :class:`OrderLimitExceeded`, loading nothing, when the store would
        then hold more than ``order_limit`` orders (checked in the same step)."""
        ...

    def replace_users(self, users: list[Row]) -> None:
        """Make the stored users exactly ``users`` (numbered as :meth:`load`
        numbers them); orders, items and the rest stay."""
        ...

    def reset_unless_used_since(self, since: str) -> bool:
        """Reset as :meth:`reset` does, unless the journal's newest entry is from
        ``since`` (a :func:`journal_time`) or later; whether it reset. Checked
        and reset in one write transaction: a request that wrote first is seen."""
        ...

    def snapshot(self, max_orders: int | None = None) -> dict[str, list[Row]]:
        """``{"users": [...], "orders": [...]}``, each order with its ``items``;
        only the first ``max_orders`` orders by id when given."""
        ...

    def append_request(self, entry: Row) -> None:
        """Add a journal entry; the store numbers it (``entry["id"]``)."""
        ...

    def requests(self) -> list[Row]:
        """Journal entries, oldest first."""
        ...

    def recent_requests(self, limit: int, before_id: int | None = None) -> list[Row]:
        """The newest journal entries first, at most ``limit`` of them; only
        those numbered below ``before_id`` when given (the next page of a
        listing). The same entries as :meth:`requests`, without reading them all."""
        ...

    def clear_requests(self) -> None: ...

    def journal_size(self) -> int:
        """The bytes the journal holds, as its byte budget counts them: kept
        as entries come and go, exact across the processes sharing a store.
        The memory store counts :func:`journal_entry_size`; the SQLite store
        the UTF-8 bytes of each stored entry, entries past the count limit
        not yet trimmed included."""
        ...

    def journal_count(self) -> int:
        """How many entries a read of the journal returns now (at most its count limit)."""
        ...

    def faults(self) -> list[Row]:
        """Active faults, in the order they apply."""
        ...

    def update_faults(self, change: Callable[[list[Row]], T]) -> T:
        """Run ``change`` on the fault list and save what it leaves, atomically
        (several processes may count uses of one fault)."""
        ...

    def strict_mode(self) -> bool | None:
        """Strict status rules as last switched by any process; None when
        never switched (the emulator's settings decide)."""
        ...

    def set_strict_mode(self, strict: bool) -> None:
        """Switch strict status rules for every process sharing this store."""
        ...

    def fault_clears(self) -> int:
        """How often faults were cleared or deleted (or the store reset), by any process."""
        ...

    def count_fault_clear(self) -> None:
        """Add one to :meth:`fault_clears`."""
        ...

    def iter_items(self) -> Iterator[Row]:
        """Every item by ascending id (for state dumps and checks)."""
        ...
