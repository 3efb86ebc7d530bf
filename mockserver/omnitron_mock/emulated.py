"""The emulated API as a WSGI app of its own, in front of the Flask app.

Requests under the emulated prefixes are routed, answered and journaled
here without Flask's request machinery (request contexts, hooks, response
objects): the bulk endpoint is the hot path of every client test suite,
and that machinery cost more than the emulator's own work. Every other path
(control API, inspector, contracts) goes on to Flask.

Routing is werkzeug's, as Flask would do it: the same rules, the same
redirects for a missing trailing slash or doubled slashes. Static paths,
the bulk endpoint among them, are looked up in a dict first.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, cast

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.wsgi import get_content_length, get_input_stream

from omnitron_mock import errors, journal
from omnitron_mock.api import ENDPOINTS, PREFIXES, Endpoint
from omnitron_mock.context import Emulator
from omnitron_mock.errors import APIError
from omnitron_mock.exchange import Call, JournalSink, Reply, json_reply
from omnitron_mock.fault_middleware import FAULT_NOTE
from omnitron_mock.hosts import redirect_location

log = logging.getLogger("omnitron_mock")
Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

_EMULATED = tuple(prefix + "/" for prefix in PREFIXES)
_STATUS_LINES: dict[int, str] = {}


def _status_line(status: int) -> str:
    # werkzeug's wording, so answers read the same as Flask's.
    line = _STATUS_LINES.get(status)
    if line is None:
        line = _STATUS_LINES[status] = f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown').upper()}"
    return line


class EmulatedAPI:
    """Serves the emulated endpoints; hands every other path to ``fallback``."""

    def __init__(self, fallback: WSGIApp, state: Emulator) -> None:
        self.fallback = fallback
        self.state = state
        self._static: dict[str, Endpoint] = {}
        rules = []
        for prefix in PREFIXES:
            for rule, endpoint in ENDPOINTS.items():
                path = f"{prefix}/{rule}"
                rules.append(Rule(path, endpoint=rule))
                if "<" not in rule:
                    self._static[path] = endpoint
        self._routes = Map(rules)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(_EMULATED):
            return self.fallback(environ, start_response)
        started = time.perf_counter()
        # Set once the call reaches its endpoint: the journal then knows its contract.
        endpoint: Endpoint | None = None
        call: Call | None = None
        raw_body = b""
        try:
            target = self._static.get(path)
            route_args: dict[str, str] = {}
            routing_error = None
            if target is None:
                target, route_args, routing_error = self._route(environ)
            if isinstance(routing_error, RequestRedirect):
                # Django's APPEND_SLASH answers 301 for every method; clients that
                # follow it resend without the body, exactly as against Omnitron.
                location = redirect_location(routing_error.new_url, self.state.settings.allowed_hosts)
                reply = Reply(301, "", {"Location": location})
            else:
                raw_body = self._read_body(environ)
                if target is None:
                    raise errors.not_found()
                endpoint = target
                call = Call(environ, self.state, raw_body, partial(self._record, environ, endpoint, raw_body, started))
                reply = endpoint.dispatch(call, route_args)
        except APIError as error:
            reply = json_reply(error.body, error.status, error.headers)
        except HTTPException as error:
            # A body shorter than its Content-Length, as werkzeug reports it.
            reply = json_reply({"detail": error.description or error.name}, error.code or 400)
        except Exception as error:
            # The traceback goes to the log only: clients see DRF's generic message.
            log.error("unhandled error on %s %s", environ.get("REQUEST_METHOD"), path, exc_info=error)
            failure = errors.server_error()
            reply = json_reply(failure.body, failure.status)
        body = reply.text.encode("utf-8")
        if call is None or call.journaled_reply is not reply:
            self._record(environ, endpoint, raw_body, started, reply, self.state.store)
        # Every answer is JSON but a redirect, which is empty as Flask sends it.
        content_type = "text/html; charset=utf-8" if reply.status == 301 else "application/json"
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), *reply.headers.items()]
        headers.append(("Vary", "Accept"))
        start_response(_status_line(reply.status), headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    def _route(self, environ: Environ) -> tuple[Endpoint | None, dict[str, str], Exception | None]:
        try:
            rule, route_args = self._routes.bind_to_environ(environ).match()
        except (RequestRedirect, NotFound) as problem:
            return None, {}, problem
        # The rules use the default converter: every argument is a string.
        return ENDPOINTS[rule], cast(dict[str, str], route_args), None

    def _read_body(self, environ: Environ) -> bytes:
        limit = self.state.settings.max_body_bytes
        if (get_content_length(environ) or 0) > limit:
            raise errors.payload_too_large()
        # A chunked body has no length to check first: read one byte past the limit.
        raw_body = get_input_stream(environ, max_content_length=None).read(limit + 1)
        if len(raw_body) > limit:
            raise errors.payload_too_large()
        return raw_body

    def _record(
        self,
        environ: Environ,
        endpoint: Endpoint | None,
        raw_body: bytes,
        started: float,
        reply: Reply,
        sink: JournalSink,
    ) -> None:
        entry = journal.record(
            method=environ["REQUEST_METHOD"],
            path=environ["PATH_INFO"],
            query=environ.get("QUERY_STRING", ""),
            headers=journal.request_headers(environ),
            body=raw_body,
            status=reply.status,
            response_body=reply.text,
            duration_ms=(time.perf_counter() - started) * 1000,
            request_contract=endpoint.request_contract if endpoint is not None else None,
            contracts=self.state.contracts,
            body_limit=self.state.settings.journal_body_bytes,
            fault=environ.get(FAULT_NOTE),
        )
        sink.append_request(entry)
