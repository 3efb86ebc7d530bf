"""The emulator's service API over HTTP: the control API of an emulator this
process did not start (a Docker service, a shared staging emulator).

:class:`RemoteService` offers the operations of
:class:`omnitron_mock.service.Emulator` that a test handle uses, each one
call to ``/_mock/…``; problems come back as the same exceptions
(:class:`~omnitron_mock.seed.SeedError`, :class:`~omnitron_mock.faults.FaultError`).
"""

from __future__ import annotations

from typing import Any

import requests
from omnitron_mock.faults import FaultError
from omnitron_mock.seed import SeedError

ADMIN_HEADER = "X-Mock-Admin-Token"
TIMEOUT_SECONDS = 30


_LARGEST_ID = 2**63 - 1


class RemoteEmulatorError(RuntimeError):
    """The remote emulator refused a control call, or could not be reached."""


class RemoteService:
    """The control operations of the emulator at ``url`` (its root, as ``serve`` prints it)."""

    def __init__(
        self,
        url: str,
        admin_token: str | None = None,
        session: requests.Session | None = None,
        user_token: str | None = None,
    ) -> None:
        """``user_token``, the test user's API token, goes with every control
        call: an emulator in tenant mode acts on that user's tenant (one without
        tenants pays it no heed)."""
        self.url = url.rstrip("/")
        self._session = session or requests.Session()
        if admin_token:
            self._session.headers[ADMIN_HEADER] = admin_token
        if user_token:
            self._session.headers["Authorization"] = f"Token {user_token}"

    def _call(self, method: str, path: str, *, expected: tuple[int, ...] = (200,), **options: Any) -> _JSONChecked:
        try:
            response = self._session.request(method, f"{self.url}/_mock/{path}", timeout=TIMEOUT_SECONDS, **options)
        except requests.RequestException as problem:
            raise RemoteEmulatorError(
                f"the emulator at {self.url} did not answer {method} /_mock/{path}: {problem}"
            ) from None
        if response.status_code in (401, 403):
            raise RemoteEmulatorError(
                f"the emulator at {self.url} refused {method} /_mock/{path} ({response.status_code}): "
                f"{response.text[:300]}; set its admin token (OMNITRON_MOCK_ADMIN_TOKEN), or, for an emulator "
                "in tenant mode, override the omnitron_credentials fixture with a user it knows"
            )
        if response.status_code not in expected:
            raise RemoteEmulatorError(
                f"{method} {self.url}/_mock/{path} answered {response.status_code}: {response.text[:300]}"
                + self._root_hint()
            )
        return _JSONChecked(response, f"{method} {self.url}/_mock/{path}")

    def _root_hint(self) -> str:
        # base_url ends in the API prefix, so it is an easy thing to pass here.
        for prefix in ("/api/i1", "/api/v1"):
            if self.url.endswith(prefix):
                return f"; the emulator's URL is its root ({self.url.removesuffix(prefix)}), not the API prefix"
        return ""

    def health(self) -> dict[str, Any]:
        """The emulator's health answer; RemoteEmulatorError when ``url`` is no omnitron-mock."""
        found = self._call("GET", "health").json()
        if not isinstance(found, dict) or found.get("status") != "ok":
            raise RemoteEmulatorError(f"{self.url} is not an omnitron-mock emulator: /_mock/health gave {found!r}")
        return found

    # -- state -----------------------------------------------------------------------

    def reset(self) -> None:
        self._call("POST", "reset")

    def seed(self, document: object, *, replace: bool = False) -> Any:
        params = {"replace": "true"} if replace else {}
        response = self._call("POST", "seed", expected=(200, 400), json=document, params=params)
        if response.status_code == 400:
            found = response.json().get("errors") or [{"path": "$", "message": response.json().get("detail", "")}]
            raise SeedError([(error["path"], error["message"]) for error in found])
        return response.json()

    def item(self, item_id: int) -> dict[str, Any] | None:
        response = self._call("GET", f"state/items/{item_id}", expected=(200, 404))
        return response.json() if response.status_code == 200 else None

    def order(self, order_id: int) -> dict[str, Any] | None:
        response = self._call("GET", f"state/orders/{order_id}", expected=(200, 404))
        return response.json() if response.status_code == 200 else None

    def items(self, order_id: int | None = None) -> list[dict[str, Any]]:
        params = {} if order_id is None else {"order": str(order_id)}
        return self._call("GET", "state/items", params=params).json()["items"]

    def orders(self, is_send: bool | None = None) -> list[dict[str, Any]]:
        if is_send is not None and not isinstance(is_send, bool):
            raise TypeError(f"is_send must be True, False or None, not {is_send!r}")
        params = {} if is_send is None else {"is_send": "true" if is_send else "false"}
        return self._call("GET", "state/orders", params=params).json()["orders"]

    def mappings(self, item_id: int | None = None) -> list[dict[str, Any]]:
        if item_id is not None and not 0 <= item_id <= _LARGEST_ID:
            # No item has such an id (stored ids are signed 64-bit); the control
            # API would refuse the filter, where the other modes find nothing.
            return []
        params = {} if item_id is None else {"item": str(item_id)}
        return self._call("GET", "state/mappings", params=params).json()["mappings"]

    @property
    def strict(self) -> bool:
        return bool(self._call("GET", "strict").json()["strict"])

    def set_strict(self, strict: bool) -> None:
        self._call("PUT", "strict", json={"strict": strict})

    # -- faults ----------------------------------------------------------------------

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "faults").json()["faults"]

    def add_faults(self, specs: object) -> list[dict[str, Any]]:
        response = self._call("POST", "faults", expected=(201, 400), json=specs)
        if response.status_code == 400:
            found = response.json().get("errors") or [{"path": "$", "message": response.json().get("detail", "")}]
            raise FaultError([(error["path"], error["message"]) for error in found])
        return response.json()["faults"]

    def clear_faults(self, fault_id: str | None = None) -> bool:
        if fault_id is None:
            self._call("DELETE", "faults", expected=(204,))
            return True
        return self._call("DELETE", f"faults/{fault_id}", expected=(204, 404)).status_code == 204

    # -- journal ---------------------------------------------------------------------

    def journal(
        self, *, method: str | None = None, path: str | None = None, status: int | None = None
    ) -> list[dict[str, Any]]:
        wanted = {"method": method, "path": path, "status": None if status is None else str(status)}
        params = {name: value for name, value in wanted.items() if value is not None}
        return self._call("GET", "requests", params=params).json()["requests"]

    def clear_journal(self) -> None:
        self._call("DELETE", "requests", expected=(204,))


class _JSONChecked:
    """A control call's answer whose JSON, when it is none, is a clear error."""

    def __init__(self, response: requests.Response, call: str) -> None:
        self._response = response
        self._call = call
        self.status_code = response.status_code

    def json(self) -> Any:
        try:
            return self._response.json()
        except ValueError:
            raise RemoteEmulatorError(
                f"{self._call} answered {self.status_code} with no JSON: {self._response.text[:300]!r}; "
                "is this an omnitron-mock emulator?"
            ) from None
