"""omnitron-mock: a stateful emulator of Omnitron's order item bulk status update API.

The names below load on first use: importing a submodule (the CLI, the
health probe, the settings) does not import Flask and the schemas first.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omnitron_mock.app import create_app, emulator_of, tenants_of
    from omnitron_mock.config import DEV_PASSWORD, DEV_TOKEN, DEV_USERNAME, Settings
    from omnitron_mock.service import Emulator

_EXPORTS = {
    "create_app": "omnitron_mock.app",
    "emulator_of": "omnitron_mock.app",
    "tenants_of": "omnitron_mock.app",
    "Emulator": "omnitron_mock.service",
    "DEV_PASSWORD": "omnitron_mock.config",
    "DEV_TOKEN": "omnitron_mock.config",
    "DEV_USERNAME": "omnitron_mock.config",
    "Settings": "omnitron_mock.config",
}

__all__ = [
    "DEV_PASSWORD",
    "DEV_TOKEN",
    "DEV_USERNAME",
    "Emulator",
    "Settings",
    "create_app",
    "emulator_of",
    "tenants_of",
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
