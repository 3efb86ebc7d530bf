"""The handle a test holds: URLs, credentials, seeding, read-back, the journal,
assertions. Plain Python: no pytest import, usable from any test runner."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mockserver.context import EXTENSION_KEY, Emulator
from mockserver.journal import matches, present
from mockserver.seed import SeedError, build_seed, read_seed_file
from pytest_plugin.entries import JournalEntry

SeedSource = dict[str, Any] | str | Path


@dataclass(frozen=True)
class Credentials:
    """The user a test's client logs in as."""

    username: str
    password: str
    token: str


class ContractViolationsError(AssertionError):
    """Requests that broke the request contract; the message lists each one."""


class EmulatorHandle:
    """One emulator as one test sees it.

    ``url`` is the server root; ``base_url`` the integration prefix
    (``/api/i1``) and ``sdk_base_url`` the SDK prefix (``/api/v1``).
    """

    def __init__(self, app: Any, url: str, credentials: Credentials) -> None:
        self._emulator: Emulator = app.extensions[EXTENSION_KEY]
        self.app = app
        self.url = url.rstrip("/")
        self.credentials = credentials

    # -- where and who ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"{self.url}/api/i1"

    @property
    def sdk_base_url(self) -> str:
        return f"{self.url}/api/v1"

    @property
    def username(self) -> str:
        return self.credentials.username

    @property
    def password(self) -> str:
        return self.credentials.password

    @property
    def token(self) -> str:
        return self.credentials.token

    @property
    def headers(self) -> dict[str, str]:
        """``Authorization`` header for the test user."""
        return {"Authorization": f"Token {self.token}"}

    # -- state -----------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the session's seed, default mode, empty journal."""
        self._emulator.reset()

    def set_strict(self, strict: bool = True) -> None:
        """Switch strict status rules on or off until the next reset."""
        self._emulator.set_strict(strict)

    def seed(self, source: SeedSource | None = None, *, replace: bool = False, **document: Any) -> None:
        """Load orders and users: a seed document, a path to a JSON seed file, or
        keyword parts (``orders=[...]``, ``users=[...]``).

        Loads on top of the current state; ``replace=True`` drops every order
        and item first. Raises :class:`mockserver.seed.SeedError` with each
        problem's JSON path when the document is bad, and loads nothing then.
        """
        if source is None:
            loaded: Any = document
        elif isinstance(source, (str, Path)):
            loaded = read_seed_file(source)
        else:
            loaded = {**source, **document}
        self._emulator.store.load(build_seed(loaded, self._emulator.contracts), replace=replace)

    def item(self, item_id: int) -> dict[str, Any]:
        """The stored order item; KeyError when there is none."""
        item = self._emulator.store.get_item(item_id)
        if item is None:
            raise KeyError(f"no order item {item_id}")
        return item

    def order(self, order_id: int) -> dict[str, Any]:
        """The stored order with ``orderitem_set``; KeyError when there is none."""
        order = self._emulator.store.get_order(order_id)
        if order is None:
            raise KeyError(f"no order {order_id}")
        return order

    def items(self, order: int | None = None) -> list[dict[str, Any]]:
        """Every stored item by id, or the items of one order."""
        if order is None:
            return list(self._emulator.store.iter_items())
        _, rows = self._emulator.store.list_items(order, 0, 2**31)
        return rows

    # -- journal ---------------------------------------------------------------------

    def requests(
        self, *, path: str | None = None, method: str | None = None, status: int | None = None
    ) -> list[JournalEntry]:
        """Journalled requests, oldest first; ``path`` matches a substring."""
        state = self._emulator
        return [
            JournalEntry.from_json(copy.deepcopy(present(entry, state.contracts)))
            for entry in state.store.requests()
            if matches(entry, method, path, status)
        ]

    @property
    def last_request(self) -> JournalEntry:
        found = self.requests()
        if not found:
            raise AssertionError("the emulator has received no request yet")
        return found[-1]

    def clear_requests(self) -> None:
        self._emulator.store.clear_requests()

    # -- assertions ------------------------------------------------------------------

    def assert_called(
        self, path: str | None = None, method: str | None = None, *, times: int | None = None
    ) -> list[JournalEntry]:
        """At least one matching request (exactly ``times`` when given); returns them."""
        found = self.requests(path=path, method=method)
        wanted = f"{method or 'any method'} {path or 'any path'}"
        if times is None and not found:
            raise AssertionError(f"expected a request to {wanted}, got none; {self._journal_summary()}")
        if times is not None and len(found) != times:
            summary = self._journal_summary()
            raise AssertionError(f"expected {times} request(s) to {wanted}, got {len(found)}; {summary}")
        return found

    def assert_not_called(self, path: str | None = None, method: str | None = None) -> None:
        self.assert_called(path, method, times=0)

    def assert_item(self, item_id: int, **expected: Any) -> None:
        """Each named field of the stored item equals its expected value."""
        check_item(item_id, self.item(item_id), expected)

    def assert_items(self, item_ids: Iterable[int], **expected: Any) -> None:
        """:meth:`assert_item` for several items; reports every mismatch at once."""
        problems = []
        for item_id in item_ids:
            try:
                self.assert_item(item_id, **expected)
            except AssertionError as problem:
                problems.append(str(problem))
        if problems:
            raise AssertionError("\n".join(problems))

    def contract_violations(self) -> list[str]:
        """Readable lines for every request that broke the request contract."""
        return [line for entry in self.requests() for line in entry.violations()]

    def assert_contract_clean(self) -> None:
        """No request so far had schema errors or fields Omnitron would ignore."""
        lines = self.contract_violations()
        if lines:
            raise ContractViolationsError(
                "requests that break the Omnitron request contract:\n" + "\n".join(f"  {line}" for line in lines)
            )

    def _journal_summary(self) -> str:
        entries = self.requests()
        if not entries:
            return "the journal is empty"
        return "journal: " + ", ".join(f"{e.method} {e.path} -> {e.status}" for e in entries)


_ABSENT = object()


def check_item(item_id: int, item: dict[str, Any], expected: dict[str, Any]) -> None:
    """Raise AssertionError naming every field of ``item`` that differs from ``expected``."""
    wrong = [
        f"{name} is {item.get(name)!r}, expected {value!r}"
        for name, value in expected.items()
        if item.get(name, _ABSENT) != value
    ]
    if wrong:
        raise AssertionError(f"order item {item_id}: " + "; ".join(wrong))

__all__ = ["ContractViolationsError", "Credentials", "EmulatorHandle", "SeedError"]
