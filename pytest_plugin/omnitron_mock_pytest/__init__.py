"""Test Omnitron clients against the omnitron-mock emulator.

The pytest fixtures live in :mod:`omnitron_mock_pytest.plugin` (entry point
``omnitron``). Everything exported here works without pytest.

The names below load on first use: pytest imports this package to load the
plugin in every run of every project that has omnitron-mock installed, and
that must not cost the emulator's import (Flask, jsonschema, the schemas).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omnitron_mock_pytest.contract import assert_matches_contract
    from omnitron_mock_pytest.entries import JournalEntry, Verdict
    from omnitron_mock_pytest.handle import ContractViolationsError, Credentials, EmulatorHandle
    from omnitron_mock_pytest.inprocess import InProcessTransport
    from omnitron_mock_pytest.remote import EmulatorOnly, RemoteOmnitron
    from omnitron_mock_pytest.remote_service import RemoteService
    from omnitron_mock_pytest.sessions import InProcessEmulator, LiveEmulator, RemoteEmulator

_EXPORTS = {
    "ContractViolationsError": "omnitron_mock_pytest.handle",
    "Credentials": "omnitron_mock_pytest.handle",
    "EmulatorHandle": "omnitron_mock_pytest.handle",
    "EmulatorOnly": "omnitron_mock_pytest.remote",
    "InProcessEmulator": "omnitron_mock_pytest.sessions",
    "InProcessTransport": "omnitron_mock_pytest.inprocess",
    "JournalEntry": "omnitron_mock_pytest.entries",
    "LiveEmulator": "omnitron_mock_pytest.sessions",
    "RemoteEmulator": "omnitron_mock_pytest.sessions",
    "RemoteOmnitron": "omnitron_mock_pytest.remote",
    "RemoteService": "omnitron_mock_pytest.remote_service",
    "Verdict": "omnitron_mock_pytest.entries",
    "assert_matches_contract": "omnitron_mock_pytest.contract",
}

__all__ = [
    "ContractViolationsError",
    "Credentials",
    "EmulatorHandle",
    "EmulatorOnly",
    "InProcessEmulator",
    "InProcessTransport",
    "JournalEntry",
    "LiveEmulator",
    "RemoteEmulator",
    "RemoteOmnitron",
    "RemoteService",
    "Verdict",
    "assert_matches_contract",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # Not cached in this module: after pytester (or anything else) drops and
    # re-imports a submodule, the name must give that module's current object.
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
