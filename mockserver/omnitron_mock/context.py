"""The pieces one emulator instance is made of, reachable from any request."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

from flask import current_app

from omnitron_mock.config import Settings
from omnitron_mock.contracts import Contracts
from omnitron_mock.faults import remove_fault
from omnitron_mock.journal import clear_verdicts
from omnitron_mock.rules import Rules
from omnitron_mock.store.base import Store

EXTENSION_KEY = "omnitron_mock"


@dataclass
class Emulator:
    settings: Settings
    contracts: Contracts
    rules: Rules
    store: Store
    # Wakes requests waiting out a latency fault when faults are cleared.
    faults_cleared_signal: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def reset(self) -> None:
        """Back to the state and mode the server started with; the journal empties."""
        self.store.reset()
        self.set_strict(self.settings.strict)
        clear_verdicts()
        self._announce_fault_clear()

    def clear_faults(self, fault_id: str | None = None) -> bool:
        """Remove every fault, or the one with ``fault_id``; whether any was there.

        Requests waiting out a latency fault stop waiting, in every process.
        """
        if fault_id is None:
            self.store.update_faults(lambda faults: faults.clear())
            found = True
        else:
            found = self.store.update_faults(lambda faults: remove_fault(faults, fault_id))
        if found:
            self._announce_fault_clear()
        return found

    def _announce_fault_clear(self) -> None:
        self.store.count_fault_clear()
        with self.faults_cleared_signal:
            self.faults_cleared_signal.notify_all()

    def set_strict(self, strict: bool) -> None:
        """Switch strict mode for the requests that follow."""
        if self.rules.strict != strict:
            self.rules = replace(self.rules, strict=strict)


def emulator() -> Emulator:
    return current_app.extensions[EXTENSION_KEY]
