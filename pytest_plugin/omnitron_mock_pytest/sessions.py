"""Session-wide emulators: one app per test session, served live or
in-process, or an emulator running elsewhere, driven over its control API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omnitron_mock import Settings, create_app
from omnitron_mock.config import UserSpec
from omnitron_mock.seed import startup_seed
from omnitron_mock.serving import HTTPServer

from omnitron_mock_pytest.handle import Credentials, EmulatorHandle
from omnitron_mock_pytest.inprocess import DEFAULT_URL, InProcessTransport
from omnitron_mock_pytest.remote_service import RemoteService


def emulator_app(settings: Settings, credentials: Credentials) -> Any:
    """An app on the default seed whose user is ``credentials``."""
    user = UserSpec(credentials.username, credentials.password, credentials.token)
    return create_app(settings, seed=startup_seed(None, [user]))


@dataclass
class LiveEmulator:
    """The emulator served over HTTP on 127.0.0.1, a free port, a background thread."""

    app: Any
    server: HTTPServer
    credentials: Credentials

    @classmethod
    def start(cls, settings: Settings, credentials: Credentials) -> LiveEmulator:
        app = emulator_app(settings, credentials)
        return cls(app, HTTPServer(app, host="127.0.0.1", port=0).start(), credentials)

    def handle(self) -> EmulatorHandle:
        return EmulatorHandle.of_app(self.app, self.server.url, self.credentials)

    def stop(self) -> None:
        self.server.stop()


@dataclass
class InProcessEmulator:
    """The emulator answering ``requests`` calls to ``url`` through ``responses``."""

    app: Any
    url: str
    credentials: Credentials

    @classmethod
    def start(cls, settings: Settings, credentials: Credentials, url: str = DEFAULT_URL) -> InProcessEmulator:
        return cls(emulator_app(settings, credentials), url, credentials)

    def handle(self) -> EmulatorHandle:
        return EmulatorHandle.of_app(self.app, self.url, self.credentials)

    def transport(self) -> InProcessTransport:
        """Intercepts ``url`` while started; one per test."""
        return InProcessTransport(self.app, self.url)

    def stop(self) -> None:
        """Nothing runs between tests: each test's transport stops with it."""


@dataclass
class RemoteEmulator:
    """An emulator this process did not start (a Docker service, a shared
    staging emulator), driven over its control API at ``url``."""

    service: RemoteService
    url: str
    credentials: Credentials

    @classmethod
    def start(cls, url: str, credentials: Credentials, admin_token: str | None = None) -> RemoteEmulator:
        """Connect: the emulator must answer its health check."""
        service = RemoteService(url, admin_token, user_token=credentials.token)
        service.health()
        return cls(service, url.rstrip("/"), credentials)

    def handle(self) -> EmulatorHandle:
        return EmulatorHandle(self.service, self.url, self.credentials)

    def stop(self) -> None:
        """The emulator keeps running: this process did not start it."""
