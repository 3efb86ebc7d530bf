"""Where the tenants of a tenant-per-user emulator keep their worlds.

Each store kind keeps a tenant's world as a store of its own (a dict entry,
a SQLite file, a PostgreSQL schema) and keeps a register of the tenants it
holds with when each was last seen, shared by every process that shares the
store, so that any replica can list them and expire the idle ones.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from omnitron_mock.store.base import Store
from omnitron_mock.store.memory import MemoryStore


@dataclass(frozen=True)
class TenantEntry:
    """A tenant in the register: its name, when a request last named it (Unix
    time), and whether its world expired since (back to the startup seed)."""

    name: str
    last_seen: float
    expired: bool = False


class TenantSpace(Protocol):
    """The tenants' stores and their register."""

    def open(self, name: str) -> Store:
        """The tenant's store, created empty when it has none yet (the caller
        initializes it with the startup seed, which keeps a stored world)."""
        ...

    def seen(self, name: str, when: float) -> None:
        """Register the tenant, or move its last-seen time on to ``when``; not expired."""
        ...

    def entries(self) -> list[TenantEntry]:
        """Every tenant ever registered (expired ones too), by name."""
        ...

    def mark_expired(self, name: str, unseen_since: float | None = None) -> None:
        """Note that the tenant's world went back to the startup seed; with
        ``unseen_since``, only if it was not seen at or after that time."""
        ...


class MemoryTenantSpace:
    """Tenants of the memory store: one :class:`MemoryStore` each, in this process."""

    def __init__(self, journal_limit: int, journal_bytes: int) -> None:
        self._journal_limit = journal_limit
        self._journal_bytes = journal_bytes
        self._lock = threading.Lock()
        self._stores: dict[str, MemoryStore] = {}
        self._last_seen: dict[str, float] = {}
        self._expired: set[str] = set()

    def open(self, name: str) -> Store:
        with self._lock:
            store = self._stores.get(name)
            if store is None:
                store = self._stores[name] = MemoryStore(self._journal_limit, self._journal_bytes)
            return store

    def seen(self, name: str, when: float) -> None:
        with self._lock:
            self._last_seen[name] = max(when, self._last_seen.get(name, when))
            self._expired.discard(name)

    def entries(self) -> list[TenantEntry]:
        with self._lock:
            return [TenantEntry(name, when, name in self._expired) for name, when in sorted(self._last_seen.items())]

    def mark_expired(self, name: str, unseen_since: float | None = None) -> None:
        with self._lock:
            last_seen = self._last_seen.get(name)
            if last_seen is not None and (unseen_since is None or last_seen < unseen_since):
                self._expired.add(name)
