"""Test Omnitron clients against the omnitron-mock emulator.

The pytest fixtures live in :mod:`pytest_plugin.plugin` (entry point
``omnitron``). Everything exported here works without pytest.
"""

from pytest_plugin.contract import assert_matches_contract
from pytest_plugin.entries import JournalEntry, Verdict
from pytest_plugin.handle import ContractViolationsError, Credentials, EmulatorHandle
from pytest_plugin.inprocess import InProcessTransport
from pytest_plugin.remote import EmulatorOnly, RemoteOmnitron
from pytest_plugin.sessions import InProcessEmulator, LiveEmulator

__all__ = [
    "ContractViolationsError",
    "Credentials",
    "EmulatorHandle",
    "EmulatorOnly",
    "InProcessEmulator",
    "InProcessTransport",
    "JournalEntry",
    "LiveEmulator",
    "RemoteOmnitron",
    "Verdict",
    "assert_matches_contract",
]
