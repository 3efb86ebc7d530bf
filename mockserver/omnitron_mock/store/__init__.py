"""Where the emulator keeps users, orders, items and the request journal."""

from omnitron_mock.store.base import SeedData, Store, StoreTransaction
from omnitron_mock.store.memory import MemoryStore

__all__ = ["MemoryStore", "SeedData", "Store", "StoreTransaction"]
