"""The SQLite store: state in one file, shared by processes, kept across restarts.

WAL mode lets readers run beside the one writer. Every write is a
``BEGIN IMMEDIATE`` transaction, so a bulk (read, decide, write) holds the
database's write lock from its first read to its commit: bulks from several
processes never interleave and no update is lost. Rows are JSON documents in
wire shape, as in the memory store.

``synchronous = NORMAL`` is SQLite's setting for WAL: an operating-system
crash or power loss may lose the newest commits but never corrupts the file,
and commits wait for no fsync (only checkpoints do).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import cast

from omnitron_mock.clock import instant_key, moved_on, now_stamp
from omnitron_mock.records import OrderRecord, upgraded_order
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
from omnitron_mock.store.generation import SharedCounter
from omnitron_mock.store.posix import fcntl_module, mmap_module

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, pk INTEGER NOT NULL, token_digest BLOB NOT NULL UNIQUE, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (pk INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS items_by_order ON items (order_id, id);
CREATE INDEX IF NOT EXISTS orders_by_number ON orders (json_extract(data, '$.number'), pk);
CREATE TABLE IF NOT EXISTS journal (id INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mappings (pk INTEGER PRIMARY KEY, item_id INTEGER NOT NULL UNIQUE, data TEXT NOT NULL);
"""
# Orders stored before they held their customer, addresses and modified_date
# are rewritten once, on open; this meta key records that it happened.
_ORDER_LAYOUT_KEY = "order_layout"
_ORDER_LAYOUT = "2"
# What the order list filters and sorts by, kept in columns beside each
# order's document by every write of an order, and indexed: a page and its
# count cost about the same at any store size. Columns rather than indexes
# on json_extract(): a bulk moves its order's modified_date, and every
# expression index on the document would parse it again on each write.
_ORDER_COLUMNS = ("is_send", "status", "placed_key", "modified_key")
_ORDER_COLUMN_TYPES = {"is_send": "INTEGER", "status": "TEXT", "placed_key": "TEXT", "modified_key": "TEXT"}
_ORDER_INDEXES = """
CREATE INDEX IF NOT EXISTS orders_by_state ON orders (is_send, status, pk);
CREATE INDEX IF NOT EXISTS orders_by_is_send ON orders (is_send, pk);
CREATE INDEX IF NOT EXISTS orders_by_status ON orders (status, pk);
CREATE INDEX IF NOT EXISTS orders_by_placed ON orders (placed_key, pk);
CREATE INDEX IF NOT EXISTS orders_by_placed_descending ON orders (placed_key DESC, pk);
CREATE INDEX IF NOT EXISTS orders_by_modified ON orders (modified_key, pk);
CREATE INDEX IF NOT EXISTS orders_by_modified_descending ON orders (modified_key DESC, pk);
CREATE TABLE IF NOT EXISTS order_counts (
    is_send INTEGER NOT NULL, status TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (is_send, status));
"""
# How many orders each (is_send, status) pair holds: the waiting orders' count
# (is_send and status, the connector's poll) read from here costs the same at
# any size, where COUNT(*) walks every matching index entry. Counted again by
# every load, and moved by update_order: nothing else writes either column.
_RECOUNT_ORDERS = (
    "DELETE FROM order_counts",
    "INSERT INTO order_counts (is_send, status, n)"
    " SELECT is_send, status, COUNT(*) FROM orders WHERE is_send IS NOT NULL GROUP BY is_send, status",
)
_ORDER_COUNTS_KEY = "order_counts"
# The column an order list sorts by (ties by ascending pk: descending dates
# have an index of that order, or SQLite would sort every tie, and a
# generated seed's orders share one date).
_SORT_COLUMNS = {"pk": "pk", "date_placed": "placed_key", "modified_date": "modified_key"}
_COMPARISON_OPERATORS = {"gte": ">=", "gt": ">", "lte": "<=", "lt": "<"}
_BUSY_TIMEOUT_MS = 30_000
# Module-level so that bench/sqlite_sync.py can compare it with OFF.
_SYNCHRONOUS = "NORMAL"
# PRAGMA auto_vacuum: free pages can be given back to the file system on demand.
_INCREMENTAL = 2
# SQLite's primary result codes for a damaged file and for one that is no database.
_DAMAGED_CODES = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
# How many of quick_check's findings a refusal quotes.
_PROBLEMS_SHOWN = 3
# The journal is cut back to its limit every this many entries; reads never
# return more than the limit.
_TRIM_EVERY = 64
# The bytes of one journal row. LENGTH of a BLOB counts bytes (of TEXT,
# characters: a budget of characters would let multi-byte bodies hold several
# times the bytes).
_ROW_BYTES = "LENGTH(CAST(data AS BLOB))"
# The bytes all journal rows hold, kept in meta under this key and changed in
# the transaction that inserts or deletes rows (every process writes under
# the one write lock, so the count stays exact): a trim to the byte budget
# reads only the oldest rows it drops, never the whole journal.
_JOURNAL_BYTES_KEY = "journal_bytes"
_ADD_JOURNAL_BYTES = (
    f"UPDATE meta SET value = CAST(value AS INTEGER) + LENGTH(CAST(? AS BLOB)) WHERE key = '{_JOURNAL_BYTES_KEY}'"
    " RETURNING CAST(value AS INTEGER)"
)
_COUNT_JOURNAL_BYTES = f"SELECT COALESCE(SUM({_ROW_BYTES}), 0) FROM journal"
# SQLite caps the number of "?" in one statement; stay well below every build's limit.
_IDS_PER_QUERY = 500
_ITEM_STATES = (
    "SELECT id, order_id, json_extract(data, '$.status'), json_extract(data, '$.tracking_number')"
    " FROM items WHERE id IN ({})"
)


_INT64 = range(-(2**63), 2**63)
_MAX_ID = 2**63 - 1


def _storable(key: int | None) -> bool:
    """SQLite integers are 64-bit: a larger id cannot be stored, so it names nothing."""
    return key is None or key in _INT64


def _dumps(row: object) -> str:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


# Values bound as they are: SQLite sets a string as a JSON string, escaped as
# Python's encoder escapes it, and None as null. Others go in as JSON text
# through json(), which keeps their JSON type (a bound True would be set as
# 1, a dict refused); json() around every value would double the statement's time.
_BOUND_AS_THEY_ARE = frozenset({str, type(None)})


@lru_cache(maxsize=256)
def _set_fields(
    names: tuple[str, ...], types: tuple[type, ...], table: str = "items", key: str = "id"
) -> tuple[str, tuple[bool, ...] | None]:
    """The UPDATE that sets the fields ``names`` of one row of ``table`` (an
    item unless told) to values of ``types`` (its parameters: the values, then
    the row's ``key``), and which of the values go in as JSON text (None: none).

    json_set, not json_patch: a merge patch (RFC 7396) deletes a field whose
    new value is null and merges an object into the old one, where the memory
    store keeps the null and the new object."""
    encoded = tuple(kind not in _BOUND_AS_THEY_ARE for kind in types)
    # A quoted label keeps a name holding a dot one field; quotes are doubled in SQL text.
    paths = ["'$.\"{}\"'".format(name.replace("'", "''")) for name in names]
    pairs = "".join(f", {path}, {'json(?)' if as_json else '?'}" for path, as_json in zip(paths, encoded, strict=True))
    return f"UPDATE {table} SET data = json_set(data{pairs}) WHERE {key} = ?", encoded if any(encoded) else None


def _shape(change: tuple[int, Row]) -> tuple[tuple[str, ...], tuple[type, ...]]:
    fields = change[1]
    return tuple(fields), tuple(map(type, fields.values()))


def _encode(values: Iterable[object], encoded: tuple[bool, ...]) -> Iterator[object]:
    return (_dumps(value) if as_json else value for value, as_json in zip(values, encoded, strict=True))


def _order_columns(order: OrderRecord | Row) -> tuple[object, ...]:
    """The values of :data:`_ORDER_COLUMNS` for ``order``."""
    if isinstance(order, OrderRecord):
        return order.is_send, order.status, instant_key(order.date_placed), instant_key(order.modified_date)
    return order["is_send"], order["status"], instant_key(order["date_placed"]), instant_key(order["modified_date"])


class _SQLiteTransaction:
    """The bulk's reads and writes; SQLite's JSON functions do the row work,
    so Python never decodes or re-encodes a whole item."""

    def __init__(self, store: SQLiteStore, connection: sqlite3.Connection) -> None:
        self._store = store
        self._connection = connection

    def append_request(self, entry: Row) -> None:
        self._store._insert_request(self._connection, entry)

    def _rows(self, query: str, ids: Iterable[int]) -> Iterator[tuple]:
        wanted = sorted(i for i in set(ids) if _storable(i))
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            chunk = wanted[start : start + _IDS_PER_QUERY]
            yield from self._connection.execute(query.format(",".join("?" * len(chunk))), chunk)

    def get_items(self, ids: Iterable[int]) -> dict[int, Row]:
        return {
            item_id: {"id": item_id, "order": order_id, "status": status, "tracking_number": tracking_number}
            for item_id, order_id, status, tracking_number in self._rows(_ITEM_STATES, ids)
        }

    def update_items(self, changes: list[tuple[int, Row]]) -> UpdatedItems:
        ids = [item_id for item_id, _ in changes]
        # Texts compared before and after: a bulk that sets what is stored changes no text.
        before = dict(self._rows("SELECT id, data FROM items WHERE id IN ({})", ids))
        # One statement per run of items changing the same fields to values of
        # the same types (a bulk's items often all do), applied in the order given.
        for shape, run in itertools.groupby(changes, key=_shape):
            statement, encoded = _set_fields(*shape)
            if encoded is None:
                rows = [(*fields.values(), item_id) for item_id, fields in run]
            else:
                rows = [(*_encode(fields.values(), encoded), item_id) for item_id, fields in run]
            self._connection.executemany(statement, rows)
        texts = dict(self._rows("SELECT id, data FROM items WHERE id IN ({})", ids))
        return UpdatedItems((texts[item_id] for item_id in ids), changed=texts != before)

    def get_item(self, item_id: int) -> Row | None:
        return self._store._get_item(self._connection, item_id)

    def get_order(self, order_id: int) -> Row | None:
        return self._store._get_order(self._connection, order_id)

    def update_order(self, order_id: int, changes: Row) -> None:
        statement, encoded = _set_fields(*_shape((order_id, changes)), table="orders", key="pk")
        values = changes.values() if encoded is None else _encode(changes.values(), encoded)
        self._connection.execute(statement, (*values, order_id))
        columns = {name: value for name, value in changes.items() if name in ("is_send", "status")}
        for name in ("date_placed", "modified_date"):
            if name in changes:
                columns[_SORT_COLUMNS[name]] = instant_key(changes[name])
        if columns:
            counted = {"is_send", "status"} & set(columns)
            if counted:
                self._count_order(order_id, -1)
            assignments = ", ".join(f"{name} = ?" for name in columns)
            self._connection.execute(f"UPDATE orders SET {assignments} WHERE pk = ?", (*columns.values(), order_id))
            if counted:
                self._count_order(order_id, +1)

    def _count_order(self, order_id: int, step: int) -> None:
        self._connection.execute(
            "INSERT INTO order_counts (is_send, status, n) SELECT is_send, status, ? FROM orders WHERE pk = ?"
            " ON CONFLICT (is_send, status) DO UPDATE SET n = n + excluded.n",
            (step, order_id),
        )

    def touch_order(self, order_id: int) -> None:
        # One statement when now is later than the stored stamp (nearly always).
        now = now_stamp()
        moved = self._connection.execute(
            "UPDATE orders SET data = json_set(data, '$.modified_date', ?), modified_key = ?"
            " WHERE pk = ? AND modified_key < ?",
            (now, instant_key(now), order_id, instant_key(now)),
        ).rowcount
        if not moved:
            found = self._connection.execute(
                "SELECT json_extract(data, '$.modified_date') FROM orders WHERE pk = ?", (order_id,)
            ).fetchone()
            self.update_order(order_id, {"modified_date": moved_on(found[0])})

    def mapping_of(self, item_id: int) -> Row | None:
        if not _storable(item_id):
            return None
        found = self._connection.execute("SELECT data FROM mappings WHERE item_id = ?", (item_id,)).fetchone()
        return json.loads(found[0]) if found else None

    def add_mapping(self, item_id: int, code: str, update_stock: bool) -> Row:
        pk = self._connection.execute("SELECT COALESCE(MAX(pk), 0) + 1 FROM mappings").fetchone()[0]
        mapping = mapping_row(pk, item_id, code, update_stock)
        self._connection.execute(
            "INSERT INTO mappings (pk, item_id, data) VALUES (?, ?, ?)", (pk, item_id, _dumps(mapping))
        )
        return mapping


class DamagedDatabase(ValueError):
    """The state file is damaged or is not a SQLite database."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(
            f"{path} is damaged or is not a SQLite database ({problem}); to start fresh, move it away "
            f"(or delete it) together with {path}-wal and {path}-shm if they exist"
        )
        self.path = path


def _damaged(problem: sqlite3.DatabaseError) -> bool:
    # The primary code is the low byte of the extended one.
    return (getattr(problem, "sqlite_errorcode", None) or 0) & 0xFF in _DAMAGED_CODES


@dataclass(frozen=True)
class _CachedSettings:
    version: int
    users_by_token_digest: dict[bytes, Row]
    faults_json: str
    strict: bool | None


class _WriteLock:
    """The write lock of one state file, for this process.

    Processes exclude each other with ``flock`` on the lock file; a ``flock``
    belongs to the open file, so this process opens it once and its threads
    exclude each other with a thread lock first. A forked child opens the
    file anew (checked by process id) and closes the descriptor it inherited:
    that descriptor shares the parent's open file, and so the parent's lock.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._guard = threading.Lock()
        self._holder: int | None = None
        self._descriptor = -1
        self._pid = os.getpid()
        # POSIX-only, so imported here rather than with the module: a clear
        # POSIXOnlyError where it does not exist (Windows).
        self._fcntl = fcntl_module()
        _WRITE_LOCKS.add(self)

    @contextmanager
    def held(self) -> Iterator[None]:
        if self._holder == threading.get_ident():
            # SQLite refuses a transaction inside another; the guard would never come free.
            raise RuntimeError("a write inside a write of the same thread")
        with self._guard:
            self._holder = threading.get_ident()
            try:
                descriptor = self._file()
                self._fcntl.flock(descriptor, self._fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    self._fcntl.flock(descriptor, self._fcntl.LOCK_UN)
            finally:
                self._holder = None

    def _file(self) -> int:
        # Under the guard: no other thread of this process opens or closes it meanwhile.
        if self._pid != os.getpid():
            inherited, self._descriptor = self._descriptor, -1
            self._pid = os.getpid()
            if inherited >= 0:
                os.close(inherited)
        if self._descriptor < 0:
            self._descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        return self._descriptor

    def _after_fork_in_child(self) -> None:
        # Only the thread that forked lives on in the child; another thread may
        # have held the guard at the fork, and would never release it.
        self._guard = threading.Lock()
        self._holder = None

    def close(self) -> None:
        """Close this process's descriptor (a later write opens it again)."""
        with self._guard:
            self._close()

    def _close(self) -> None:
        descriptor, self._descriptor = self._descriptor, -1
        # A child's copy of its parent's descriptor is the child's to close, but
        # only through _file(): here it may be some other file's number by now.
        if descriptor >= 0 and self._pid == os.getpid():
            os.close(descriptor)

    def __del__(self) -> None:
        self._close()


# Every write lock, so that a forked child can make their guards usable.
_WRITE_LOCKS: weakref.WeakSet[_WriteLock] = weakref.WeakSet()


def _reset_write_locks_in_child() -> None:
    for lock in list(_WRITE_LOCKS):
        lock._after_fork_in_child()


if hasattr(os, "register_at_fork"):  # POSIX; elsewhere nothing forks
    os.register_at_fork(after_in_child=_reset_write_locks_in_child)

# Connections a forked child inherited: never used there, never closed there
# (closing one may checkpoint the parent's database from the child).
_INHERITED: list[sqlite3.Connection] = []


class _ThreadConnection:
    """One thread's connection to the state file, closed when the thread ends.

    It lives in the store's ``threading.local``: Python drops a thread's slot
    when the thread ends (and every slot when the store goes), and this
    closes the connection then. Threads come and go: waitress lends one to
    each request waiting out a latency fault.
    """

    __slots__ = ("connection", "pid")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.pid = os.getpid()

    def close(self) -> None:
        if self.pid == os.getpid():
            with contextlib.suppress(sqlite3.Error):
                self.connection.close()
        else:
            _INHERITED.append(self.connection)

    def __del__(self) -> None:
        self.close()


class SQLiteStore:
    """State in a SQLite file; safe across threads and processes (one
    connection per thread and process, closed when its thread ends)."""

    def __init__(
        self, path: str | Path, journal_limit: int = 10_000, journal_bytes: int = DEFAULT_JOURNAL_BYTES
    ) -> None:
        """Open (or create) the database at ``path``; raise :class:`DamagedDatabase`
        when the file fails SQLite's quick check, and
        :class:`~omnitron_mock.store.posix.POSIXOnlyError` where the platform
        lacks the POSIX locking that processes share the file with."""
        # Before anything opens: the locking is POSIX-only (fcntl, MAP_SHARED).
        fcntl_module()
        mmap_module()
        self.path = str(path)
        self._journal_limit = journal_limit
        self._journal_bytes = journal_bytes
        self._local = threading.local()
        self._write_lock = _WriteLock(self.path + ".lock")
        try:
            try:
                self._open(self._connection())
            except sqlite3.DatabaseError as problem:
                if _damaged(problem):
                    raise DamagedDatabase(self.path, str(problem)) from None
                raise
        except BaseException:
            held = getattr(self._local, "held", None)
            if held is not None:
                held.close()
                self._local.held = None
            self._write_lock.close()
            raise
        # The database's settings generation as last written, in every process
        # sharing the file; a cache hit reads it without a query.
        self._settings_version = SharedCounter(self.path + ".lock")
        self._cached_settings: _CachedSettings | None = None

    def _open(self, connection: sqlite3.Connection) -> None:
        # Before anything writes: damage found later would surface as a 500 on
        # some request, or spread through a VACUUM.
        found = [row[0] for row in connection.execute("PRAGMA quick_check")]
        if found != ["ok"]:
            problems = [line for text in found for line in text.splitlines() if not line.startswith("***")]
            more = len(problems) - _PROBLEMS_SHOWN
            shown = "; ".join(problems[:_PROBLEMS_SHOWN]) + (f"; and {more} more" if more > 0 else "")
            raise DamagedDatabase(self.path, shown)
        # Under the write lock: workers starting together must not convert or
        # create the schema at the same time.
        with self._write_lock.held():
            if connection.execute("PRAGMA auto_vacuum").fetchone()[0] != _INCREMENTAL:
                # A new file takes the setting as it is (it must come before WAL
                # mode and the first table); a file from an older version only
                # through a VACUUM, which rebuilds it once.
                connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
                if connection.execute("PRAGMA auto_vacuum").fetchone()[0] != _INCREMENTAL:
                    connection.execute("VACUUM")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.executescript(_SCHEMA)
            self._upgrade_orders(connection)
            self._add_order_columns(connection)

    def _upgrade_orders(self, connection: sqlite3.Connection) -> None:
        """Orders of a file from before orders had their relations take the
        seed's defaults, once."""
        if connection.execute("SELECT 1 FROM meta WHERE key = ?", (_ORDER_LAYOUT_KEY,)).fetchone():
            return
        connection.execute("BEGIN IMMEDIATE")
        try:
            old = connection.execute("SELECT data FROM orders WHERE json_extract(data, '$.modified_date') IS NULL")
            upgraded = [upgraded_order(json.loads(data)) for (data,) in old.fetchall()]
            connection.executemany(
                "UPDATE orders SET data = ? WHERE pk = ?", ((_dumps(order.to_wire()), order.pk) for order in upgraded)
            )
            connection.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (_ORDER_LAYOUT_KEY, _ORDER_LAYOUT))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def _add_order_columns(self, connection: sqlite3.Connection) -> None:
        """Give a file from before the order list had its columns (and every
        new file) the columns and their indexes; fill the columns of orders
        written without them (by :meth:`_upgrade_orders`, which rewrites only
        documents, or before the columns existed)."""
        present = {row[1] for row in connection.execute("PRAGMA table_info(orders)")}
        for name in _ORDER_COLUMNS:
            if name not in present:
                connection.execute(f"ALTER TABLE orders ADD COLUMN {name} {_ORDER_COLUMN_TYPES[name]}")
        connection.executescript(_ORDER_INDEXES)
        # Found through orders_by_modified: no scan once every order has its columns.
        unfilled = connection.execute("SELECT 1 FROM orders WHERE modified_key IS NULL LIMIT 1").fetchone()
        counted = connection.execute("SELECT 1 FROM meta WHERE key = ?", (_ORDER_COUNTS_KEY,)).fetchone()
        if unfilled is None and counted is not None:
            return
        connection.execute("BEGIN IMMEDIATE")
        try:
            stored = connection.execute("SELECT pk, data FROM orders WHERE modified_key IS NULL").fetchall()
            connection.executemany(
                f"UPDATE orders SET {', '.join(f'{name} = ?' for name in _ORDER_COLUMNS)} WHERE pk = ?",
                ((*_order_columns(json.loads(data)), pk) for pk, data in stored),
            )
            _recount_orders(connection)
            connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, '1')", (_ORDER_COUNTS_KEY,))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    # -- connections and transactions -----------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        held = getattr(self._local, "held", None)
        # A forked worker must not reuse its parent's connection.
        if held is not None and held.pid == os.getpid():
            return held.connection
        # Used by this thread only; the thread's end, or the store's, may close
        # it from another thread.
        connection = sqlite3.connect(
            self.path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        try:
            connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            # Reads the file's header: the first statement to fail on a file that is no database.
            connection.execute(f"PRAGMA synchronous = {_SYNCHRONOUS}")
        except BaseException:
            connection.close()
            raise
        self._local.held = _ThreadConnection(connection)
        return connection

    @contextmanager
    def _write(self, changes_settings: bool = False, shrink: bool = False) -> Iterator[sqlite3.Connection]:
        """A write transaction. ``changes_settings``: the block may change users
        or faults. ``shrink``: the block frees many pages; give them back to the
        file system after the commit."""
        # Writers queue on a file lock: the kernel wakes the next one the moment
        # the lock is free, where SQLite's busy handler sleeps a millisecond or
        # more between tries. BEGIN IMMEDIATE then finds the database free.
        connection = self._connection()
        with self._write_lock.held():
            connection.execute("BEGIN IMMEDIATE")
            self._local.settings_write = changes_settings
            try:
                yield connection
                if changes_settings:
                    self._next_settings_generation(connection)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            finally:
                self._local.settings_write = False
            if shrink:
                # Neither statement does its work inside a transaction:
                # Python's execute() steps incremental_vacuum once (one page),
                # and a checkpoint cannot pass this connection's own snapshot.
                connection.executescript("PRAGMA incremental_vacuum")
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def _next_settings_generation(self, connection: sqlite3.Connection) -> None:
        # Numbered inside the transaction, the counter set before COMMIT: a
        # process killed anywhere in between leaves no other worker on a stale
        # cache. A counter ahead of the database (a writer killed before its
        # COMMIT) costs re-reads until this max() moves both past it.
        stored = connection.execute("SELECT value FROM meta WHERE key = 'settings_generation'").fetchone()
        generation = max(int(stored[0]) if stored else 0, self._settings_version.value) + 1
        connection.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('settings_generation', ?)", (str(generation),)
        )
        self._settings_version.set(generation)

    def _settings(self) -> _CachedSettings:
        """Users and faults, read again only after some process changed them."""
        cached = self._cached_settings
        in_settings_write = getattr(self._local, "settings_write", False)
        if cached is not None and not in_settings_write and cached.version == self._settings_version.value:
            return cached
        with self._read() as connection:
            users = {
                digest: json.loads(data) for digest, data in connection.execute("SELECT token_digest, data FROM users")
            }
            meta = dict(
                connection.execute(
                    "SELECT key, value FROM meta WHERE key IN ('faults', 'settings_generation', 'strict')"
                )
            )
        # Versioned by the generation of the snapshot read, not by the counter:
        # a counter bumped by a write not yet committed then still differs, and
        # the next call reads again.
        strict = None if "strict" not in meta else meta["strict"] == "1"
        fresh = _CachedSettings(int(meta.get("settings_generation", 0)), users, meta.get("faults", "[]"), strict)
        if not in_settings_write:
            # What a settings write reads may never commit: it is not kept.
            self._cached_settings = fresh
        return fresh

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        # One read transaction: several SELECTs see the same snapshot.
        connection = self._connection()
        if connection.in_transaction:
            # Called from inside a write (a fault change that reads the users,
            # say): that transaction's view is the one to read.
            yield connection
            return
        connection.execute("BEGIN")
        try:
            yield connection
        finally:
            connection.execute("COMMIT")

    @contextmanager
    def transaction(self) -> Iterator[_SQLiteTransaction]:
        with self._write() as connection:
            yield _SQLiteTransaction(self, connection)

    # -- reads ------------------------------------------------------------------------------

    def get_item(self, item_id: int) -> Row | None:
        return self._get_item(self._connection(), item_id)

    @staticmethod
    def _get_item(connection: sqlite3.Connection, item_id: int) -> Row | None:
        if not _storable(item_id):
            return None
        found = connection.execute("SELECT data FROM items WHERE id = ?", (item_id,)).fetchone()
        return json.loads(found[0]) if found else None

    def get_order(self, order_id: int) -> Row | None:
        with self._read() as connection:
            return self._get_order(connection, order_id)

    @staticmethod
    def _get_order(connection: sqlite3.Connection, order_id: int) -> Row | None:
        if not _storable(order_id):
            return None
        found = connection.execute("SELECT data FROM orders WHERE pk = ?", (order_id,)).fetchone()
        if found is None:
            return None
        ids = [row[0] for row in connection.execute("SELECT id FROM items WHERE order_id = ? ORDER BY id", (order_id,))]
        return {**json.loads(found[0]), "orderitem_set": ids}

    def list_orders(self, query: OrderQuery, offset: int, limit: int) -> tuple[int, list[Row]]:
        # Filters, count, order and page in SQL, from the order columns' indexes.
        conditions: list[str] = []
        params: list[object] = []
        for name in ("is_send", "status"):
            value = getattr(query, name)
            if value is not None:
                conditions.append(f"{name} = ?")
                params.append(value)
        if query.number is not None:
            conditions.append("json_extract(data, '$.number') = ?")
            params.append(query.number)
        if query.cancel_status is not None:
            # Read from each candidate order's items (items_by_order): no index
            # on the items' documents, which every bulk rewrites.
            conditions.append(
                "EXISTS (SELECT 1 FROM items WHERE order_id = orders.pk AND json_extract(data, '$.cancel_status') = ?)"
            )
            params.append(query.cancel_status)
        if query.pks is not None:
            wanted = [pk for pk in query.pks if _storable(pk)]
            if not wanted:
                return 0, []
            conditions.append("pk IN (SELECT value FROM json_each(?))")
            params.append(_dumps(wanted))
        for comparison, stamp in query.modified:
            conditions.append(f"modified_key {_COMPARISON_OPERATORS[comparison]} ?")
            params.append(instant_key(stamp))
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        field_name, descending = ORDER_SORTS.get(query.sort, ORDER_SORTS["id"])
        column = _SORT_COLUMNS[field_name]
        order_by = (
            f"pk {'DESC' if descending else ''}" if column == "pk" else f"{column} {'DESC' if descending else ''}, pk"
        )
        offset = min(offset, _MAX_ID)
        # Only is_send and status (or nothing) filter: the count is a sum of counters.
        counted = (query.number, query.cancel_status, query.pks) == (None, None, None) and not query.modified
        with self._read() as connection:
            table, total = ("order_counts", "COALESCE(SUM(n), 0)") if counted else ("orders", "COUNT(*)")
            count = connection.execute(f"SELECT {total} FROM {table} {where}", params).fetchone()[0]
            pks = [
                pk
                for (pk,) in connection.execute(
                    f"SELECT pk FROM orders {where} ORDER BY {order_by} LIMIT ? OFFSET ?", (*params, limit, offset)
                )
            ]
            return count, [cast(Row, self._get_order(connection, pk)) for pk in pks]

    def mappings(self, item_id: int | None = None) -> list[Row]:
        if not _storable(item_id):
            return []
        where, params = ("", ()) if item_id is None else ("WHERE item_id = ?", (item_id,))
        rows = self._connection().execute(f"SELECT data FROM mappings {where} ORDER BY pk", params).fetchall()
        return [json.loads(data) for (data,) in rows]

    def get_order_by_number(self, number: str) -> Row | None:
        with self._read() as connection:
            found = connection.execute(
                "SELECT pk FROM orders WHERE json_extract(data, '$.number') = ? ORDER BY pk LIMIT 1", (number,)
            ).fetchone()
        return None if found is None else self.get_order(found[0])

    def list_items(self, order_id: int | None, offset: int, limit: int) -> tuple[int, list[Row]]:
        if not _storable(order_id):
            return 0, []
        offset = min(offset, 2**63 - 1)
        where, params = ("WHERE order_id = ?", (order_id,)) if order_id is not None else ("", ())
        with self._read() as connection:
            count = connection.execute(f"SELECT COUNT(*) FROM items {where}", params).fetchone()[0]
            rows = connection.execute(
                f"SELECT data FROM items {where} ORDER BY id LIMIT ? OFFSET ?", (*params, limit, offset)
            ).fetchall()
        return count, [json.loads(row[0]) for row in rows]

    def iter_items(self) -> Iterator[Row]:
        rows = self._connection().execute("SELECT data FROM items ORDER BY id").fetchall()
        return (json.loads(row[0]) for row in rows)

    def users(self) -> list[Row]:
        return [json.loads(row[0]) for row in self._connection().execute("SELECT data FROM users ORDER BY username")]

    def user_by_username(self, username: str) -> Row | None:
        found = self._connection().execute("SELECT data FROM users WHERE username = ?", (username,)).fetchone()
        return json.loads(found[0]) if found else None

    def user_by_token(self, token: str) -> Row | None:
        return user_holding_token(self._settings().users_by_token_digest.get(token_digest(token)), token)

    def snapshot(self, max_orders: int | None = None) -> dict[str, list[Row]]:
        with self._read() as connection:
            users = [json.loads(row[0]) for row in connection.execute("SELECT data FROM users ORDER BY username")]
            rows = connection.execute(
                "SELECT data FROM orders ORDER BY pk LIMIT ?", (-1 if max_orders is None else max_orders,)
            )
            orders = [json.loads(row[0]) for row in rows]
            items: dict[int, list[Row]] = {}
            if orders:
                span = (orders[0]["pk"], orders[-1]["pk"])
                query = "SELECT order_id, data FROM items WHERE order_id BETWEEN ? AND ? ORDER BY id"
                for order_id, data in connection.execute(query, span):
                    items.setdefault(order_id, []).append(json.loads(data))
        return {"users": users, "orders": [{**order, "items": items.get(order["pk"], [])} for order in orders]}

    # -- writes -----------------------------------------------------------------------------

    def initialize(self, seed: SeedData) -> None:
        with self._write(changes_settings=True) as connection:
            connection.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('startup_seed', ?)", (seed_text(seed),)
            )
            seeded = connection.execute("SELECT 1 FROM meta WHERE key = 'seeded'").fetchone()
            if seeded is None:
                self._restore(connection, seed)
                connection.execute("INSERT INTO meta (key, value) VALUES ('seeded', '1')")

    def reset(self) -> None:
        with self._write(changes_settings=True, shrink=True) as connection:
            self._reset(connection)

    def replace_users(self, users: list[Row]) -> None:
        with self._write(changes_settings=True) as connection:
            connection.execute("DELETE FROM users")
            self._load(connection, SeedData(users=users), replace=False)

    def reset_unless_used_since(self, since: str) -> bool:
        with self._write(changes_settings=True, shrink=True) as connection:
            newest = connection.execute("SELECT data FROM journal ORDER BY id DESC LIMIT 1").fetchone()
            if newest is not None and json.loads(newest[0])["time"] >= since:
                return False
            self._reset(connection)
            return True

    def _reset(self, connection: sqlite3.Connection) -> None:
        stored = connection.execute("SELECT value FROM meta WHERE key = 'startup_seed'").fetchone()
        self._restore(connection, seed_from_text(stored[0]) if stored else SeedData())

    def _restore(self, connection: sqlite3.Connection, seed: SeedData) -> None:
        self._load(connection, seed, replace=True)
        self._empty_journal(connection)
        connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('faults', ?)", (_dumps(seed.faults),))

    def load(self, seed: SeedData, replace: bool, order_limit: int | None = None) -> None:
        with self._write(changes_settings=True) as connection:
            self._load(connection, seed, replace)
            if order_limit is not None:
                [held] = connection.execute("SELECT COUNT(*) FROM orders").fetchone()
                if held > order_limit:
                    raise OrderLimitExceeded(held, order_limit)

    def _load(self, connection: sqlite3.Connection, seed: SeedData, replace: bool) -> None:
        if replace:
            connection.execute("DELETE FROM orders")
            connection.execute("DELETE FROM items")
            connection.execute("DELETE FROM mappings")
            if seed.users:
                connection.execute("DELETE FROM users")
        next_pk = connection.execute("SELECT COALESCE(MAX(pk), 0) + 1 FROM users").fetchone()[0]

        def stored_pk(username: str) -> int | None:
            found = connection.execute("SELECT pk FROM users WHERE username = ?", (username,)).fetchone()
            return None if found is None else found[0]

        for user in numbered_users(seed.users, next_pk, stored_pk):
            connection.execute(
                "INSERT OR REPLACE INTO users (username, pk, token_digest, data) VALUES (?, ?, ?, ?)",
                (user["username"], user["pk"], token_digest(user["token"]), _dumps(user)),
            )
        connection.executemany(
            "INSERT OR REPLACE INTO orders (pk, data, is_send, status, placed_key, modified_key)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            ((order.pk, _dumps(order.to_wire()), *_order_columns(order)) for order in seed.orders),
        )
        _recount_orders(connection)
        connection.executemany(
            "INSERT OR REPLACE INTO items (id, order_id, data) VALUES (?, ?, ?)",
            ((item.id, item.order, _dumps(item.to_wire())) for item in seed.items),
        )

    # -- faults -----------------------------------------------------------------------------

    def faults(self) -> list[Row]:
        return json.loads(self._settings().faults_json)

    def strict_mode(self) -> bool | None:
        return self._settings().strict

    def set_strict_mode(self, strict: bool) -> None:
        # A settings change: every worker's cache drops it at its next request.
        with self._write(changes_settings=True) as connection:
            connection.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('strict', ?)", ("1" if strict else "0",)
            )

    def update_faults(self, change: Callable[[list[Row]], T]) -> T:
        with self._write(changes_settings=True) as connection:
            found = connection.execute("SELECT value FROM meta WHERE key = 'faults'").fetchone()
            faults = json.loads(found[0]) if found else []
            result = change(faults)
            connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('faults', ?)", (_dumps(faults),))
        return result

    def fault_clears(self) -> int:
        found = self._connection().execute("SELECT value FROM meta WHERE key = 'fault_clears'").fetchone()
        return int(found[0]) if found else 0

    def count_fault_clear(self) -> None:
        with self._write() as connection:
            connection.execute(
                "INSERT INTO meta (key, value) VALUES ('fault_clears', '1') "
                "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
            )

    # -- journal ----------------------------------------------------------------------------

    def append_request(self, entry: Row) -> None:
        # Encoded before taking the write lock, which the other workers wait for.
        data = _dumps(entry)
        with self._write() as connection:
            self._insert_request(connection, entry, data)

    def _insert_request(self, connection: sqlite3.Connection, entry: Row, data: str | None = None) -> None:
        data = data or _dumps(entry)
        # An INSERT always sets lastrowid.
        entry_id = cast(int, connection.execute("INSERT INTO journal (data) VALUES (?)", (data,)).lastrowid)
        # Measured by SQLite as the trims measure what they drop.
        found = connection.execute(_ADD_JOURNAL_BYTES, (data,)).fetchone()
        if found is None:
            # A file from a version that kept no count: count once (this entry included).
            total = connection.execute(_COUNT_JOURNAL_BYTES).fetchone()[0]
            connection.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (_JOURNAL_BYTES_KEY, total))
        else:
            total = found[0]
        # Trimming to the count on every insert would add a statement to the
        # hot path: trim every so many entries (reads show the limit anyway).
        if entry_id % _TRIM_EVERY == 0:
            total -= self._delete_journal_up_to(connection, entry_id - self._journal_limit)
        if total > self._journal_bytes:
            self._trim_to_budget(connection, entry_id, total - self._journal_bytes)
        entry["id"] = entry_id

    def _trim_to_budget(self, connection: sqlite3.Connection, newest_id: int, excess: int) -> None:
        """Drop the oldest entries until ``excess`` bytes are gone; the newest
        entry stays even when it alone is over the budget."""
        freed = 0
        last = None
        rows = connection.execute(f"SELECT id, {_ROW_BYTES} FROM journal WHERE id < ? ORDER BY id", (newest_id,))
        try:
            for row_id, size in rows:
                last, freed = row_id, freed + size
                if freed >= excess:
                    break
        finally:
            rows.close()
        if last is not None:
            self._delete_journal_up_to(connection, last)

    def _delete_journal_up_to(self, connection: sqlite3.Connection, last_id: int) -> int:
        """Delete the entries numbered up to ``last_id``; return (and uncount) the bytes they held."""
        sizes = connection.execute(f"DELETE FROM journal WHERE id <= ? RETURNING {_ROW_BYTES}", (last_id,)).fetchall()
        freed = sum(size for (size,) in sizes)
        if freed:
            connection.execute(
                f"UPDATE meta SET value = CAST(value AS INTEGER) - ? WHERE key = '{_JOURNAL_BYTES_KEY}'", (freed,)
            )
        return freed

    def _empty_journal(self, connection: sqlite3.Connection) -> None:
        connection.execute("DELETE FROM journal")
        connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, 0)", (_JOURNAL_BYTES_KEY,))

    def journal_size(self) -> int:
        with self._read() as connection:
            found = connection.execute("SELECT value FROM meta WHERE key = ?", (_JOURNAL_BYTES_KEY,)).fetchone()
            return int(found[0]) if found else connection.execute(_COUNT_JOURNAL_BYTES).fetchone()[0]

    def journal_count(self) -> int:
        with self._read() as connection:
            # Entries go from the oldest end or all at once, so their ids run without gaps:
            # two index lookups, where COUNT(*) reads every entry (tenant mode asks on every call).
            [count] = connection.execute("SELECT COALESCE(MAX(id) - MIN(id) + 1, 0) FROM journal").fetchone()
            return min(int(count), self._journal_limit)

    def requests(self) -> list[Row]:
        rows = (
            self._connection()
            .execute(
                "SELECT id, data FROM journal WHERE id > (SELECT COALESCE(MAX(id), 0) FROM journal) - ? ORDER BY id",
                (self._journal_limit,),
            )
            .fetchall()
        )
        return [{**json.loads(data), "id": entry_id} for entry_id, data in rows]

    def recent_requests(self, limit: int, before_id: int | None = None) -> list[Row]:
        if limit <= 0:
            return []
        before = _MAX_ID if before_id is None else max(min(before_id, _MAX_ID), 0)
        rows = (
            self._connection()
            .execute(
                "SELECT id, data FROM journal WHERE id < ? AND id > (SELECT COALESCE(MAX(id), 0) FROM journal) - ?"
                " ORDER BY id DESC LIMIT ?",
                (before, self._journal_limit, min(limit, _MAX_ID)),
            )
            .fetchall()
        )
        return [{**json.loads(data), "id": entry_id} for entry_id, data in rows]

    def clear_requests(self) -> None:
        with self._write(shrink=True) as connection:
            self._empty_journal(connection)
        # This process's cache (other workers keep their own).
        forget_verdicts()


def _recount_orders(connection: sqlite3.Connection) -> None:
    for statement in _RECOUNT_ORDERS:
        connection.execute(statement)
