"""Provider verification: the same handle, pointed at a real Omnitron."""

from __future__ import annotations

from typing import Any

import requests

from omnitron_mock_pytest.handle import Credentials, EmulatorHandle, ServiceView, check_item


class LoginFailed(RuntimeError):
    """The real Omnitron refused the user given for the run."""


class EmulatorOnly(Exception):
    """A call that only the emulator can answer (seeding, the journal, resets);
    the pytest plugin skips a test that makes one, with this message."""


class RemoteOmnitron(ServiceView):
    """A real Omnitron behind the handle's interface.

    Reads go over HTTP with the logged-in user's token; what only the
    emulator has (seeding, reset, journal, strict mode) raises
    :class:`EmulatorOnly`.
    """

    def __init__(self, url: str, username: str, password: str, session: requests.Session | None = None) -> None:
        self.url = url.rstrip("/")
        self._session = session or requests.Session()
        response = self._session.post(
            f"{self.url}/api/i1/auth/login/", json={"username": username, "password": password}, timeout=30
        )
        if response.status_code != 200:
            raise LoginFailed(f"login to {self.url} failed with {response.status_code}: {response.text[:200]}")
        self.credentials = Credentials(username, password, response.json()["key"])

    def _get(self, path: str) -> Any:
        response = self._session.get(f"{self.base_url}/{path}", headers=self.headers, timeout=30)
        if response.status_code == 404:
            raise KeyError(path)
        response.raise_for_status()
        return response.json()

    def item(self, item_id: int) -> dict[str, Any]:
        return self._get(f"order_items/{item_id}/")

    def order(self, order_id: int) -> dict[str, Any]:
        return self._get(f"orders/{order_id}/")

    def assert_item(self, item_id: int, **expected: Any) -> None:
        check_item(item_id, self.item(item_id), expected)

    def __getattr__(self, name: str) -> Any:
        # Only what the emulator's handle offers is "emulator only"; anything
        # else (dunders that copy and pickle look for, typos) is simply absent.
        offered = None if name.startswith("_") else getattr(EmulatorHandle, name, None)
        if offered is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        message = f"{name}() needs the emulator; this run targets the real Omnitron at {self.url}"
        if isinstance(offered, property):
            raise EmulatorOnly(message)

        def emulator_only(*_args: Any, **_kwargs: Any) -> Any:
            raise EmulatorOnly(message)

        return emulator_only
