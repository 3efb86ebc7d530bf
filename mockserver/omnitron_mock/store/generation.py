"""A counter every process sharing a state file sees at once.

SQLite workers cache what rarely changes (users, faults) and must drop the
cache the moment another process changes it. Asking the database costs a
query per request; this counter is 8 bytes of a memory-mapped file, read
without a system call.

``MAP_SHARED`` is POSIX-only: ``mmap`` is checked for it when a counter
opens (with the SQLite store), not when this module loads.
"""

from __future__ import annotations

import os

from omnitron_mock.store.posix import mmap_module

_SIZE = 8


class SharedCounter:
    """A 64-bit counter in a file mapped by every process that opens it."""

    def __init__(self, path: str) -> None:
        mmap = mmap_module()
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if os.fstat(descriptor).st_size < _SIZE:
                # Growing the file writes zeros: a new counter starts at 0.
                os.ftruncate(descriptor, _SIZE)
            # A shared mapping stays shared in forked workers.
            self._map = mmap.mmap(descriptor, _SIZE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(descriptor)

    @property
    def value(self) -> int:
        return int.from_bytes(self._map[:_SIZE], "little")

    def set(self, value: int) -> None:
        """Callers hold the store's write lock, so writes never race."""
        self._map[:_SIZE] = (value % 2**64).to_bytes(_SIZE, "little")
