"""The POSIX facilities the SQLite store shares a state file with.

Processes sharing one SQLite file exclude each other with ``fcntl.flock``
and see each other's settings generation through a ``MAP_SHARED`` memory
map. Both are POSIX-only, so they are imported when a SQLite store opens,
never when the package loads: the emulator, the in-memory store, the pytest
plugin and in-process mode work where they do not exist (Windows).
"""

from __future__ import annotations

import sys
from types import ModuleType


class POSIXOnlyError(RuntimeError):
    """The SQLite store was asked for where POSIX file locking does not exist."""

    def __init__(self, missing: str) -> None:
        super().__init__(
            f"the SQLite store (--db, OMNITRON_MOCK_DB) is not available on this platform ({sys.platform}): "
            f"its multi-process SQLite locking is POSIX-only and needs {missing}, which this Python lacks. "
            "Leave the database unset to use the in-memory store, which works everywhere "
            "(one process; state lasts as long as the process)."
        )


def fcntl_module() -> ModuleType:
    """``fcntl``, or :class:`POSIXOnlyError` where it does not exist."""
    try:
        import fcntl
    except ImportError:
        raise POSIXOnlyError("fcntl.flock") from None
    return fcntl


def mmap_module() -> ModuleType:
    """``mmap`` with ``MAP_SHARED``, or :class:`POSIXOnlyError` where it lacks it."""
    import mmap

    if not all(hasattr(mmap, name) for name in ("MAP_SHARED", "PROT_READ", "PROT_WRITE")):
        raise POSIXOnlyError("mmap.MAP_SHARED")
    return mmap
