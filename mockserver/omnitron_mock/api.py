"""The emulated Omnitron endpoints, dispatched as DRF's APIView does.

Each route accepts every method so that, as in DRF, authentication runs
before the method check: an anonymous GET on a PATCH-only view is a 401,
not a 405. Routing and the HTTP around a call live in
:mod:`omnitron_mock.emulated`.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from omnitron_mock import errors, fields
from omnitron_mock.auth import authenticate
from omnitron_mock.bulk import BulkOutcome, apply_bulk, parse_bulk
from omnitron_mock.errors import APIError, FieldErrors
from omnitron_mock.exchange import Call, Reply, json_reply
from omnitron_mock.store.base import Row

PREFIXES = ("/api/i1", "/api/v1")
_DRF_METHOD_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

Handler = Callable[..., Reply]


@dataclass(frozen=True)
class Endpoint:
    """One DRF view: its handlers by method and whether it needs a token."""

    name: str
    handlers: dict[str, Handler]
    public: bool = False
    request_contract: str | None = None
    carries_credentials: bool = False

    @cached_property
    def allow(self) -> str:
        methods = set(self.handlers) | {"OPTIONS"}
        if "GET" in methods:
            methods.add("HEAD")
        return ", ".join(m for m in _DRF_METHOD_ORDER if m in methods)

    def dispatch(self, call: Call, route_args: dict[str, str]) -> Reply:
        """Authenticate, pick the method's handler, answer; errors become replies."""
        environ = call.environ
        try:
            user = authenticate(environ.get("HTTP_AUTHORIZATION"), call.state.store)
            if user is None and not self.public:
                raise errors.not_authenticated()
            method = environ["REQUEST_METHOD"]
            if method == "OPTIONS":
                reply = json_reply(self._metadata())
            else:
                handler = self.handlers.get("GET" if method == "HEAD" else method)
                if handler is None:
                    raise errors.method_not_allowed(method)
                reply = handler(call, user, **route_args)
        except APIError as error:
            reply = json_reply(error.body, error.status, error.headers)
        reply.headers.setdefault("Allow", self.allow)
        return reply

    def _metadata(self) -> dict[str, Any]:
        return {"name": self.name, "description": "", "renders": ["application/json"], "parses": ["application/json"]}


def _field_errors(errors_by_field: dict[str, list[str]]) -> APIError:
    return APIError(400, errors_by_field)


def login(call: Call, _user: Row | None) -> Reply:
    try:
        data = fields.expect_dict(call.json())
    except fields.Invalid as invalid:
        raise _field_errors({"non_field_errors": invalid.messages}) from None
    problems: dict[str, list[str]] = {}
    credentials: dict[str, str] = {}
    for name, trim in (("username", True), ("password", False)):
        if name not in data:
            problems[name] = [fields.REQUIRED]
            continue
        value = data[name]
        try:
            credentials[name] = fields.text(value, max_length=4096) if trim else _password(value)
        except fields.Invalid as invalid:
            problems[name] = invalid.messages
    if problems:
        raise _field_errors(problems)
    user = call.state.store.user_by_username(credentials["username"])
    password_ok = user is not None and hmac.compare_digest(
        user["password"].encode("utf-8", "surrogatepass"), credentials["password"].encode("utf-8", "surrogatepass")
    )
    if user is None or not password_ok or not user["is_active"]:
        raise _field_errors({"non_field_errors": ["Unable to log in with provided credentials."]})
    return json_reply({"key": user["token"]})


def _password(value: object) -> str:
    if value is None:
        raise fields.Invalid(fields.NULL)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise fields.Invalid(fields.NOT_A_STRING)
    # DRF's AuthTokenSerializer keeps the password untrimmed: only "" is blank.
    if str(value) == "":
        raise fields.Invalid(fields.BLANK)
    return str(value)


def active_user(_call: Call, user: Row) -> Reply:
    keys = ("pk", "username", "email", "first_name", "last_name", "is_active")
    return json_reply({key: user[key] for key in keys})


def bulk_status_update(call: Call, _user: Row) -> Reply:
    state = call.state
    try:
        requests = parse_bulk(call.json(), state.rules)
    except FieldErrors as invalid:
        raise _field_errors(invalid.errors) from None
    apply_bulk(state.store, requests, state.rules, lambda tx, outcome: call.journal(_bulk_reply(outcome), tx))
    # The answer was made and journaled inside the bulk's transaction.
    assert call.journaled_reply is not None
    return call.journaled_reply


def _bulk_reply(outcome: BulkOutcome) -> Reply:
    if outcome.errors:
        return json_reply(outcome.errors, status=400)
    # The store hands back each item already encoded: the list needs no second pass.
    return Reply(200, f"[{','.join(outcome.updated)}]")


# A primary key is a signed 64-bit column: a longer id names no row.
_LARGEST_ID = 2**63 - 1


def _path_id(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > len(str(_LARGEST_ID)):
        raise errors.not_found()
    value = int(raw)
    if value > _LARGEST_ID:
        raise errors.not_found()
    return value


def order_item_detail(call: Call, _user: Row, item_id: str) -> Reply:
    item = call.state.store.get_item(_path_id(item_id))
    if item is None:
        raise errors.not_found()
    return json_reply(item)


def order_detail(call: Call, _user: Row, order_id: str) -> Reply:
    order = call.state.store.get_order(_path_id(order_id))
    if order is None:
        raise errors.not_found()
    return json_reply(order)


def _int_param(call: Call, name: str) -> int | None:
    """A query parameter as an integer; None when absent; ValueError when not one."""
    raw = call.request.args.get(name, "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.removeprefix("-").isdigit():
        raise ValueError(name)
    return int(raw)


def _page_url(call: Call, page: int) -> str:
    query = [(k, v) for k, v in call.request.args.items(multi=True) if k != "page"]
    if page > 1:
        query.append(("page", str(page)))
    encoded = urlencode(query)
    return call.request.base_url + (f"?{encoded}" if encoded else "")


def order_item_list(call: Call, _user: Row) -> Reply:
    state = call.state
    try:
        order_id = _int_param(call, "order")
    except ValueError:
        raise _field_errors({"order": ["Enter a number."]}) from None
    try:
        page = _int_param(call, "page")
    except ValueError:
        page = 0
    if page is not None and page < 1:
        raise errors.detail(404, "Invalid page.")
    page = page or 1
    try:
        requested_size = _int_param(call, "page_size")
    except ValueError:
        requested_size = None
    # DRF's pagination falls back to the default size on a bad page_size.
    page_size = min(
        requested_size if requested_size and requested_size > 0 else state.settings.page_size, state.settings.max_items
    )
    count, items = state.store.list_items(order_id, (page - 1) * page_size, page_size)
    last_page = max(1, -(-count // page_size))
    if page > last_page:
        raise errors.detail(404, "Invalid page.")
    return json_reply(
        {
            "count": count,
            "next": _page_url(call, page + 1) if page < last_page else None,
            "previous": _page_url(call, page - 1) if page > 1 else None,
            "results": items,
        }
    )


ENDPOINTS: dict[str, Endpoint] = {
    "auth/login/": Endpoint(
        "Obtain Auth Token", {"POST": login}, public=True, request_contract="login-request", carries_credentials=True
    ),
    "active_user/": Endpoint("Active User", {"GET": active_user}),
    "order_items/bulk_status_update/": Endpoint(
        "Order Item Bulk Status Update", {"PATCH": bulk_status_update}, request_contract="bulk-status-update-request"
    ),
    "order_items/<item_id>/": Endpoint("Order Item Detail", {"GET": order_item_detail}),
    "order_items/": Endpoint("Order Item List", {"GET": order_item_list}),
    "orders/<order_id>/": Endpoint("Order Detail", {"GET": order_detail}),
}


def request_contract_for(path: str) -> str | None:
    """The request contract of the endpoint at ``path`` (under either prefix)."""
    for prefix in PREFIXES:
        if path.startswith(prefix + "/"):
            endpoint = ENDPOINTS.get(path[len(prefix) + 1 :])
            return endpoint.request_contract if endpoint is not None else None
    return None
