"""The PostgreSQL store: state in one database, shared by processes and hosts.

Every write transaction first takes one transaction-level advisory lock, so
writers run one at a time as they do on SQLite: a bulk (read, decide, write)
and its journal entry commit together, fault counters stay exact whichever
replica counts, and a transaction that raises (or a process killed mid-way)
leaves nothing. Reads take no lock; those that read several statements run
in one REPEATABLE READ snapshot.

Rows are JSON documents kept as ``text``, not ``jsonb``: jsonb reorders an
object's keys (and drops duplicates), where the wire form keeps the
emulator's field order byte for byte. The order list's filters live in
indexed columns beside each order's document, as in the SQLite store.

Connections come from a psycopg pool, one per process: a forked worker
opens its own (an inherited connection shares its parent's socket).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from omnitron_mock.clock import instant_key, moved_on
from omnitron_mock.jsonio import dumps
from omnitron_mock.store.base import (
    DEFAULT_JOURNAL_BYTES,
    ORDER_SORTS,
    OrderLimitExceeded,
    OrderQuery,
    Row,
    SeedData,
    T,
    UpdatedItems,
    forget_verdicts,
    mapping_row,
    numbered_users,
    seed_from_text,
    seed_text,
    token_digest,
    user_holding_token,
)
from omnitron_mock.store.tenant_space import TenantEntry

# Imported by the application only for a postgresql:// database: the driver
# is the optional extra "postgres".
try:
    import psycopg
    from psycopg import sql
    from psycopg_pool import ConnectionPool
except ImportError as missing:  # pragma: no cover - the test extra installs both
    raise ImportError(
        "the PostgreSQL store needs psycopg 3 and psycopg-pool: pip install 'omnitron-mock[postgres]'"
    ) from missing

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- username, number, status and cancel_status hold their values' JSON texts
-- (see _text_key). PostgreSQL's JSON functions are never used on the
-- documents: they refuse a string holding an escaped NUL.
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, pk BIGINT NOT NULL, token_digest BYTEA NOT NULL UNIQUE, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    pk BIGINT PRIMARY KEY, data TEXT NOT NULL, number TEXT, is_send BOOLEAN, status TEXT,
    placed_key TEXT NOT NULL, modified_key TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS orders_by_number ON orders (number, pk);
CREATE INDEX IF NOT EXISTS orders_by_state ON orders (is_send, status, pk);
CREATE INDEX IF NOT EXISTS orders_by_status ON orders (status, pk);
CREATE INDEX IF NOT EXISTS orders_by_placed ON orders (placed_key, pk);
CREATE INDEX IF NOT EXISTS orders_by_placed_descending ON orders (placed_key DESC, pk);
CREATE INDEX IF NOT EXISTS orders_by_modified ON orders (modified_key, pk);
CREATE INDEX IF NOT EXISTS orders_by_modified_descending ON orders (modified_key DESC, pk);
CREATE TABLE IF NOT EXISTS items (
    id BIGINT PRIMARY KEY, order_id BIGINT NOT NULL, cancel_status TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS items_by_order ON items (order_id, id);
CREATE TABLE IF NOT EXISTS journal (id BIGINT PRIMARY KEY, data TEXT NOT NULL, bytes BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS mappings (pk BIGINT PRIMARY KEY, item_id BIGINT NOT NULL UNIQUE, data TEXT NOT NULL);
"""
# Advisory lock keys (any two fixed numbers): one for schema creation and
# upgrades on start (replicas starting together), one every writer holds.
_SCHEMA_LOCK = 0x0_17_5C_4E
_WRITE_LOCK = 0x0_17_7E_17
# Connections per process: a request holds one at a time (a write its one).
POOL_MIN = 1
POOL_MAX = 16
POOL_TIMEOUT_SECONDS = 30.0
_JOURNAL_BYTES_KEY = "journal_bytes"
_JOURNAL_ID_KEY = "journal_last_id"
# Moved by every write of users, faults or strict mode (see PostgresStore._settings).
_SETTINGS_GENERATION_KEY = "settings_generation"
# The journal is cut back to its count limit every this many entries (reads never return more).
_TRIM_EVERY = 64
_SORT_COLUMNS = {"pk": "pk", "date_placed": "placed_key", "modified_date": "modified_key"}
_COMPARISON_OPERATORS = {"gte": ">=", "gt": ">", "lte": "<=", "lt": "<"}
_INT64 = range(-(2**63), 2**63)
_MAX_ID = 2**63 - 1


def _lock_key(schema: str) -> int:
    """A tenant schema's write lock: a signed 64-bit number from its name."""
    return int.from_bytes(hashlib.sha256(schema.encode("utf-8")).digest()[:8], "big", signed=True)


def _storable(key: int | None) -> bool:
    """PostgreSQL's BIGINT is 64-bit: a larger id cannot be stored, so it names nothing."""
    return key is None or key in _INT64


def _utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _text_key(value: object) -> str:
    """A text column's value for a string of a document: its JSON text. A raw
    string may hold NUL or a lone surrogate, which PostgreSQL's text cannot;
    the JSON text escapes both, and equal strings give equal texts."""
    return dumps(value)


def _order_columns(order: Row) -> tuple[object, ...]:
    return (
        _text_key(order["number"]),
        order["is_send"],
        _text_key(order["status"]),
        instant_key(order["date_placed"]),
        instant_key(order["modified_date"]),
    )


class SchemaTooNew(ValueError):
    """The database was set up by a newer emulator than this one."""


@dataclass(frozen=True)
class _Settings:
    """Users, faults and strict mode as one snapshot held them, and its generation."""

    generation: str | None
    users_by_token_digest: dict[bytes, Row]
    faults_json: str
    strict: bool | None


class _PostgresTransaction:
    """A bulk's reads and writes on the connection holding the write lock."""

    def __init__(self, store: PostgresStore, connection: psycopg.Connection[Any]) -> None:
        self._store = store
        self._connection = connection
        # Item texts as this transaction last read or wrote them: under the
        # write lock nobody else changes them, so a bulk reads its items once.
        self._item_texts: dict[int, str] = {}

    def _items_text(self, wanted: list[int]) -> dict[int, str]:
        """The stored texts of the ``wanted`` items that exist."""
        if all(item_id in self._item_texts for item_id in wanted):
            return {item_id: self._item_texts[item_id] for item_id in wanted}
        found: dict[int, str] = dict(
            self._connection.execute("SELECT id, data FROM items WHERE id = ANY(%s)", (wanted,)).fetchall()
        )
        self._item_texts.update(found)
        return found

    def append_request(self, entry: Row) -> None:
        self._store._insert_request(self._connection, entry)

    def get_items(self, ids: Iterable[int]) -> dict[int, Row]:
        wanted = sorted({i for i in ids if _storable(i)})
        rows = self._items_text(wanted).items()
        return {
            item_id: {"id": item_id, "order": item["order"], "status": item["status"], "tracking_number": tracking}
            for item_id, data in rows
            for item in [json.loads(data)]
            for tracking in [item["tracking_number"]]
        }

    def update_items(self, changes: list[tuple[int, Row]]) -> UpdatedItems:
        wanted = sorted({item_id for item_id, _ in changes if _storable(item_id)})
        before = self._items_text(wanted)
        rows = {item_id: json.loads(text) for item_id, text in before.items()}
        for item_id, fields in changes:
            # Exactly the values given: a null stays a null, an object replaces the old one.
            rows[item_id].update(fields)
        after = {item_id: dumps(row) for item_id, row in rows.items()}
        changed = [
            (text, _text_key(rows[item_id]["cancel_status"]), item_id)
            for item_id, text in after.items()
            if text != before[item_id]
        ]
        if changed:
            with self._connection.cursor() as cursor:
                cursor.executemany("UPDATE items SET data = %s, cancel_status = %s WHERE id = %s", changed)
            self._item_texts.update(after)
        return UpdatedItems((after[item_id] for item_id, _ in changes), changed=bool(changed))

    def get_item(self, item_id: int) -> Row | None:
        return self._store._get_item(self._connection, item_id)

    def get_order(self, order_id: int) -> Row | None:
        return self._store._get_order(self._connection, order_id)

    def update_order(self, order_id: int, changes: Row) -> None:
        found = self._connection.execute("SELECT data FROM orders WHERE pk = %s", (order_id,)).fetchone()
        if found is not None:
            self._write_order(order_id, {**json.loads(found[0]), **changes})

    def touch_order(self, order_id: int) -> None:
        found = self._connection.execute("SELECT data FROM orders WHERE pk = %s", (order_id,)).fetchone()
        if found is not None:
            stored = json.loads(found[0])
            # Read once, as update_order would read it again: one round trip less under the lock.
            self._write_order(order_id, {**stored, "modified_date": moved_on(stored["modified_date"])})

    def _write_order(self, order_id: int, order: Row) -> None:
        self._connection.execute(
            "UPDATE orders SET data = %s, number = %s, is_send = %s, status = %s, placed_key = %s, modified_key = %s"
            " WHERE pk = %s",
            (dumps(order), *_order_columns(order), order_id),
        )

    def mapping_of(self, item_id: int) -> Row | None:
        if not _storable(item_id):
            return None
        found = self._connection.execute("SELECT data FROM mappings WHERE item_id = %s", (item_id,)).fetchone()
        return json.loads(found[0]) if found else None

    def add_mapping(self, item_id: int, code: str, update_stock: bool) -> Row:
        [pk] = cast(tuple[int], self._connection.execute("SELECT COALESCE(MAX(pk), 0) + 1 FROM mappings").fetchone())
        mapping = mapping_row(pk, item_id, code, update_stock)
        self._connection.execute(
            "INSERT INTO mappings (pk, item_id, data) VALUES (%s, %s, %s)", (pk, item_id, dumps(mapping))
        )
        return mapping


class PostgresStore:
    """State in a PostgreSQL database; safe across threads, processes and hosts."""

    def __init__(
        self,
        url: str,
        journal_limit: int = 10_000,
        journal_bytes: int = DEFAULT_JOURNAL_BYTES,
        *,
        schema: str | None = None,
        pools_of: PostgresStore | None = None,
    ) -> None:
        """Connect to ``url`` (``postgresql://…``) and create or upgrade the
        schema; raise :class:`psycopg.OperationalError` when the server does
        not answer, :class:`SchemaTooNew` for a database of a newer emulator.

        ``schema`` keeps this store's tables in a PostgreSQL schema of that
        name (a tenant's) instead of the connection's default; ``pools_of``
        shares another store's connections (one pool per process for all tenants).
        """
        self.url = url
        self._journal_limit = journal_limit
        self._journal_bytes = journal_bytes
        self._schema = schema
        self._search_path = (
            None if schema is None else sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema))
        )
        # A tenant's writers lock its schema alone: tenants do not wait for each other.
        self._write_lock_key = _WRITE_LOCK if schema is None else _lock_key(schema)
        self._local = threading.local()
        self._pool_guard: threading.Lock = pools_of._pool_guard if pools_of else threading.Lock()
        self._pools: dict[int, ConnectionPool[Any]] = pools_of._pools if pools_of else {}
        self._owns_pools = pools_of is None
        self._settings_cache: _Settings | None = None
        # Asked outside any transaction, where no tenant's search_path is set: a tenant's schema is named.
        self._generation_query: sql.SQL | sql.Composed = (
            sql.SQL("SELECT value FROM meta WHERE key = %s")
            if schema is None
            else sql.SQL("SELECT value FROM {}.meta WHERE key = %s").format(sql.Identifier(schema))
        )
        with psycopg.connect(url, autocommit=True) as connection:
            self._create_schema(connection)

    def _create_schema(self, connection: psycopg.Connection[Any]) -> None:
        # Under a lock: replicas starting together would race on CREATE TABLE IF NOT EXISTS.
        with connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            if self._schema is not None:
                connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self._schema)))
                connection.execute(cast(sql.Composed, self._search_path))
            connection.execute(_SCHEMA)
            found = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            stored = int(found[0]) if found else 0
            if stored > SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"the database holds schema version {stored}, newer than this emulator's {SCHEMA_VERSION}: "
                    "upgrade the emulator, or give it another database"
                )
            # Upgrades from one version to the next go here, in order.
            connection.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', %s)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(SCHEMA_VERSION),),
            )

    # -- connections and transactions -----------------------------------------------------

    def _pool(self) -> ConnectionPool[Any]:
        pid = os.getpid()
        pool = self._pools.get(pid)
        if pool is not None:
            return pool
        with self._pool_guard:
            # A forked child leaves its parent's pool alone: closing those
            # connections would end the parent's sessions on the shared sockets.
            pool = self._pools.get(pid)
            if pool is None:
                pool = ConnectionPool(
                    self.url,
                    min_size=POOL_MIN,
                    max_size=POOL_MAX,
                    timeout=POOL_TIMEOUT_SECONDS,
                    kwargs={"autocommit": True},
                    # A server restarted (or a connection dropped) costs a retry, not a 500.
                    check=ConnectionPool.check_connection,
                    open=True,
                )
                self._pools[pid] = pool
        return pool

    def close(self) -> None:
        """Close this process's connections (a tenant's store leaves the shared ones to the root's)."""
        if not self._owns_pools:
            return
        pool = self._pools.pop(os.getpid(), None)
        if pool is not None:
            pool.close()

    @contextmanager
    def _write(self) -> Iterator[psycopg.Connection[Any]]:
        """A write transaction holding the write lock; one inside another (a
        fault change that writes) runs as a savepoint of the outer one."""
        current = getattr(self._local, "connection", None)
        if current is not None:
            with current.transaction():
                yield current
            return
        with self._pool().connection() as connection:
            self._local.connection = connection
            try:
                with connection.transaction():
                    if self._search_path is not None:
                        connection.execute(self._search_path)
                    connection.execute("SELECT pg_advisory_xact_lock(%s)", (self._write_lock_key,))
                    yield connection
            finally:
                self._local.connection = None

    @contextmanager
    def _read(self) -> Iterator[psycopg.Connection[Any]]:
        """One snapshot for several SELECTs; inside a write, that write's view."""
        current = getattr(self._local, "connection", None)
        if current is not None:
            yield current
            return
        with self._pool().connection() as connection, connection.transaction():
            connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            if self._search_path is not None:
                connection.execute(self._search_path)
            yield connection

    @contextmanager
    def transaction(self) -> Iterator[_PostgresTransaction]:
        with self._write() as connection:
            yield _PostgresTransaction(self, connection)

    def _meta(self, connection: psycopg.Connection[Any], key: str) -> str | None:
        found = connection.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
        return None if found is None else cast(str, found[0])

    @staticmethod
    def _set_meta(connection: psycopg.Connection[Any], key: str, value: str) -> None:
        connection.execute(
            "INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- reads ------------------------------------------------------------------------------

    def get_item(self, item_id: int) -> Row | None:
        with self._read() as connection:
            return self._get_item(connection, item_id)

    @staticmethod
    def _get_item(connection: psycopg.Connection[Any], item_id: int) -> Row | None:
        if not _storable(item_id):
            return None
        found = connection.execute("SELECT data FROM items WHERE id = %s", (item_id,)).fetchone()
        return json.loads(found[0]) if found else None

    def get_order(self, order_id: int) -> Row | None:
        with self._read() as connection:
            return self._get_order(connection, order_id)

    @staticmethod
    def _get_order(connection: psycopg.Connection[Any], order_id: int) -> Row | None:
        if not _storable(order_id):
            return None
        found = connection.execute("SELECT data FROM orders WHERE pk = %s", (order_id,)).fetchone()
        if found is None:
            return None
        ids = [
            row[0] for row in connection.execute("SELECT id FROM items WHERE order_id = %s ORDER BY id", (order_id,))
        ]
        return {**json.loads(found[0]), "orderitem_set": ids}

    def get_order_by_number(self, number: str) -> Row | None:
        with self._read() as connection:
            found = connection.execute(
                "SELECT pk FROM orders WHERE number = %s ORDER BY pk LIMIT 1", (_text_key(number),)
            ).fetchone()
            return None if found is None else self._get_order(connection, found[0])

    def list_orders(self, query: OrderQuery, offset: int, limit: int) -> tuple[int, list[Row]]:
        conditions: list[str] = []
        params: list[object] = []
        if query.is_send is not None:
            conditions.append("is_send = %s")
            params.append(query.is_send)
        for name in ("status", "number"):
            value = getattr(query, name)
            if value is not None:
                conditions.append(f"{name} = %s")
                params.append(_text_key(value))
        if query.cancel_status is not None:
            conditions.append("EXISTS (SELECT 1 FROM items WHERE order_id = orders.pk AND cancel_status = %s)")
            params.append(_text_key(query.cancel_status))
        if query.pks is not None:
            wanted = [pk for pk in query.pks if _storable(pk)]
            if not wanted:
                return 0, []
            conditions.append("pk = ANY(%s)")
            params.append(wanted)
        for comparison, stamp in query.modified:
            conditions.append(f"modified_key {_COMPARISON_OPERATORS[comparison]} %s")
            params.append(instant_key(stamp))
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        field_name, descending = ORDER_SORTS.get(query.sort, ORDER_SORTS["id"])
        column = _SORT_COLUMNS[field_name]
        direction = "DESC" if descending else ""
        order_by = f"pk {direction}" if column == "pk" else f"{column} {direction}, pk"
        with self._read() as connection:
            [count] = cast(tuple[int], connection.execute(f"SELECT COUNT(*) FROM orders {where}", params).fetchone())
            pks = [
                pk
                for (pk,) in connection.execute(
                    f"SELECT pk FROM orders {where} ORDER BY {order_by} LIMIT %s OFFSET %s",
                    (*params, min(limit, _MAX_ID), min(offset, _MAX_ID)),
                )
            ]
            return count, [cast(Row, self._get_order(connection, pk)) for pk in pks]

    def list_items(self, order_id: int | None, offset: int, limit: int) -> tuple[int, list[Row]]:
        if not _storable(order_id):
            return 0, []
        where, params = ("WHERE order_id = %s", (order_id,)) if order_id is not None else ("", ())
        with self._read() as connection:
            [count] = cast(tuple[int], connection.execute(f"SELECT COUNT(*) FROM items {where}", params).fetchone())
            rows = connection.execute(
                f"SELECT data FROM items {where} ORDER BY id LIMIT %s OFFSET %s",
                (*params, min(limit, _MAX_ID), min(offset, _MAX_ID)),
            ).fetchall()
        return count, [json.loads(row[0]) for row in rows]

    def iter_items(self) -> Iterator[Row]:
        with self._read() as connection:
            rows = connection.execute("SELECT data FROM items ORDER BY id").fetchall()
        return (json.loads(row[0]) for row in rows)

    def mappings(self, item_id: int | None = None) -> list[Row]:
        if not _storable(item_id):
            return []
        where, params = ("", ()) if item_id is None else ("WHERE item_id = %s", (item_id,))
        with self._read() as connection:
            rows = connection.execute(f"SELECT data FROM mappings {where} ORDER BY pk", params).fetchall()
        return [json.loads(data) for (data,) in rows]

    def users(self) -> list[Row]:
        with self._read() as connection:
            return self._users(connection)

    @staticmethod
    def _users(connection: psycopg.Connection[Any]) -> list[Row]:
        # Sorted here, by code point as the other stores sort: the column holds
        # JSON texts, and the server's collation follows its locale.
        users = [json.loads(data) for (data,) in connection.execute("SELECT data FROM users")]
        return sorted(users, key=lambda user: cast(str, user["username"]))

    def user_by_username(self, username: str) -> Row | None:
        with self._read() as connection:
            found = connection.execute("SELECT data FROM users WHERE username = %s", (_text_key(username),)).fetchone()
        return json.loads(found[0]) if found else None

    def user_by_token(self, token: str) -> Row | None:
        return user_holding_token(self._settings().users_by_token_digest.get(token_digest(token)), token)

    def snapshot(self, max_orders: int | None = None) -> dict[str, list[Row]]:
        with self._read() as connection:
            users = self._users(connection)
            orders = [
                json.loads(data)
                for (data,) in connection.execute("SELECT data FROM orders ORDER BY pk LIMIT %s", (max_orders,))
            ]
            items: dict[int, list[Row]] = {}
            if orders:
                span = (orders[0]["pk"], orders[-1]["pk"])
                query = "SELECT order_id, data FROM items WHERE order_id BETWEEN %s AND %s ORDER BY id"
                for order_id, data in connection.execute(query, span):
                    items.setdefault(order_id, []).append(json.loads(data))
        return {"users": users, "orders": [{**order, "items": items.get(order["pk"], [])} for order in orders]}

    # -- writes -----------------------------------------------------------------------------

    def initialize(self, seed: SeedData) -> None:
        with self._write() as connection:
            self._set_meta(connection, "startup_seed", seed_text(seed))
            if self._meta(connection, "seeded") is None:
                self._restore(connection, seed)
                self._set_meta(connection, "seeded", "1")
            self._settings_changed(connection)

    def reset(self) -> None:
        with self._write() as connection:
            self._reset(connection)

    def replace_users(self, users: list[Row]) -> None:
        with self._write() as connection:
            connection.execute("DELETE FROM users")
            self._load(connection, SeedData(users=users), replace=False)
            self._settings_changed(connection)

    def reset_unless_used_since(self, since: str) -> bool:
        with self._write() as connection:
            newest = connection.execute("SELECT data FROM journal ORDER BY id DESC LIMIT 1").fetchone()
            if newest is not None and json.loads(newest[0])["time"] >= since:
                return False
            self._reset(connection)
            return True

    def _reset(self, connection: psycopg.Connection[Any]) -> None:
        stored = self._meta(connection, "startup_seed")
        self._restore(connection, seed_from_text(stored) if stored else SeedData())
        self._settings_changed(connection)

    def _restore(self, connection: psycopg.Connection[Any], seed: SeedData) -> None:
        self._load(connection, seed, replace=True)
        self._empty_journal(connection)
        self._set_meta(connection, "faults", dumps(seed.faults))

    def load(self, seed: SeedData, replace: bool, order_limit: int | None = None) -> None:
        with self._write() as connection:
            self._load(connection, seed, replace)
            self._settings_changed(connection)
            if order_limit is not None:
                [held] = cast(tuple[int], connection.execute("SELECT COUNT(*) FROM orders").fetchone())
                if held > order_limit:
                    raise OrderLimitExceeded(held, order_limit)

    def _load(self, connection: psycopg.Connection[Any], seed: SeedData, replace: bool) -> None:
        if replace:
            connection.execute("DELETE FROM orders")
            connection.execute("DELETE FROM items")
            connection.execute("DELETE FROM mappings")
            if seed.users:
                connection.execute("DELETE FROM users")
        [next_pk] = cast(tuple[int], connection.execute("SELECT COALESCE(MAX(pk), 0) + 1 FROM users").fetchone())

        def stored_pk(username: str) -> int | None:
            found = connection.execute("SELECT pk FROM users WHERE username = %s", (_text_key(username),)).fetchone()
            return None if found is None else cast(int, found[0])

        for user in numbered_users(seed.users, next_pk, stored_pk):
            digest = token_digest(user["token"])
            # A user replaces the one of its name and the one holding its token (as SQLite's INSERT OR REPLACE).
            connection.execute(
                "DELETE FROM users WHERE username = %s OR token_digest = %s", (_text_key(user["username"]), digest)
            )
            connection.execute(
                "INSERT INTO users (username, pk, token_digest, data) VALUES (%s, %s, %s, %s)",
                (_text_key(user["username"]), user["pk"], digest, dumps(user)),
            )
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO orders (pk, data, number, is_send, status, placed_key, modified_key)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (pk) DO UPDATE SET data = excluded.data,"
                " number = excluded.number, is_send = excluded.is_send, status = excluded.status,"
                " placed_key = excluded.placed_key, modified_key = excluded.modified_key",
                [(order.pk, dumps(wire), *_order_columns(wire)) for order in seed.orders for wire in [order.to_wire()]],
            )
            cursor.executemany(
                "INSERT INTO items (id, order_id, cancel_status, data) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET order_id = excluded.order_id,"
                " cancel_status = excluded.cancel_status, data = excluded.data",
                [(item.id, item.order, _text_key(item.cancel_status), dumps(item.to_wire())) for item in seed.items],
            )

    # -- faults and settings ----------------------------------------------------------------

    def faults(self) -> list[Row]:
        return cast(list[Row], json.loads(self._settings().faults_json))

    def update_faults(self, change: Callable[[list[Row]], T]) -> T:
        # Under the write lock: two replicas counting one fault's uses never both see the same count.
        with self._write() as connection:
            faults = json.loads(self._meta(connection, "faults") or "[]")
            result = change(faults)
            self._set_meta(connection, "faults", dumps(faults))
            self._settings_changed(connection)
        return result

    def strict_mode(self) -> bool | None:
        return self._settings().strict

    def set_strict_mode(self, strict: bool) -> None:
        with self._write() as connection:
            self._set_meta(connection, "strict", "1" if strict else "0")
            self._settings_changed(connection)

    def fault_clears(self) -> int:
        with self._read() as connection:
            return int(self._meta(connection, "fault_clears") or 0)

    def count_fault_clear(self) -> None:
        with self._write() as connection:
            connection.execute(
                "INSERT INTO meta (key, value) VALUES ('fault_clears', '1')"
                " ON CONFLICT (key) DO UPDATE SET value = (meta.value::bigint + 1)::text"
            )

    # -- settings cache: users, faults and strict mode ----------------------------------------
    # Every request reads them (the faults, then the token's user, then the
    # strict mode) and they rarely change: this store keeps the last ones read
    # and asks only whether some process changed them since, in one statement
    # on the generation every such write sets in its own transaction (the
    # SQLite store's shared counter, kept where every replica on every host
    # sees it). One store object reads one set of tables: a cache per store.

    @contextmanager
    def _statement(self) -> Iterator[psycopg.Connection[Any]]:
        """A pool connection for one statement outside any write: a statement is
        its own snapshot, and a read transaction around it costs three round
        trips more (BEGIN, its isolation level, COMMIT)."""
        with self._pool().connection() as connection:
            yield connection

    def _settings(self) -> _Settings:
        """Users, faults and strict mode, read again only after a change. Inside
        a write, read from the write's view and not kept: it may never commit."""
        in_write = getattr(self._local, "connection", None) is not None
        if not in_write:
            with self._statement() as connection:
                found = connection.execute(self._generation_query, (_SETTINGS_GENERATION_KEY,)).fetchone()
            cached = self._settings_cache
            if found is not None and cached is not None and cached.generation == found[0]:
                return cached
        with self._read() as connection:
            users = {
                bytes(digest): json.loads(data)
                for digest, data in connection.execute("SELECT token_digest, data FROM users")
            }
            meta: dict[str, str] = dict(
                connection.execute(
                    "SELECT key, value FROM meta WHERE key IN ('faults', 'strict', %s)", (_SETTINGS_GENERATION_KEY,)
                ).fetchall()
            )
        strict = None if "strict" not in meta else meta["strict"] == "1"
        # Versioned by the generation this snapshot read: a change committed
        # since then shows as another generation at the next call.
        fresh = _Settings(meta.get(_SETTINGS_GENERATION_KEY), users, meta.get("faults", "[]"), strict)
        if not in_write and fresh.generation is not None:
            self._settings_cache = fresh
        return fresh

    def _settings_changed(self, connection: psycopg.Connection[Any]) -> None:
        """Mark users, faults or strict mode as changed, in the writing
        transaction: every process's cache reads them again once it commits.
        A random value, never a count: a database emptied and set up again
        (by hand, say) starts no count that a stale cache could match."""
        self._set_meta(connection, _SETTINGS_GENERATION_KEY, secrets.token_hex(16))

    # -- journal ----------------------------------------------------------------------------

    def append_request(self, entry: Row) -> None:
        data = dumps(entry)
        with self._write() as connection:
            self._insert_request(connection, entry, data)

    def _insert_request(self, connection: psycopg.Connection[Any], entry: Row, data: str | None = None) -> None:
        data = data or dumps(entry)
        size = _utf8_bytes(data)
        number, total = self._add_journal_row(connection, data, size)
        if number % _TRIM_EVERY == 0:
            total -= self._delete_journal_up_to(connection, number - self._journal_limit)
        if total > self._journal_bytes:
            self._trim_to_budget(connection, number, total - self._journal_bytes)
        entry["id"] = number

    @staticmethod
    def _add_journal_row(connection: psycopg.Connection[Any], data: str, size: int) -> tuple[int, int]:
        """Number and insert an entry, count its bytes; (its number, the journal's
        bytes now). One statement: every round trip here is one every writer waits."""
        # Numbered from a counter in meta, under the write lock: no gaps from
        # rolled-back transactions (a sequence would leave them), and no
        # number used again after the journal is emptied.
        found = connection.execute(
            "WITH numbered AS ("
            "  INSERT INTO meta (key, value) VALUES (%(id_key)s, '1')"
            "  ON CONFLICT (key) DO UPDATE SET value = (meta.value::bigint + 1)::text RETURNING value::bigint AS id),"
            " added AS ("
            "  INSERT INTO journal (id, data, bytes) SELECT id, %(data)s, %(size)s FROM numbered RETURNING id),"
            " counted AS ("
            "  INSERT INTO meta (key, value) VALUES (%(bytes_key)s, %(size)s::text)"
            "  ON CONFLICT (key) DO UPDATE SET value = (meta.value::bigint + %(size)s)::text"
            "  RETURNING value::bigint AS total)"
            " SELECT added.id, counted.total FROM added, counted",
            {"id_key": _JOURNAL_ID_KEY, "bytes_key": _JOURNAL_BYTES_KEY, "data": data, "size": size},
        ).fetchone()
        number, total = cast(tuple[int, int], found)
        return number, total

    def _trim_to_budget(self, connection: psycopg.Connection[Any], newest_id: int, excess: int) -> None:
        """Drop the oldest entries until ``excess`` bytes are gone; the newest stays."""
        found = connection.execute(
            "SELECT id FROM (SELECT id, SUM(bytes) OVER (ORDER BY id) AS freed FROM journal WHERE id < %s) AS running"
            " WHERE freed >= %s ORDER BY id LIMIT 1",
            (newest_id, excess),
        ).fetchone()
        last = found[0] if found else newest_id - 1
        self._delete_journal_up_to(connection, last)

    def _delete_journal_up_to(self, connection: psycopg.Connection[Any], last_id: int) -> int:
        """Delete the entries numbered up to ``last_id``; return (and uncount) the bytes they held."""
        [freed] = cast(
            tuple[int],
            connection.execute(
                "WITH gone AS (DELETE FROM journal WHERE id <= %s RETURNING bytes)"
                " SELECT COALESCE(SUM(bytes), 0) FROM gone",
                (last_id,),
            ).fetchone(),
        )
        if freed:
            connection.execute(
                "UPDATE meta SET value = (value::bigint - %s)::text WHERE key = %s", (int(freed), _JOURNAL_BYTES_KEY)
            )
        return int(freed)

    def _empty_journal(self, connection: psycopg.Connection[Any]) -> None:
        connection.execute("DELETE FROM journal")
        self._set_meta(connection, _JOURNAL_BYTES_KEY, "0")

    def journal_size(self) -> int:
        with self._read() as connection:
            return int(self._meta(connection, _JOURNAL_BYTES_KEY) or 0)

    def journal_count(self) -> int:
        with self._read() as connection:
            # Entries go from the oldest end or all at once, so their ids run without gaps:
            # two index lookups, where COUNT(*) reads every entry (tenant mode asks on every call).
            [count] = cast(
                tuple[int], connection.execute("SELECT COALESCE(MAX(id) - MIN(id) + 1, 0) FROM journal").fetchone()
            )
            return min(count, self._journal_limit)

    def requests(self) -> list[Row]:
        with self._read() as connection:
            rows = connection.execute(
                "SELECT id, data FROM journal WHERE id > (SELECT COALESCE(MAX(id), 0) FROM journal) - %s ORDER BY id",
                (self._journal_limit,),
            ).fetchall()
        return [{**json.loads(data), "id": entry_id} for entry_id, data in rows]

    def recent_requests(self, limit: int, before_id: int | None = None) -> list[Row]:
        if limit <= 0:
            return []
        before = _MAX_ID if before_id is None else max(min(before_id, _MAX_ID), 0)
        with self._read() as connection:
            rows = connection.execute(
                "SELECT id, data FROM journal WHERE id < %s AND id > (SELECT COALESCE(MAX(id), 0) FROM journal) - %s"
                " ORDER BY id DESC LIMIT %s",
                (before, self._journal_limit, min(limit, _MAX_ID)),
            ).fetchall()
        return [{**json.loads(data), "id": entry_id} for entry_id, data in rows]

    def clear_requests(self) -> None:
        with self._write() as connection:
            self._empty_journal(connection)
        forget_verdicts()


# The register of tenants, in the connection's default schema beside the root world's tables.
_TENANTS_TABLE = """
CREATE TABLE IF NOT EXISTS tenants (
    name TEXT PRIMARY KEY, schema_name TEXT NOT NULL, last_seen DOUBLE PRECISION NOT NULL,
    expired BOOLEAN NOT NULL DEFAULT FALSE)
"""


def tenant_schema(name: str) -> str:
    """The PostgreSQL schema of a tenant: a digest of its name, since a name
    may be longer than an identifier (63 bytes) or hold what one cannot."""
    return "omnitron_tenant_" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class PostgresTenantSpace:
    """A PostgreSQL schema per tenant in the root store's database; the
    register is a table of the root's, so every replica reads the same one."""

    def __init__(self, root: PostgresStore, journal_limit: int, journal_bytes: int) -> None:
        self._root = root
        self._journal_limit = journal_limit
        self._journal_bytes = journal_bytes
        self._lock = threading.Lock()
        self._stores: dict[str, PostgresStore] = {}
        with root._pool().connection() as connection, connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            connection.execute(_TENANTS_TABLE)

    def open(self, name: str) -> PostgresStore:
        with self._lock:
            store = self._stores.get(name)
            if store is None:
                store = self._stores[name] = PostgresStore(
                    self._root.url,
                    self._journal_limit,
                    self._journal_bytes,
                    schema=tenant_schema(name),
                    pools_of=self._root,
                )
            return store

    def seen(self, name: str, when: float) -> None:
        with self._root._pool().connection() as connection:
            connection.execute(
                "INSERT INTO tenants (name, schema_name, last_seen) VALUES (%s, %s, %s) ON CONFLICT (name)"
                " DO UPDATE SET last_seen = GREATEST(tenants.last_seen, excluded.last_seen), expired = FALSE",
                (_text_key(name), tenant_schema(name), when),
            )

    def entries(self) -> list[TenantEntry]:
        with self._root._pool().connection() as connection:
            rows = connection.execute("SELECT name, last_seen, expired FROM tenants").fetchall()
        entries = (TenantEntry(json.loads(name), last_seen, expired) for name, last_seen, expired in rows)
        return sorted(entries, key=lambda entry: entry.name)

    def mark_expired(self, name: str, unseen_since: float | None = None) -> None:
        with self._root._pool().connection() as connection:
            connection.execute(
                "UPDATE tenants SET expired = TRUE WHERE name = %s AND last_seen < %s",
                (_text_key(name), math.inf if unseen_since is None else unseen_since),
            )
