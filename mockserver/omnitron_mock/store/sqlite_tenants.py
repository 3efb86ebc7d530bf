"""Tenants of the SQLite store: a state file each, in a folder beside the root's.

``state.sqlite3`` keeps its tenants in ``state.sqlite3.tenants/``: one file
per tenant, named by a digest of the tenant's name (any text makes a safe
file name), and ``register.sqlite3`` listing them, which every worker process
sharing the folder reads and writes.
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import threading
from pathlib import Path

from omnitron_mock.jsonio import dumps
from omnitron_mock.store.base import Store
from omnitron_mock.store.sqlite import SQLiteStore
from omnitron_mock.store.tenant_space import TenantEntry

_REGISTER = "register.sqlite3"
# Seconds a register write waits for another process's.
_BUSY_TIMEOUT = 30.0


def tenant_folder(db: str | Path) -> Path:
    """The folder the tenants of the state file ``db`` live in."""
    return Path(f"{db}.tenants")


class SQLiteTenantSpace:
    """A SQLite file per tenant, and a register shared by the processes using the folder."""

    def __init__(self, db: str | Path, journal_limit: int, journal_bytes: int) -> None:
        self._folder = tenant_folder(db)
        self._folder.mkdir(exist_ok=True)
        self._journal_limit = journal_limit
        self._journal_bytes = journal_bytes
        self._lock = threading.Lock()
        self._stores: dict[str, SQLiteStore] = {}
        register = self._register()
        try:
            register.execute(
                "CREATE TABLE IF NOT EXISTS tenants"
                " (name TEXT PRIMARY KEY, last_seen REAL NOT NULL, expired INTEGER NOT NULL DEFAULT 0)"
            )
        finally:
            register.close()

    def _register(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._folder / _REGISTER, timeout=_BUSY_TIMEOUT)
        connection.execute("PRAGMA journal_mode = WAL")
        return connection

    def open(self, name: str) -> Store:
        with self._lock:
            store = self._stores.get(name)
            if store is None:
                digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:32]
                path = self._folder / f"{digest}.sqlite3"
                store = self._stores[name] = SQLiteStore(path, self._journal_limit, self._journal_bytes)
            return store

    def seen(self, name: str, when: float) -> None:
        # The name as JSON text: a name may hold what SQLite's text cannot (a lone surrogate).
        connection = self._register()
        try:
            with connection:
                connection.execute(
                    "INSERT INTO tenants (name, last_seen) VALUES (?, ?) ON CONFLICT (name)"
                    " DO UPDATE SET last_seen = MAX(last_seen, excluded.last_seen), expired = 0",
                    (dumps(name), when),
                )
        finally:
            connection.close()

    def entries(self) -> list[TenantEntry]:
        connection = self._register()
        try:
            rows = connection.execute("SELECT name, last_seen, expired FROM tenants").fetchall()
        finally:
            connection.close()
        entries = (TenantEntry(json.loads(name), last_seen, bool(expired)) for name, last_seen, expired in rows)
        return sorted(entries, key=lambda entry: entry.name)

    def mark_expired(self, name: str, unseen_since: float | None = None) -> None:
        connection = self._register()
        try:
            with connection:
                connection.execute(
                    "UPDATE tenants SET expired = 1 WHERE name = ? AND last_seen < ?",
                    (dumps(name), math.inf if unseen_since is None else unseen_since),
                )
        finally:
            connection.close()
