"""The mock-only control API under ``/_mock``: health, reset, seed, state,
journal, faults, and its own OpenAPI document.

Each route is HTTP around one operation of the emulator's service API
(:class:`omnitron_mock.service.Emulator`): it reads the request, calls the
operation, and words the answer or the error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from importlib.metadata import PackageNotFoundError, version

from flask import Blueprint, Response, request

from omnitron_mock import errors

# ADMIN_COOKIE and ADMIN_HEADER are named here too, where the control API's callers look for them.
from omnitron_mock.access import ADMIN_COOKIE as ADMIN_COOKIE
from omnitron_mock.access import ADMIN_HEADER as ADMIN_HEADER
from omnitron_mock.access import access_problem, caller, tenants
from omnitron_mock.body import is_json_media_type, loads_strict
from omnitron_mock.context import emulator
from omnitron_mock.contracts import bundled_control_openapi
from omnitron_mock.errors import APIError
from omnitron_mock.faults import FaultError
from omnitron_mock.jsonio import json_response
from omnitron_mock.seed import SeedError
from omnitron_mock.service import QuotaExceeded, UsersFixed

blueprint = Blueprint("mock_control", __name__, url_prefix="/_mock")
# What any caller may read: health checks, and the API's description (which,
# like /openapi.json, holds nothing the source tree does not).
_OPEN_PATHS = frozenset({"/_mock/health", "/_mock/openapi.json"})
# More digits than any status has, and far fewer than int() refuses to read.
_MAX_STATUS_DIGITS = 10
# A signed 64-bit id has at most 19 digits.
_MAX_ID_DIGITS = 19
# What ?is_send= takes, in any case.
_BOOLEANS = {"true": True, "false": False}


@blueprint.before_request
def require_access() -> None:
    """Every control call but health and the OpenAPI document passes the
    access check (see :mod:`omnitron_mock.access`), which also picks the world it acts on."""
    if request.path in _OPEN_PATHS:
        return
    problem = access_problem()
    if problem is not None:
        raise problem


@cache
def package_version() -> str:
    try:
        return version("omnitron-mock")
    except PackageNotFoundError:
        return "0+unknown"


def _json_body() -> object:
    """The control call's JSON body, or None when it has none."""
    raw = _raw_json_body()
    if raw is None:
        return None
    try:
        return loads_strict(raw.decode("utf-8"))
    except ValueError as problem:
        raise errors.parse_error(str(problem)) from None


def _raw_json_body() -> bytes | None:
    """The body, unparsed, or None when there is none.

    A body must say it is JSON: a browser page can send a form or
    ``text/plain`` to any site without asking first, but not JSON. A call
    that names another type is refused even when its body is empty (an
    empty form is still a form); one without a body needs no type.
    """
    limit = emulator().settings.max_control_body_bytes
    if (request.content_length or 0) > limit:
        raise errors.payload_too_large()
    content_type = request.content_type
    if content_type and not is_json_media_type(content_type):
        raise errors.unsupported_media_type(content_type)
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise errors.payload_too_large()
    if not raw.strip():
        return None
    if not is_json_media_type(content_type):
        raise errors.unsupported_media_type(content_type or "")
    return raw


def _flag(name: str) -> bool:
    return request.args.get(name, "").lower() in ("1", "true", "yes")


@blueprint.get("/health")
def health() -> Response:
    return json_response({"status": "ok", "version": package_version()})


@blueprint.get("/openapi.json")
def control_openapi() -> Response:
    """The control API's OpenAPI 3.1 document, self-contained, with this
    server's enum extensions (as ``/openapi.json`` has them)."""
    return json_response(bundled_control_openapi(emulator().contracts))


@blueprint.post("/reset")
def reset() -> Response:
    _raw_json_body()  # takes no body, but a form posted here is refused all the same
    tenants_reset = reset_caller_worlds()
    return json_response(
        {"status": "reset"} if tenants_reset is None else {"status": "reset", "tenants": tenants_reset}
    )


def reset_caller_worlds() -> list[str] | None:
    """Reset what the caller acts on: its world, or for the admin in tenant mode
    every world (then the tenants reset, else None)."""
    found = tenants()
    if found is not None and caller().everything:
        return found.reset_all()
    emulator().reset()
    return None


@blueprint.post("/seed")
def seed() -> Response:
    document = _json_body()
    if document is None:
        raise APIError(400, {"detail": "Send a seed document as the JSON body."})
    try:
        counts = emulator().seed(document, replace=_flag("replace"))
    except SeedError as problem:
        found = [{"path": path, "message": message} for path, message in problem.errors]
        raise APIError(400, {"detail": "The seed does not match the seed contract.", "errors": found}) from None
    except UsersFixed as problem:
        raise APIError(400, {"detail": str(problem)}) from None
    except QuotaExceeded as problem:
        raise APIError(403, {"detail": str(problem)}) from None
    return json_response({"users": counts.users, "orders": counts.orders, "items": counts.items})


@blueprint.get("/tenants")
def list_tenants() -> Response:
    """Tenant mode: every tenant the users name, with its users and, once it
    has a world, when it was last seen (the admin's; a tenant sees itself)."""
    found = tenants()
    if found is None:
        raise APIError(404, {"detail": "This emulator does not run in tenant mode (--tenant-per-user)."})
    who = caller()
    seen = {entry.name: entry.last_seen for entry in found.entries() if not entry.expired}
    names = found.names() if who.admin else [who.world.tenant]
    return json_response(
        [
            {"name": name, "users": found.users_of(name), "active": name in seen, "last_seen": _stamp(seen.get(name))}
            for name in names
            if name is not None
        ]
    )


@blueprint.delete("/tenants/<path:name>")
def expire_tenant(name: str) -> Response:
    """Tenant mode, admin only: forget a tenant's world now, as idle expiry does."""
    found = tenants()
    if found is None:
        raise APIError(404, {"detail": "This emulator does not run in tenant mode (--tenant-per-user)."})
    if not caller().admin:
        raise APIError(403, {"detail": "Only the admin token expires a tenant."})
    if name not in found.names():
        raise APIError(404, {"detail": f"No tenant is named {name!r}: GET /_mock/tenants lists them."})
    found.expire(name)
    return Response(status=204)


def _stamp(when: float | None) -> str | None:
    return None if when is None else datetime.fromtimestamp(when, UTC).isoformat()


@blueprint.get("/state")
def state() -> Response:
    return json_response(emulator().snapshot())


@blueprint.get("/state/items/<int:item_id>")
def stored_item(item_id: int) -> Response:
    """One stored item, as the emulated API shows it (no token, no fault, no journal entry)."""
    item = emulator().item(item_id)
    if item is None:
        raise errors.not_found()
    return json_response(item)


@blueprint.get("/state/items")
def stored_items() -> Response:
    """Every stored item by id, or those of ``?order=``: ``{"count", "items"}``."""
    order_id = _optional_id("order", "order must be an order id: digits 0-9 only, such as 1.")
    items = emulator().items(order_id)
    return json_response({"count": len(items), "items": items})


@blueprint.get("/state/orders/<int:order_id>")
def stored_order(order_id: int) -> Response:
    """One stored order with ``orderitem_set``, as the emulated API shows it."""
    order = emulator().order(order_id)
    if order is None:
        raise errors.not_found()
    return json_response(order)


@blueprint.get("/state/orders")
def stored_orders() -> Response:
    """Every stored order by pk, as the emulated API shows it, or those whose
    ``is_send`` is ``?is_send=``: ``{"count", "orders"}``."""
    is_send_text = request.args.get("is_send")
    is_send = None
    if is_send_text is not None:
        # Strict, unlike GET orders/ (which ignores a value it cannot read):
        # a typo here would otherwise list every order and hide itself.
        is_send = _BOOLEANS.get(is_send_text.lower())
        if is_send is None:
            raise APIError(400, {"detail": "is_send must be true or false, such as is_send=true."})
    orders = emulator().orders(is_send)
    return json_response({"count": len(orders), "orders": orders})


@blueprint.get("/state/mappings")
def stored_mappings() -> Response:
    """Every ERP mapping by pk, or that of ``?item=``: ``{"count", "mappings"}``."""
    item_id = _optional_id("item", "item must be an order item id: digits 0-9 only, such as 1.")
    mappings = emulator().mappings(item_id)
    return json_response({"count": len(mappings), "mappings": mappings})


@blueprint.get("/strict")
def strict_mode() -> Response:
    return json_response({"strict": emulator().strict})


@blueprint.put("/strict")
def set_strict_mode() -> Response:
    """``{"strict": true|false}``: strict status rules until the next reset."""
    document = _json_body()
    if not isinstance(document, dict) or set(document) != {"strict"} or not isinstance(document["strict"], bool):
        raise APIError(400, {"detail": 'Send {"strict": true} or {"strict": false} as the JSON body.'})
    emulator().set_strict(document["strict"])
    return json_response({"strict": emulator().strict})


@blueprint.get("/faults")
def list_faults() -> Response:
    return json_response({"faults": emulator().faults()})


@blueprint.post("/faults")
def add_faults() -> Response:
    try:
        added = emulator().add_faults(_json_body())
    except FaultError as problem:
        found = [{"path": path, "message": message} for path, message in problem.errors]
        raise APIError(400, {"detail": "The fault does not match the fault contract.", "errors": found}) from None
    return json_response({"faults": added}, status=201)


@blueprint.delete("/faults")
def clear_faults() -> Response:
    emulator().clear_faults()
    return Response(status=204)


@blueprint.delete("/faults/<fault_id>")
def delete_fault(fault_id: str) -> Response:
    if not emulator().clear_faults(fault_id):
        raise APIError(404, {"detail": "Not found."})
    return Response(status=204)


def _optional_id(name: str, refusal: str) -> int | None:
    """The id in query parameter ``name``; None when absent; a 400 saying ``refusal`` when not an id."""
    text = request.args.get(name)
    return None if text is None else _query_number(text, _MAX_ID_DIGITS, refusal)


def _query_number(text: str, max_digits: int, refusal: str) -> int:
    """A number in a query filter: ASCII digits only (``str.isdigit`` takes "²"
    and other digits ``int`` refuses or reads differently), and few of them;
    400 with ``refusal`` otherwise."""
    if not (0 < len(text) <= max_digits and text.isascii() and text.isdigit()):
        raise APIError(400, {"detail": refusal})
    return int(text)


@blueprint.get("/requests")
def list_requests() -> Response:
    status_text = request.args.get("status")
    status = (
        None
        if status_text is None
        else _query_number(
            status_text, _MAX_STATUS_DIGITS, "status must be an HTTP status code: digits 0-9 only, such as 200."
        )
    )
    entries = emulator().journal(method=request.args.get("method"), path=request.args.get("path"), status=status)
    return json_response({"count": len(entries), "requests": entries})


@blueprint.delete("/requests")
def clear_requests() -> Response:
    emulator().clear_journal()
    return Response(status=204)
