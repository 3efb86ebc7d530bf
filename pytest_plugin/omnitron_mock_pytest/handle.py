"""The handle a test holds: URLs, credentials, seeding, read-back, the journal,
assertions. Plain Python: no pytest import, usable from any test runner."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omnitron_mock.app import emulator_of, tenants_of
from omnitron_mock.endpoints import PREFIXES
from omnitron_mock.seed import SeedError, read_seed_file
from omnitron_mock.service import Emulator

from omnitron_mock_pytest.entries import JournalEntry
from omnitron_mock_pytest.remote_service import RemoteService

SeedSource = dict[str, Any] | str | Path
# "Not given", where None is a value a caller may mean.
_ABSENT: Any = object()


@dataclass(frozen=True)
class Credentials:
    """The user a test's client logs in as."""

    username: str
    password: str
    token: str


class ContractViolationsError(AssertionError):
    """Requests that broke the request contract; the message lists each one."""


class FaultHandle:
    """An injected fault. As a context manager it removes the fault on exit."""

    def __init__(self, handle: EmulatorHandle, fault: dict[str, Any]) -> None:
        self._handle = handle
        self.id: str = fault["id"]
        self.spec = fault

    @property
    def active(self) -> bool:
        return any(fault["id"] == self.id for fault in self._handle.faults())

    @property
    def used(self) -> int:
        """Requests this fault has affected so far (while it is active)."""
        found = [fault for fault in self._handle.faults() if fault["id"] == self.id]
        return found[0]["used"] if found else self.spec.get("times") or 0

    def remove(self) -> None:
        self._handle._remove_fault(self.id)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self.spec.items() if name not in ("id", "used"))
        return f"<FaultHandle {self.id} {shown}>"

    def __enter__(self) -> FaultHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()


class ServiceView:
    """Where a test's client goes and who it is: ``url`` is the server root,
    ``base_url`` the integration prefix (``/api/i1``), ``sdk_base_url`` the
    SDK prefix (``/api/v1``)."""

    url: str
    credentials: Credentials

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


class EmulatorHandle(ServiceView):
    """One emulator as one test sees it (see :class:`ServiceView` for URLs).

    ``service`` is the emulator's service API: the emulator itself
    (:class:`omnitron_mock.Emulator`, live and in-process modes) or its
    control API over HTTP (:class:`~omnitron_mock_pytest.remote_service.RemoteService`,
    remote mode). ``app`` is the Flask app when this process runs it, else None.
    """

    def __init__(self, service: Emulator | RemoteService, url: str, credentials: Credentials, app: Any = None) -> None:
        self._emulator = service
        self.app = app
        self.url = url.rstrip("/")
        self.credentials = credentials

    @classmethod
    def of_app(cls, app: Any, url: str, credentials: Credentials) -> EmulatorHandle:
        """The handle of an emulator app this process runs: in tenant mode, of
        the test user's tenant, which the test's requests reach too."""
        tenants = tenants_of(app)
        tenant = tenants.of_token(credentials.token) if tenants is not None else None
        world = emulator_of(app) if tenants is None or tenant is None else tenants.world(tenant)
        return cls(world, url, credentials, app)

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
        and item first. Raises :class:`omnitron_mock.seed.SeedError` with each
        problem's JSON path when the document is bad, and loads nothing then.
        """
        if source is None:
            loaded: Any = document
        elif isinstance(source, (str, Path)):
            loaded = read_seed_file(source)
        else:
            loaded = {**source, **document}
        self._emulator.seed(loaded, replace=replace)

    def item(self, item_id: int) -> dict[str, Any]:
        """The stored order item; KeyError when there is none."""
        item = self._emulator.item(item_id)
        if item is None:
            raise KeyError(f"no order item {item_id}")
        return item

    def order(self, order_id: int) -> dict[str, Any]:
        """The stored order with ``orderitem_set``; KeyError when there is none."""
        order = self._emulator.order(order_id)
        if order is None:
            raise KeyError(f"no order {order_id}")
        return order

    def items(self, order: int | None = None) -> list[dict[str, Any]]:
        """Every stored item by id, or the items of one order."""
        return self._emulator.items(order)

    def orders(self, is_send: bool | None = None) -> list[dict[str, Any]]:
        """Every stored order by pk, as ``GET orders/{pk}/`` answers it; only
        those whose ``is_send`` is ``is_send`` when given."""
        return self._emulator.orders(is_send)

    def mappings(self, item: int | None = None) -> list[dict[str, Any]]:
        """The ERP mappings made with ``create_mapping``, by pk (those of one
        item when given): ``pk``, ``content_type``, ``object_id`` (the item),
        ``integration_type``, ``code`` and ``update_stock`` (whether it
        released the item's stock)."""
        return self._emulator.mappings(item)

    # -- faults ----------------------------------------------------------------------

    def add_fault(self, kind: str, **fields: Any) -> FaultHandle:
        """Inject a fault (see the ``fault`` contract); use the result as a
        context manager to remove the fault when the block ends."""
        spec = {"kind": kind, **{name: value for name, value in fields.items() if value is not None}}
        [fault] = self._emulator.add_faults(spec)
        return FaultHandle(self, fault)

    def fail_next(
        self,
        n: int = 1,
        status: int = 503,
        *,
        method: str | None = None,
        path: str | None = None,
        retry_after: int | None = None,
        body: str | None = None,
    ) -> FaultHandle:
        """The next ``n`` matching requests get ``status`` with a DRF-style body
        (429 with ``Retry-After``); the emulator does not apply them."""
        return self.add_fault(
            "status", times=n, status=status, method=method, path=path, retry_after=retry_after, body=body
        )

    def delay(
        self,
        ms: float | tuple[float, float],
        *,
        method: str | None = None,
        path: str | None = None,
        times: int | None = None,
        seed: int | None = None,
    ) -> FaultHandle:
        """Hold matching requests ``ms`` milliseconds (or a uniform random time
        in ``(low, high)``) before serving them normally."""
        delay_ms = list(ms) if isinstance(ms, tuple) else ms
        return self.add_fault("latency", delay_ms=delay_ms, method=method, path=path, times=times, seed=seed)

    def drop_connection(self, n: int = 1, *, method: str | None = None, path: str | None = None) -> FaultHandle:
        """Close the connection of the next ``n`` matching requests without answering."""
        return self.add_fault("drop", times=n, method=method, path=path)

    def malformed_body(
        self, n: int = 1, status: int = 200, *, method: str | None = None, path: str | None = None
    ) -> FaultHandle:
        """Answer the next ``n`` matching requests with a body that is not valid JSON."""
        return self.add_fault("malformed", times=n, status=status, method=method, path=path)

    def truncate_body(self, n: int = 1, *, method: str | None = None, path: str | None = None) -> FaultHandle:
        """Promise a body to the next ``n`` matching requests, send half, close."""
        return self.add_fault("truncate", times=n, method=method, path=path)

    def flaky(
        self,
        rate: float,
        *,
        seed: int = 0,
        statuses: list[int] | None = None,
        method: str | None = None,
        path: str | None = None,
        times: int | None = None,
    ) -> FaultHandle:
        """Fail a ``rate`` fraction of matching requests with a status from
        ``statuses`` (500, 502, 503, 429); the same seed fails the same requests."""
        return self.add_fault("flaky", rate=rate, seed=seed, statuses=statuses, method=method, path=path, times=times)

    def faults(self) -> list[dict[str, Any]]:
        """Active faults with their use counters."""
        return self._emulator.faults()

    def clear_faults(self) -> None:
        self._emulator.clear_faults()

    def _remove_fault(self, fault_id: str) -> None:
        self._emulator.clear_faults(fault_id)

    # -- journal ---------------------------------------------------------------------

    def requests(
        self, *, path: str | None = None, method: str | None = None, status: int | None = None
    ) -> list[JournalEntry]:
        """Journalled requests, oldest first; ``path`` matches a substring."""
        return [
            JournalEntry.from_json(copy.deepcopy(entry))
            for entry in self._emulator.journal(method=method, path=path, status=status)
        ]

    @property
    def last_request(self) -> JournalEntry:
        found = self.requests()
        if not found:
            raise AssertionError("the emulator has received no request yet")
        return found[-1]

    def clear_requests(self) -> None:
        self._emulator.clear_journal()

    # -- assertions ------------------------------------------------------------------

    def assert_called(
        self,
        path: str | None = None,
        method: str | None = None,
        *,
        times: int | None = None,
        path_contains: str | None = None,
        json: Any = _ABSENT,
        query: Mapping[str, object] | None = None,
    ) -> list[JournalEntry]:
        """At least one matching request (exactly ``times`` when given); returns them.

        ``path`` is the exact path after the emulated prefix, as the client
        appends it to ``base_url`` or ``sdk_base_url`` (``"order_items/"``
        matches ``/api/i1/order_items/`` and no path below it); a path starting
        with ``/`` is compared whole. ``path_contains`` matches any path that
        contains it. ``json`` matches requests whose JSON body equals it.
        ``query`` matches requests whose query string holds each of its names
        with that value, compared as text (``{"is_send": False}`` matches
        ``?is_send=False``, as ``requests`` encodes it); other names may be there too.
        """
        __tracebackhide__ = True
        if path is not None:
            _check_exact_path(path)
        wanted_params = {name: str(value) for name, value in (query or {}).items()}
        found = [
            entry
            for entry in self.requests(method=method, path=path_contains)
            if (path is None or _same_path(entry.path, path))
            and (json is _ABSENT or entry.body == json)
            and wanted_params.items() <= entry.params.items()
        ]
        wanted = f"{method or 'any method'} {_described_path(path, path_contains)}"
        if json is not _ABSENT:
            wanted += f" with JSON body {json!r}"
        if wanted_params:
            wanted += f" with query {wanted_params!r}"
        if times is None and not found:
            raise AssertionError(f"expected a request to {wanted}, got none; {self._journal_summary()}")
        if times is not None and len(found) != times:
            summary = self._journal_summary()
            raise AssertionError(f"expected {times} request(s) to {wanted}, got {len(found)}; {summary}")
        return found

    def assert_not_called(
        self,
        path: str | None = None,
        method: str | None = None,
        *,
        path_contains: str | None = None,
        json: Any = _ABSENT,
        query: Mapping[str, object] | None = None,
    ) -> None:
        __tracebackhide__ = True
        self.assert_called(path, method, times=0, path_contains=path_contains, json=json, query=query)

    def assert_item(self, item_id: int, **expected: Any) -> None:
        """Each named field of the stored item equals its expected value."""
        __tracebackhide__ = True
        item = self._emulator.item(item_id)
        if item is None:
            raise AssertionError(f"order item {item_id}: no such item")
        check_item(item_id, item, expected)

    def assert_items(self, item_ids: Iterable[int], **expected: Any) -> None:
        """:meth:`assert_item` for several items; reports every mismatch at once,
        missing items included."""
        __tracebackhide__ = True
        problems = []
        for item_id in item_ids:
            try:
                self.assert_item(item_id, **expected)
            except AssertionError as problem:
                problems.append(str(problem))
        if problems:
            raise AssertionError("\n".join(problems))

    def assert_orders_sent(self, order_ids: Iterable[int] | None = None) -> None:
        """Each order named (every stored order when None) has ``is_send`` true:
        the connector marked it exported. Reports every order that has not,
        and every named order that is not stored, at once."""
        __tracebackhide__ = True
        missing: list[int] = []
        if order_ids is None:
            unsent = [order["pk"] for order in self._emulator.orders(is_send=False)]
        else:
            unsent = []
            for order_id in sorted(set(order_ids)):
                order = self._emulator.order(order_id)
                if order is None:
                    missing.append(order_id)
                elif order["is_send"] is not True:
                    unsent.append(order_id)
        problems = []
        if unsent:
            problems.append("orders not marked sent: " + ", ".join(map(str, unsent)))
        if missing:
            problems.append("no such orders: " + ", ".join(map(str, missing)))
        if problems:
            raise AssertionError("\n".join(problems))

    def assert_mapped(
        self,
        item_ids: Iterable[int] | None = None,
        *,
        codes: Mapping[int, str] | None = None,
        stock_released: bool | None = None,
    ) -> None:
        """Each item named and each key of ``codes`` (every stored item when
        neither names any) has an ERP mapping; with ``codes``, to that code;
        with ``stock_released``, one whose ``update_stock`` is that. Reports
        every problem at once, one line each, by item id."""
        __tracebackhide__ = True
        wanted_codes = dict(codes or {})
        stored_ids: set[int] | None = None
        if item_ids is None and not wanted_codes:
            stored_ids = {item["id"] for item in self._emulator.items()}
            checked = stored_ids
        else:
            checked = set(item_ids or ()) | set(wanted_codes)
        mapped = {mapping["object_id"]: mapping for mapping in self._emulator.mappings()}
        problems = []
        for item_id in sorted(checked):
            mapping = mapped.get(item_id)
            if mapping is None:
                stored = item_id in stored_ids if stored_ids is not None else self._emulator.item(item_id) is not None
                problems.append(f"order item {item_id}: " + ("no mapping" if stored else "no such item"))
                continue
            problems.extend(_mapping_problems(item_id, mapping, wanted_codes.get(item_id), stock_released))
        if problems:
            raise AssertionError("\n".join(problems))

    def contract_violations(self) -> list[str]:
        """Readable lines for every request that broke the request contract."""
        return [line for entry in self.requests() for line in entry.violations()]

    def assert_contract_clean(self) -> None:
        """No request so far had schema errors or fields Omnitron would ignore."""
        __tracebackhide__ = True
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


# The emulated prefixes as journalled paths start: "/api/i1/", "/api/v1/".
_PREFIXES = tuple(f"{prefix}/" for prefix in PREFIXES)


def _same_path(journalled: str, wanted: str) -> bool:
    """Whether a journalled path is ``wanted``: whole when it starts with ``/``,
    else after either emulated prefix."""
    if wanted.startswith("/"):
        return journalled == wanted
    return any(journalled == prefix + wanted for prefix in _PREFIXES)


def _check_exact_path(path: str) -> None:
    """Refuse a ``path=`` no request can have: an ``assert_not_called`` with it
    would pass whatever the client sent."""
    __tracebackhide__ = True
    whole = path.startswith("/")
    if "?" in path or "#" in path or not path.endswith("/") or (whole and not path.startswith(_PREFIXES)):
        raise AssertionError(
            f"path={path!r} can match no request: path= is the exact path after the prefix, as the client "
            "appends it to base_url, ending with '/' and without a query (such as 'order_items/1/'); "
            "for a part of a path use path_contains="
        )


def _described_path(path: str | None, path_contains: str | None) -> str:
    if path is not None:
        return path
    return f"a path containing {path_contains!r}" if path_contains is not None else "any path"


def _mapping_problems(
    item_id: int, mapping: dict[str, Any], code: str | None, stock_released: bool | None
) -> list[str]:
    """How an item's mapping differs from the ``code`` and stock flag wanted (None: any)."""
    problems = []
    if code is not None and mapping["code"] != code:
        problems.append(f"order item {item_id}: code is {mapping['code']!r}, expected {code!r}")
    if stock_released is not None and mapping["update_stock"] != stock_released:
        problems.append(
            f"order item {item_id}: stock {_released(mapping['update_stock'])} "
            f"(update_stock {str(mapping['update_stock']).lower()}), expected {_released(stock_released)}"
        )
    return problems


def _released(update_stock: bool) -> str:
    return "released" if update_stock else "not released"


def check_item(item_id: int, item: dict[str, Any], expected: dict[str, Any]) -> None:
    """Raise AssertionError naming every field of ``item`` that differs from ``expected``."""
    __tracebackhide__ = True
    unknown = [name for name in expected if name not in item]
    if unknown:
        # A misspelt name would otherwise read as a stored None.
        raise AssertionError(
            f"order item {item_id} has no field {', '.join(map(repr, unknown))}; its fields: {', '.join(item)}"
        )
    wrong = [f"{name} is {item[name]!r}, expected {value!r}" for name, value in expected.items() if item[name] != value]
    if wrong:
        raise AssertionError(f"order item {item_id}: " + "; ".join(wrong))


__all__ = ["ContractViolationsError", "Credentials", "EmulatorHandle", "FaultHandle", "SeedError"]
