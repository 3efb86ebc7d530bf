"""One call to the emulated API as its handlers see it, and their reply.

The emulated endpoints run outside Flask's request machinery (see
:mod:`omnitron_mock.emulated`): a handler gets a :class:`Call` built straight
from the WSGI environ and returns a :class:`Reply`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from werkzeug.wrappers import Request

from omnitron_mock.body import parse_json_body
from omnitron_mock.context import Emulator
from omnitron_mock.jsonio import dumps
from omnitron_mock.store.base import Row


class JournalSink(Protocol):
    """A store or a store transaction: where journal entries go."""

    def append_request(self, entry: Row) -> None: ...


@dataclass
class Call:
    """A request to an emulated endpoint: its environ, the emulator, the body read once.

    ``recorder`` writes the call's journal entry for a reply, into a store
    or an open store transaction; the server journals every call it served
    unless a handler did so itself (see :meth:`journal`).
    """

    environ: dict[str, Any]
    state: Emulator
    raw_body: bytes
    recorder: Callable[[Reply, JournalSink], None]
    journaled_reply: Reply | None = None

    def journal(self, reply: Reply, sink: JournalSink) -> None:
        """Journal ``reply`` now, through ``sink``: a handler that writes in a
        transaction records its answer there, and both commit together."""
        self.recorder(reply, sink)
        self.journaled_reply = reply

    def json(self) -> Any:
        """The body as DRF's JSONParser reads it (raises :class:`~omnitron_mock.errors.APIError`)."""
        return parse_json_body(self.raw_body, self.environ.get("CONTENT_TYPE"))

    @cached_property
    def request(self) -> Request:
        # Query arguments and URLs as werkzeug parses them; built only by the
        # endpoints that need them, none of them on the bulk path.
        return Request(self.environ, shallow=True)


@dataclass
class Reply:
    """Status, JSON text and extra headers of an answer."""

    status: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, dumps(data), headers or {})
