"""Where the emulator keeps users, orders, items and the request journal."""

from mockserver.store.base import SeedData, Store, StoreTransaction
from mockserver.store.memory import MemoryStore

__all__ = ["MemoryStore", "SeedData", "Store", "StoreTransaction"]
