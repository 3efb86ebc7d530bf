"""The pieces one emulator instance is made of, reachable from any request."""

from __future__ import annotations

from dataclasses import dataclass, replace

from flask import current_app

from contracts import Contracts
from mockserver.config import Settings
from mockserver.rules import Rules
from mockserver.store.base import Store

EXTENSION_KEY = "omnitron_mock"


@dataclass
class Emulator:
    settings: Settings
    contracts: Contracts
    rules: Rules
    store: Store

    def reset(self) -> None:
        """Back to the state and mode the server started with; the journal empties."""
        self.store.reset()
        self.set_strict(self.settings.strict)

    def set_strict(self, strict: bool) -> None:
        """Switch strict mode for the requests that follow."""
        if self.rules.strict != strict:
            self.rules = replace(self.rules, strict=strict)


def emulator() -> Emulator:
    return current_app.extensions[EXTENSION_KEY]
