"""The emulated API's request pipeline: one WSGI app, one pass per request.

Requests under the emulated prefixes go through these steps, in order:

1. **route** (werkzeug's rules, a dict for static paths): the endpoint and
   its arguments, or a redirect for a missing trailing slash; in tenant
   mode, the **tenant** whose world serves the call (a full journal refuses it);
2. **faults** (:class:`~omnitron_mock.fault_step.FaultStep`): delays, or an
   answer in the emulator's place;
3. **body**, read once and bounded (413 past the limit);
4. **dispatch**: authentication, the method's handler, DRF's error shapes;
   a handler that writes opens the call's store transaction;
5. **journal**: one entry per request, written into that transaction when
   there is one, so the entry commits with the changes it reports;
6. **write** the response, with one wording of status lines.

Every other path (control API, inspector, contracts) goes on to Flask. The
bulk endpoint is the hot path of every client test suite: none of Flask's
request machinery (request contexts, hooks, response objects) runs here.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from typing import cast

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, RequestRedirect, Rule

from omnitron_mock import errors, journal
from omnitron_mock.auth import token_of
from omnitron_mock.endpoint import Endpoint
from omnitron_mock.endpoints import ENDPOINTS, LOGIN, PREFIXES
from omnitron_mock.errors import APIError
from omnitron_mock.exchange import Call, Reply, json_reply
from omnitron_mock.fault_step import FaultStep
from omnitron_mock.faults import Answer
from omnitron_mock.hooks import DROP_HOOK, UNANSWERED, ConnectionDropped
from omnitron_mock.hosts import redirect_location
from omnitron_mock.service import Emulator
from omnitron_mock.store.base import StoreTransaction
from omnitron_mock.tenants import Tenants
from omnitron_mock.wire import Environ, StartResponse, WSGIApp, status_line, with_status_wording

_EMULATED = tuple(prefix + "/" for prefix in PREFIXES)


class Pipeline:
    """Serves the emulated endpoints; hands every other path to ``fallback``."""

    def __init__(self, fallback: WSGIApp, state: Emulator, tenants: Tenants | None = None) -> None:
        self.fallback = with_status_wording(fallback)
        self.state = state
        self.tenants = tenants
        self.faults = FaultStep()
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
        call = Call(environ, self.state)
        try:
            return self._steps(call, path, start_response)
        except UNANSWERED:
            raise
        except Exception as error:
            # Whatever failed (a journal that cannot be written too), the client gets DRF's 500.
            return self._write(call, start_response, self._failed(call, error))
        finally:
            # A no-op once the call committed: no path leaves its transaction open.
            call.roll_back()

    def _steps(self, call: Call, path: str, start_response: StartResponse) -> Iterable[bytes]:
        try:
            redirect = self._route(call, path)
        except HTTPException as error:
            # A Host werkzeug cannot route with (an empty or overlong label).
            return self._write(call, start_response, self._refused(call, error))
        if self.tenants is not None:
            call.state = self._world_of(call, self.tenants)
            if call.state.journal_full():
                # Not journalled: the journal is what is full.
                return self._write(call, start_response, _journal_full(call.state))
        try:
            answer = self.faults.run(call)
        except UNANSWERED:
            self._journal(call, 0, b"", call.read_unserved_body())
            raise
        if answer is not None:
            return self._answer_with_fault(call, start_response, answer)
        return self._write(call, start_response, self._serve(call, redirect))

    def _world_of(self, call: Call, tenants: Tenants) -> Emulator:
        """The world of the tenant the call's token names; for a login, of the
        user its credentials log in; else the root world."""
        token = token_of(call.environ.get("HTTP_AUTHORIZATION"))
        if token is not None:
            named = tenants.of_token(token)
        elif call.endpoint is LOGIN:
            named = self._login_tenant(call, tenants)
        else:
            named = None
        return self.state if named is None else tenants.world(named)

    @staticmethod
    def _login_tenant(call: Call, tenants: Tenants) -> str | None:
        try:
            data = call.json()
        except APIError:
            # The login endpoint answers a body it cannot read; the root world journals it.
            return None
        if not isinstance(data, dict):
            return None
        username, password = data.get("username"), data.get("password")
        # As the login reads them: text or a number; the username trimmed, the password as is.
        if not all(
            isinstance(value, (str, int, float)) and not isinstance(value, bool) for value in (username, password)
        ):
            return None
        return tenants.of_login(str(username).strip(), str(password))

    def _route(self, call: Call, path: str) -> RequestRedirect | None:
        """Find the call's endpoint; the redirect for a path that needs a slash."""
        endpoint = self._static.get(path)
        if endpoint is not None:
            call.endpoint = endpoint
            return None
        try:
            rule, route_args = self._routes.bind_to_environ(call.environ).match()
        except RequestRedirect as redirect:
            return redirect
        except NotFound:
            return None
        call.endpoint = ENDPOINTS[rule]
        # The rules use the default converter: every argument is a string.
        call.route_args = cast(dict[str, str], route_args)
        return None

    def _serve(self, call: Call, redirect: RequestRedirect | None) -> Reply:
        """The endpoint's reply, journalled; the call's transaction committed."""
        try:
            if redirect is not None:
                # Django's APPEND_SLASH answers 301 for every method; clients that
                # follow it resend without the body, exactly as against Omnitron.
                location = redirect_location(redirect.new_url, self.state.settings.allowed_hosts)
                reply = Reply(301, "", {"Location": location})
            else:
                call.body()
                if call.endpoint is None:
                    raise errors.not_found()
                reply = call.endpoint.dispatch(call)
        except APIError as error:
            call.roll_back()
            reply = json_reply(error.body, error.status, error.headers)
        except HTTPException as error:
            # A body shorter than its Content-Length, as werkzeug reports it.
            return self._refused(call, error)
        self._journal(call, reply.status, reply.text, transaction=call.open_transaction)
        call.commit()
        return reply

    def _refused(self, call: Call, error: HTTPException) -> Reply:
        """werkzeug's refusal of a request it cannot read, as a DRF-style answer."""
        call.roll_back()
        reply = json_reply({"detail": error.description or error.name}, error.code or 400)
        self._journal(call, reply.status, reply.text)
        return reply

    def _failed(self, call: Call, error: Exception) -> Reply:
        """DRF's answer to an unexpected error; nothing the call wrote stays."""
        method, path = call.environ.get("REQUEST_METHOD", ""), call.environ.get("PATH_INFO", "")
        try:
            call.roll_back()
        except Exception as problem:
            # The answer is a 500 all the same; the log keeps why the rollback failed.
            errors.unexpected(problem, method, path)
        failure = errors.unexpected(error, method, path)
        reply = json_reply(failure.body, failure.status)
        try:
            self._journal(call, reply.status, reply.text)
        except Exception as problem:
            # The failure may be the journal's own: the client still gets its 500.
            errors.unexpected(problem, method, path)
        return reply

    def _write(self, call: Call, start_response: StartResponse, reply: Reply) -> Iterable[bytes]:
        body = reply.text.encode("utf-8")
        # Every answer is JSON but a redirect, which is empty as Flask sends it.
        content_type = "text/html; charset=utf-8" if reply.status == 301 else "application/json"
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), *reply.headers.items()]
        headers.append(("Vary", "Accept"))
        start_response(status_line(reply.status), headers)
        return [] if call.environ.get("REQUEST_METHOD") == "HEAD" else [body]

    def _answer_with_fault(self, call: Call, start_response: StartResponse, answer: Answer) -> Iterable[bytes]:
        if answer.kind == "drop":
            self._journal(call, 0, b"", call.read_unserved_body())
            return self._drop(call, start_response)
        body = answer.body
        headers = dict(answer.headers)
        # A truncated body promises the whole of it and sends half; then the server closes.
        headers["Content-Length"] = str(len(body))
        if answer.kind == "truncate":
            body = body[: len(body) // 2]
        self._journal(call, answer.status, body, call.read_unserved_body())
        start_response(status_line(answer.status), list(headers.items()))
        return [body]

    def _drop(self, call: Call, start_response: StartResponse) -> Iterable[bytes]:
        hook = call.environ.get(DROP_HOOK)
        if hook is not None:
            hook()  # raises: the server closes the connection without a byte
        connection = call.environ.get("gunicorn.socket")
        if connection is not None:
            connection.shutdown(socket.SHUT_RDWR)
            start_response(status_line(500), [])
            return []
        raise ConnectionDropped("the emulator dropped the connection (fault)")

    def _journal(
        self,
        call: Call,
        status: int,
        response_body: str | bytes,
        body: bytes | None = None,
        transaction: StoreTransaction | None = None,
    ) -> None:
        """The one place a request's journal entry is written: into the call's
        transaction when it has one, else straight into the store.

        The entry names the endpoint's request contract when there is a body
        to judge: one the endpoint accepted, or one a fault answered (``body``).
        """
        environ = call.environ
        endpoint = call.endpoint if body is not None or call.body_accepted else None
        entry = journal.record(
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            path=environ.get("PATH_INFO", ""),
            query=environ.get("QUERY_STRING", ""),
            headers=journal.request_headers(environ),
            body=call.body_for_journal() if body is None else body,
            status=status,
            response_body=response_body,
            duration_ms=call.elapsed_ms(),
            request_contract=endpoint.request_contract if endpoint is not None else None,
            contracts=self.state.contracts,
            body_limit=self.state.settings.journal_body_bytes,
            fault=call.fault_note,
        )
        (transaction or call.state.store).append_request(entry)


def _journal_full(world: Emulator) -> Reply:
    return json_reply(
        {
            "detail": f"This tenant's journal holds its quota of {world.journal_quota} entries, so its API calls "
            "are refused: clear the journal (DELETE /_mock/requests) or reset (POST /_mock/reset) to go on."
        },
        403,
    )
