"""One emulated view, dispatched as DRF's APIView does.

Each route accepts every method so that, as in DRF, authentication runs
before the method check: an anonymous GET on a PATCH-only view is a 401,
not a 405.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from omnitron_mock import errors
from omnitron_mock.auth import authenticate
from omnitron_mock.errors import APIError
from omnitron_mock.exchange import Call, Reply, json_reply

_DRF_METHOD_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

Handler = Callable[..., Reply]


@dataclass(frozen=True)
class Endpoint:
    """One DRF view: its handlers by method and whether it needs a token."""

    name: str
    handlers: dict[str, Handler]
    public: bool = False
    request_contract: str | None = None

    @cached_property
    def allow(self) -> str:
        methods = set(self.handlers) | {"OPTIONS"}
        if "GET" in methods:
            methods.add("HEAD")
        return ", ".join(m for m in _DRF_METHOD_ORDER if m in methods)

    def dispatch(self, call: Call) -> Reply:
        """Authenticate, pick the method's handler, answer; errors become
        replies, and what the handler wrote is rolled back."""
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
                reply = handler(call, user, **call.route_args)
        except APIError as error:
            call.roll_back()
            reply = json_reply(error.body, error.status, error.headers)
        reply.headers.setdefault("Allow", self.allow)
        return reply

    def _metadata(self) -> dict[str, Any]:
        return {"name": self.name, "description": "", "renders": ["application/json"], "parses": ["application/json"]}


def field_errors(errors_by_field: dict[str, list[str]]) -> APIError:
    """A 400 in DRF's serializer shape: ``{"field": ["message", ...]}``."""
    return APIError(400, errors_by_field)
