"""The emulator behind the Flask request being served."""

from __future__ import annotations

from omnitron_mock.access import EXTENSION_KEY, caller
from omnitron_mock.service import Emulator

__all__ = ["EXTENSION_KEY", "emulator"]


def emulator() -> Emulator:
    """The world this request acts on: the emulator's own, or in tenant mode
    the one its caller's token names (see :mod:`omnitron_mock.access`)."""
    return caller().world
