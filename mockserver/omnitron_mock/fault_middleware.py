"""A WSGI layer in front of the Flask app that injects faults.

It sits outside Flask because some faults are not responses at all: a
dropped connection needs the server's help (waitress, gunicorn), and a
truncated body must promise more bytes than it sends. Requests a fault
answers never reach the emulator, so they change nothing; the journal
records them with the fault that answered.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from werkzeug.wsgi import get_input_stream

from omnitron_mock import journal
from omnitron_mock.api import PREFIXES, request_contract_for
from omnitron_mock.context import Emulator
from omnitron_mock.faults import HEADER, Answer, FaultError, Plan, parse_header, plan_request
from omnitron_mock.jsonio import dumps

log = logging.getLogger("omnitron_mock")
Environ = dict[str, Any]
StartResponse = Callable[..., Any]

# Keys a server or transport may put into the WSGI environ to help.
DROP_HOOK = "omnitron_mock.drop_connection"
SLEEP_HOOK = "omnitron_mock.sleep"
FAULT_NOTE = "omnitron_mock.fault"
# A server may offer these for latency faults. PARK_HOOK: a callable returning a
# context manager; while a delayed request waits inside it, the server keeps a
# thread free for everyone else. CLIENT_GONE_HOOK: a callable telling whether
# the client has closed its connection, so the wait can end early.
# STOPPING_HOOK: a callable telling whether the server is stopping; the wait
# then ends at once and the request goes unanswered (:class:`ServerStopping`).
PARK_HOOK = "omnitron_mock.park"
CLIENT_GONE_HOOK = "omnitron_mock.client_gone"
STOPPING_HOOK = "omnitron_mock.stopping"
# The contract's cap on one delay, also applied to the sum of several.
MAX_DELAY_SECONDS = 600.0
# How often a wait looks at what ends it early: a clear in another process,
# a client that left, a server stopping. A clear in this process wakes it at once.
_POLL_SECONDS = 0.1
_HEADER_KEY = "HTTP_" + HEADER.upper().replace("-", "_")


class ConnectionDropped(Exception):
    """A dropped connection on its way out: servers with a drop hook raise a
    subclass they understand; without one (test clients) this reaches the caller."""


class ClientGaveUp(Exception):
    """Raised by a sleep hook when the client's timeout ends the wait first."""


class ServerStopping(Exception):
    """Raised when the server stops while a request waits out a latency fault:
    servers close the connection unanswered."""


class FaultMiddleware:
    """Applies the emulator's faults to requests under the emulated prefixes."""

    def __init__(self, wsgi_app: Callable[[Environ, StartResponse], Iterable[bytes]], emulator: Emulator) -> None:
        self.wsgi_app = wsgi_app
        self.emulator = emulator
        self._prefixes = tuple(prefix + "/" for prefix in PREFIXES)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        try:
            return self._serve(environ, start_response)
        except (ConnectionDropped, ClientGaveUp, ServerStopping):
            raise
        except Exception as error:
            # As in the app: clients get DRF's generic message, the log gets the rest.
            log.error("unhandled error while injecting faults", exc_info=error)
            body = dumps({"detail": "A server error occurred."}).encode("utf-8")
            start_response("500 Internal Server Error", [("Content-Type", "application/json")])
            return [body]

    def _serve(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        header = environ.get(_HEADER_KEY)
        if not path.startswith(self._prefixes) or (not header and not self.emulator.store.faults()):
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        method = environ.get("REQUEST_METHOD", "GET").upper()
        # Counted before the plan picks its faults: a clear that lands between
        # planning and waiting still cuts the wait short.
        clears = self.emulator.store.fault_clears()
        try:
            plan = self._plan(header, method, path)
        except FaultError as problem:
            body = dumps({"detail": f"Invalid {HEADER} header: {problem}"}).encode("utf-8")
            bad_header = Answer("status", 400, {"Content-Type": "application/json"}, body, "invalid fault header")
            return self._answer(environ, start_response, bad_header, bad_header.description, started)
        description = plan.description
        if plan.delay_seconds:
            if plan.delay_seconds > MAX_DELAY_SECONDS:
                description = f"{description}; capped at {MAX_DELAY_SECONDS * 1000:.0f} ms"
            try:
                if not self._wait(environ, min(plan.delay_seconds, MAX_DELAY_SECONDS), clears):
                    description = f"{description}; cut short: faults cleared"
            except ClientGaveUp:
                self._record(environ, 0, b"", f"{description}; the client gave up first", started)
                raise
            except ServerStopping:
                self._record(environ, 0, b"", f"{description}; the server stopped first", started)
                raise
        if plan.answer is None:
            environ[FAULT_NOTE] = description
            return self.wsgi_app(environ, start_response)
        return self._answer(environ, start_response, plan.answer, description, started)

    def _wait(self, environ: Environ, seconds: float, clears: int) -> bool:
        """Wait out a delay; False when faults were cleared since the store
        counted ``clears`` fault clears.

        Every clear ends every wait, a delay asked for by the request's own
        ``X-Mock-Fault`` header too (docs/faults.md: "a waiting request stops
        waiting when [...] faults are cleared"). Raises :class:`ClientGaveUp`
        when the server says the client left, :class:`ServerStopping` when it
        says it is stopping.
        """
        sleep = environ.get(SLEEP_HOOK)
        if sleep is not None:
            sleep(seconds)
            return True
        park = environ.get(PARK_HOOK)
        client_gone = environ.get(CLIENT_GONE_HOOK)
        stopping = environ.get(STOPPING_HOOK)
        signal = self.emulator.faults_cleared_signal
        with park() if park is not None else contextlib.nullcontext():
            deadline = time.monotonic() + seconds
            while (remaining := deadline - time.monotonic()) > 0:
                if self.emulator.store.fault_clears() != clears:
                    return False
                # Woken at once by a clear in this process; other processes' clears,
                # a client that left and a server stopping are noticed at the next poll.
                with signal:
                    signal.wait(min(remaining, _POLL_SECONDS))
                if stopping is not None and stopping():
                    raise ServerStopping
                if client_gone is not None and client_gone():
                    raise ClientGaveUp
        return True

    def _plan(self, header: str | None, method: str, path: str) -> Plan:
        contracts = self.emulator.contracts
        plan = plan_request([parse_header(header, contracts)], method, path) if header else Plan()
        if plan.answer is not None or not self.emulator.store.faults():
            return plan
        stored = self.emulator.store.update_faults(lambda faults: plan_request(faults, method, path))
        return Plan(plan.delay_seconds + stored.delay_seconds, stored.answer, plan.applied + stored.applied)

    def _answer(
        self, environ: Environ, start_response: StartResponse, answer: Answer, description: str | None, started: float
    ) -> Iterable[bytes]:
        if answer.kind == "drop":
            self._record(environ, 0, b"", description, started)
            return self._drop(environ, start_response)
        body = answer.body
        headers = dict(answer.headers)
        if answer.kind == "truncate":
            # Promise the whole body, send half of it, then the server closes.
            headers["Content-Length"] = str(len(body))
            body = body[: len(body) // 2]
        else:
            headers["Content-Length"] = str(len(body))
        self._record(environ, answer.status, body, description, started)
        start_response(f"{answer.status} {_reason(answer.status)}", list(headers.items()))
        return [body]

    def _drop(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        hook = environ.get(DROP_HOOK)
        if hook is not None:
            hook()  # raises: the server closes the connection without a byte
        connection = environ.get("gunicorn.socket")
        if connection is not None:
            connection.shutdown(socket.SHUT_RDWR)
            start_response("500 Internal Server Error", [])
            return []
        raise ConnectionDropped("the emulator dropped the connection (fault)")

    def _record(self, environ: Environ, status: int, response_body: bytes, fault: str | None, started: float) -> None:
        # Read as the emulator reads bodies: a chunked one (no length, the
        # server marks its input terminated) is journalled too.
        body = get_input_stream(environ, max_content_length=None).read(self.emulator.settings.max_body_bytes)
        self.emulator.store.append_request(
            journal.record(
                method=environ.get("REQUEST_METHOD", "GET").upper(),
                path=environ.get("PATH_INFO", ""),
                query=environ.get("QUERY_STRING", ""),
                headers=journal.request_headers(environ),
                body=body,
                status=status,
                response_body=response_body,
                duration_ms=(time.perf_counter() - started) * 1000,
                request_contract=request_contract_for(environ.get("PATH_INFO", "")),
                contracts=self.emulator.contracts,
                body_limit=self.emulator.settings.journal_body_bytes,
                fault=fault,
            )
        )


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
