"""The emulator behind the Flask request being served."""

from __future__ import annotations

from flask import current_app

from omnitron_mock.service import Emulator

EXTENSION_KEY = "omnitron_mock"


def emulator() -> Emulator:
    return current_app.extensions[EXTENSION_KEY]
