"""One call to the emulated API as its handlers see it, and their reply.

The emulated endpoints run outside Flask's request machinery (see
:mod:`omnitron_mock.pipeline`): a handler gets a :class:`Call` built straight
from the WSGI environ and returns a :class:`Reply`.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request
from werkzeug.wsgi import get_content_length, get_input_stream

from omnitron_mock import errors
from omnitron_mock.body import parse_json_body
from omnitron_mock.jsonio import dumps
from omnitron_mock.service import Emulator
from omnitron_mock.store.base import StoreTransaction

if TYPE_CHECKING:
    from omnitron_mock.endpoint import Endpoint


class _RolledBack(Exception):
    """Handed to a store transaction to end it without writing."""


class Call:
    """A request to an emulated endpoint, from routing to its journal entry.

    The call owns its store transaction, as DRF's ``ATOMIC_REQUESTS`` gives
    each request one: a handler that writes asks for :meth:`transaction`;
    the pipeline writes the journal entry into it and then commits, or rolls
    it back when the handler fails.
    """

    def __init__(self, environ: dict[str, Any], state: Emulator) -> None:
        self.environ = environ
        self.state = state
        self.started = time.perf_counter()
        # Set by routing; None for paths no endpoint serves.
        self.endpoint: Endpoint | None = None
        self.route_args: dict[str, str] = {}
        # What the faults did to this call, for its journal entry.
        self.fault_note: str | None = None
        self._body: bytes | None = None
        self._too_large = False
        self._scope: AbstractContextManager[StoreTransaction] | None = None
        # The call's write transaction while it is open (see transaction()).
        self.open_transaction: StoreTransaction | None = None

    # -- the body --------------------------------------------------------------------

    def body(self) -> bytes:
        """The body, read once; 413 past the emulator's body limit."""
        if self._body is None:
            limit = self.state.settings.max_body_bytes
            if self._too_large or (get_content_length(self.environ) or 0) > limit:
                raise errors.payload_too_large()
            # A chunked body has no length to check first: read one byte past the limit.
            body = get_input_stream(self.environ, max_content_length=None).read(limit + 1)
            if len(body) > limit:
                # Read in part: a second look (tenant mode reads a login first) must not take the rest.
                self._too_large = True
                raise errors.payload_too_large()
            self._body = body
        return self._body

    @property
    def body_accepted(self) -> bool:
        """Whether :meth:`body` read the body and took it."""
        return self._body is not None

    def body_for_journal(self) -> bytes:
        """The body as far as the journal keeps one: what :meth:`body` accepted,
        else nothing (a redirect, a refused body)."""
        return self._body or b""

    def read_unserved_body(self) -> bytes:
        """The body of a call no endpoint will serve (a fault answers it), read
        for the journal alone: up to the body limit, never refused."""
        if self._body is None:
            self._body = get_input_stream(self.environ, max_content_length=None).read(
                self.state.settings.max_body_bytes
            )
        return self._body

    def elapsed_ms(self) -> float:
        """Milliseconds since the call arrived: fault delays included."""
        return (time.perf_counter() - self.started) * 1000

    def json(self) -> Any:
        """The body as DRF's JSONParser reads it (raises :class:`~omnitron_mock.errors.APIError`)."""
        return parse_json_body(self.body(), self.environ.get("CONTENT_TYPE"))

    @cached_property
    def request(self) -> Request:
        # Query arguments and URLs as werkzeug parses them; built only by the
        # endpoints that need them, none of them on the bulk path.
        return Request(self.environ, shallow=True)

    # -- the transaction -------------------------------------------------------------

    def transaction(self) -> StoreTransaction:
        """The call's write transaction, opened on first use."""
        if self.open_transaction is None:
            # Entered and left by hand (no ExitStack): this is every bulk's path.
            scope = self.state.store.transaction()
            self.open_transaction = scope.__enter__()
            self._scope = scope
        return self.open_transaction

    def commit(self) -> None:
        """Commit what the call wrote, journal entry included."""
        scope, self._scope, self.open_transaction = self._scope, None, None
        if scope is not None:
            scope.__exit__(None, None, None)

    def roll_back(self) -> None:
        """Drop what the call wrote: it failed, and nothing of it may stay."""
        scope, self._scope, self.open_transaction = self._scope, None, None
        if scope is not None:
            scope.__exit__(_RolledBack, _RolledBack(), None)


@dataclass
class Reply:
    """Status, JSON text and extra headers of an answer."""

    status: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, dumps(data), headers or {})
