"""The pieces one emulator instance is made of, reachable from any request."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from contracts import Contracts
from mockserver.config import Settings
from mockserver.rules import Rules
from mockserver.store.base import SeedData, Store

EXTENSION_KEY = "omnitron_mock"


@dataclass
class Emulator:
    settings: Settings
    contracts: Contracts
    rules: Rules
    store: Store
    startup_seed: SeedData

    def reset(self) -> None:
        """Back to the state the server started with; the journal empties."""
        self.store.load(self.startup_seed, replace=True)
        self.store.clear_requests()


def emulator() -> Emulator:
    return current_app.extensions[EXTENSION_KEY]
