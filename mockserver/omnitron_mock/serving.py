"""Serving the app over HTTP with waitress: in the foreground, in a thread, or
in several forked worker processes sharing one listening socket."""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any, cast

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import ClientDisconnected, HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

from omnitron_mock.config import Settings
from omnitron_mock.context import EXTENSION_KEY
from omnitron_mock.hooks import (
    CLIENT_GONE_HOOK,
    DROP_HOOK,
    PARK_HOOK,
    STOPPING_HOOK,
    ClientGaveUp,
    ConnectionDropped,
    ServerStopping,
)

DEFAULT_THREADS = 8
# How long a server stopped by a signal waits for running requests to finish.
_SHUTDOWN_SECONDS = 5.0
# Each open connection costs a descriptor and a few KiB, not a thread: waitress
# reads requests in its event loop, so slow clients wait there.
DEFAULT_CONNECTION_LIMIT = 1000
# Connections with no request in progress and no traffic this long are closed.
CHANNEL_TIMEOUT_SECONDS = 60
# A client has this long to send its request head, from its first byte (from
# the accept on a new connection); the body then gets as long again, and a
# second more for every MIN_BODY_RATE bytes it brings. A client that keeps
# sending a little is never idle, so without this a few hundred of them would
# hold every connection (slowloris). Real clients send a head in one write.
DEFAULT_REQUEST_HEAD_TIMEOUT = 10
# The rate Apache's mod_reqtimeout asks of request bodies by default.
MIN_BODY_RATE = 500
# How often, in seconds, connections are checked for both timeouts.
SWEEP_SECONDS = 1
# waitress refuses bodies above the emulator's own limit plus this much; bodies
# in between still reach the emulator, which answers its JSON 413.
BODY_LIMIT_SLACK = 64 * 1024
# waitress reads ahead on a connection while a request runs only with a
# lookahead; that is also what lets it notice a client that left.
REQUEST_LOOKAHEAD = 1
TRUSTED_PROXY_HEADERS = "x-forwarded-for x-forwarded-host x-forwarded-proto x-forwarded-port"
_WAITRESS_CLIENT_GONE = "waitress.client_disconnected"

log = logging.getLogger("omnitron_mock")


class _WaitressDrop(ClientDisconnected, ConnectionDropped):
    """waitress closes the connection, writing nothing, when the app raises this."""


def _disconnect() -> None:
    raise _WaitressDrop


class _WaitressClientGone(ClientDisconnected):
    """What waitress expects when the client left: a line in its log, no traceback."""


class _Parking:
    """Lends the dispatcher one more thread for each request parked in a delay.

    A latency fault holds its request for seconds or minutes; without this a
    few of them would occupy every thread and stall health checks and resets.
    Once the server stops (:meth:`close`), parked requests stop waiting: the
    dispatcher waits for its threads when it shuts down.
    """

    def __init__(self, dispatcher: ThreadedTaskDispatcher, threads: int) -> None:
        self._dispatcher = dispatcher
        self._threads = threads
        self._parked = 0
        self._closed = False
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def stopping(self) -> bool:
        """Whether the server is stopping: a parked request stops waiting."""
        return self._stopping.is_set()

    @contextlib.contextmanager
    def park(self) -> Iterator[None]:
        self._change(1)
        try:
            yield
        finally:
            # A lower count stops the next thread to go idle: this one, or another.
            self._change(-1)

    def _change(self, delta: int) -> None:
        with self._lock:
            self._parked += delta
            if not self._closed:
                self._dispatcher.set_thread_count(self._threads + self._parked)

    def close(self) -> None:
        """The server is stopping: parked requests stop waiting, and from now on
        the thread count is left alone (the dispatcher is shutting down)."""
        with self._lock:
            self._closed = True
        self._stopping.set()


def _with_server_hooks(app: Any, parking: Callable[[], _Parking]) -> Any:
    def serve(environ: dict[str, Any], start_response: Any) -> Any:
        environ[DROP_HOOK] = _disconnect
        environ[PARK_HOOK] = lambda: parking().park()
        environ[STOPPING_HOOK] = lambda: parking().stopping()
        client_gone = environ.get(_WAITRESS_CLIENT_GONE)
        if client_gone is not None:
            environ[CLIENT_GONE_HOOK] = client_gone
        try:
            return app(environ, start_response)
        except (ClientGaveUp, ServerStopping):
            raise _WaitressClientGone from None

    return serve


class _Channel(HTTPChannel):
    """A waitress connection that knows how long the server has been waiting
    for its client to deliver the current request.

    waitress only closes connections that are idle; this one also knows when
    a request has been coming too slowly. Everything here runs in the event
    loop's thread, as ``received`` and the server's maintenance do.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Since when the server waits for the client: from the accept for the
        # first request, from its first byte for later ones, from the end of
        # the head for a body; None between requests (the idle timeout's case).
        self._waiting_since: float | None = time.monotonic()
        self._tracked: Any = None  # the parser of the request being received
        self._in_body = False
        self._body_base = 0  # body bytes received when the body's time started

    def received(self, data: bytes) -> bool:
        result = super().received(data)
        now = time.monotonic()
        request = self.request
        if request is None:
            self._waiting_since = None
        elif request is not self._tracked:
            # A new request began. On a new connection its time runs from the accept.
            if self._tracked is not None or self._waiting_since is None:
                self._waiting_since = now
            self._in_body = False
        if request is not None and request.headers_finished and not self._in_body:
            self._in_body, self._waiting_since, self._body_base = True, now, request.body_bytes_received
        self._tracked = request
        return result

    def overdue(self, now: float, head_timeout: float) -> bool:
        """Whether the client took too long with its request; see DEFAULT_REQUEST_HEAD_TIMEOUT."""
        if self._waiting_since is None or self.will_close or self.close_when_flushed:
            return False
        if self.requests:
            # Earlier requests on this connection are running or queued: the
            # server, not the client, holds things up. The client's time restarts.
            self._waiting_since = now
            if self._in_body and self.request is not None:
                self._body_base = self.request.body_bytes_received
            return False
        allowed = head_timeout
        if self._in_body and self.request is not None:
            allowed += (self.request.body_bytes_received - self._body_base) / MIN_BODY_RATE
        return now - self._waiting_since > allowed

    def time_out(self, reply: bytes) -> None:
        """Answer 408 if the socket takes it at once, and close."""
        if not self.total_outbufs_len:
            # Nothing of this connection's is queued or running (see overdue),
            # so no other thread writes to the socket.
            with contextlib.suppress(OSError):
                cast(socket.socket, self.socket).send(reply)  # open until the loop closes it
        self.will_close = True  # the event loop closes it on its next round


class _Server(TcpWSGIServer):
    """waitress's TCP server, closing connections whose request is too slow."""

    channel_class = _Channel
    # Set by waitress, which types-waitress omits or types otherwise: declarations only.
    active_channels: dict[int, HTTPChannel]  # type: ignore[assignment]
    effective_host: str
    effective_port: int
    _map: dict[int, Any]

    def __init__(self, *args: Any, request_head_timeout: float, **kwargs: Any) -> None:
        self.request_head_timeout = request_head_timeout
        body = json.dumps({"detail": f"The request did not arrive within {request_head_timeout:g} s."})
        self._timeout_reply = (
            "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}"
        ).encode()
        super().__init__(*args, **kwargs)

    def maintenance(self, now: float) -> None:
        # waitress's own sweep first: it closes idle connections.
        # waitress passes time.time(); its stubs say int.
        super().maintenance(now)  # type: ignore[arg-type]
        moment = time.monotonic()
        late = [
            channel
            for channel in list(self.active_channels.values())
            if isinstance(channel, _Channel) and channel.overdue(moment, self.request_head_timeout)
        ]
        for channel in late:
            channel.time_out(self._timeout_reply)
        if late:
            # One line a sweep, however many connections it closes.
            log.warning(
                "omnitron-mock: closed %d connection(s) whose request did not arrive within %g s "
                "(--request-head-timeout)",
                len(late),
                self.request_head_timeout,
            )


def _close_trigger_safely(trigger: Any) -> None:
    """Make a pull of waitress's trigger after it closed do nothing.

    A pull writes a byte to the trigger pipe's descriptor. Once the pipe is
    closed that number is free, and soon some other file's (a socket, a
    database, another server's trigger): a late pull, from a request thread
    that outlived its server, would write into that file. Closing and pulling
    take one lock, so a pull sees the pipe open until it has written.
    """
    lock = threading.Lock()
    closed = False
    close, pull = trigger.close, trigger.pull_trigger

    def close_once() -> None:
        nonlocal closed
        with lock:
            closed = True
            close()

    def pull_while_open(thunk: Callable[[], None] | None = None) -> None:
        with lock:
            if not closed:
                pull(thunk)

    trigger.close = close_once
    trigger.pull_trigger = pull_while_open


def request_body_limit(settings: Settings) -> int:
    """The largest body waitress buffers for the emulator configured by ``settings``."""
    return max(settings.max_body_bytes, settings.max_control_body_bytes) + BODY_LIMIT_SLACK


def _app_settings(app: Any) -> Settings | None:
    extensions = getattr(app, "extensions", None)
    state = extensions.get(EXTENSION_KEY) if isinstance(extensions, dict) else None
    return getattr(state, "settings", None)


def format_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class HTTPServer:
    """A threaded WSGI server bound at construction (``port=0`` picks a free port).

    ``sock``, a socket already bound and listening, replaces ``host`` and
    ``port``: forked workers serve the socket their parent bound. The request
    body limit defaults to the emulator app's own limits (see
    :func:`request_body_limit`). ``trusted_proxy`` is the one address whose
    ``X-Forwarded-*`` headers are believed; every other client's are removed.
    A connection whose request does not arrive within ``request_head_timeout``
    seconds is answered 408 and closed (see DEFAULT_REQUEST_HEAD_TIMEOUT).
    """

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        threads: int = DEFAULT_THREADS,
        *,
        connection_limit: int = DEFAULT_CONNECTION_LIMIT,
        request_head_timeout: float = DEFAULT_REQUEST_HEAD_TIMEOUT,
        trusted_proxy: str | None = None,
        max_request_body_size: int | None = None,
        sock: socket.socket | None = None,
    ) -> None:
        if max_request_body_size is None:
            settings = _app_settings(app)
            max_request_body_size = request_body_limit(settings or Settings())
        options: dict[str, Any] = {
            "threads": threads,
            "ident": "omnitron-mock",
            "connection_limit": connection_limit,
            "channel_timeout": CHANNEL_TIMEOUT_SECONDS,
            "cleanup_interval": SWEEP_SECONDS,
            "channel_request_lookahead": REQUEST_LOOKAHEAD,
            "max_request_body_size": max_request_body_size,
            # select() cannot watch descriptors numbered 1024 or more.
            "asyncore_use_poll": True,
            "clear_untrusted_proxy_headers": True,
        }
        if trusted_proxy:
            options["trusted_proxy"] = trusted_proxy
            options["trusted_proxy_headers"] = TRUSTED_PROXY_HEADERS
        # Bound here, on the first address the name resolves to: given a name
        # with several, waitress would listen on each, one server per address.
        own_socket = sock is None
        bound = listening_socket(host, port) if sock is None else sock
        options["sockets"] = [bound]
        dispatcher = ThreadedTaskDispatcher()
        try:
            # What waitress's create_server does for one socket, with a server class of ours.
            adjustments = Adjustments(**options)
            dispatcher.set_thread_count(adjustments.threads)
            # The hooks look self._parking up per request: no request runs
            # before serve_forever, by when it is set.
            server = _Server(
                _with_server_hooks(app, lambda: self._parking),
                {},
                True,
                bound,
                dispatcher=dispatcher,
                adj=adjustments,
                bind_socket=False,
                sockinfo=(bound.family, bound.type, bound.proto, bound.getsockname()),
                request_head_timeout=request_head_timeout,
            )
        except BaseException:
            dispatcher.shutdown()  # its idle threads end at once
            if own_socket:
                bound.close()
            raise
        _close_trigger_safely(server.trigger)
        self._server = server
        self._parking = _Parking(server.task_dispatcher, threads)
        self._thread: threading.Thread | None = None
        # Guards the two flags: whether a loop serves, whether stop() was called.
        self._state = threading.Lock()
        self._serving = False
        self._stopped = False
        self._stop_loop = threading.Event()
        self._loop_done = threading.Event()
        self.host: str = server.effective_host
        self.port: int = int(server.effective_port)

    @property
    def url(self) -> str:
        return format_url(self.host, self.port)

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop`, KeyboardInterrupt or SystemExit.

        Every way out ends the parked requests' waits, shuts the thread pool
        down and closes every connection, the listening socket and waitress's
        trigger, in this order: no request thread outlives the trigger it pulls.
        """
        server = self._server
        with self._state:
            if self._stopped or self._serving:
                return
            self._serving = True
        try:
            # waitress's own run(), one round at a time: the socket map belongs
            # to this thread, so stop() asks, and this loop closes.
            while server._map and not self._stop_loop.is_set():
                wasyncore.loop(server.adj.asyncore_loop_timeout, server.adj.asyncore_use_poll, server._map, count=1)
        except (KeyboardInterrupt, SystemExit):
            pass  # as waitress: Ctrl-C, or SIGTERM through the CLI's handler, ends serving quietly
        finally:
            try:
                self._shut_down_threads(_SHUTDOWN_SECONDS)
            finally:
                wasyncore.close_all(server._map)
                self._loop_done.set()

    def start(self) -> HTTPServer:
        """Serve in a daemon thread; returns at once, already accepting."""
        self._thread = threading.Thread(target=self.serve_forever, name="omnitron-mock-server", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving: parked requests stop waiting, running ones finish (for
        up to ``timeout`` seconds), then every connection and the listening
        socket close. A second call does nothing."""
        with self._state:
            if self._stopped:
                return
            self._stopped = True
            serving = self._serving
        deadline = time.monotonic() + timeout
        # While the loop still runs, so that running requests can send their answers.
        self._shut_down_threads(timeout)
        if not serving:
            # No loop ever ran, and none will: nothing else touches the socket map.
            wasyncore.close_all(self._server._map)
            return
        self._stop_loop.set()
        # Wakes the loop at once; it notices the flag within its poll timeout anyway.
        self._server.pull_trigger()
        self._loop_done.wait(max(0.0, deadline - time.monotonic()))
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
            self._thread = None

    def _shut_down_threads(self, timeout: float) -> None:
        # Parked requests first: the dispatcher waits for every thread, theirs too.
        self._parking.close()
        # waitress takes any number of seconds; its stubs say int.
        self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=timeout)  # type: ignore[arg-type]

    def __enter__(self) -> HTTPServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# --- several worker processes -------------------------------------------------------------------

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# SIGCHLD is POSIX-only: on Windows this module still imports (run_workers forks, never runs there).
_SUPERVISOR_SIGNALS = {*_STOP_SIGNALS, *((signal.SIGCHLD,) if hasattr(signal, "SIGCHLD") else ())}
# A worker that dies sooner than this after starting is restarted only after
# the same pause, so a worker that cannot start does not spin the CPU.
_RESTART_PAUSE_SECONDS = 1.0
# So many such deaths in a row and the workers cannot start at all: give up.
_MAX_EARLY_DEATHS = 5
_PR_SET_PDEATHSIG = 1


def listening_socket(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` and listening, for workers to share."""
    addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = addresses[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(backlog)
        # Every worker polls this socket; the ones that lose the race to
        # accept must get EAGAIN, not block.
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def socket_url(sock: socket.socket) -> str:
    host, port = socket.getnameinfo(sock.getsockname(), socket.NI_NUMERICHOST | socket.NI_NUMERICSERV)
    return format_url(host, int(port))


def run_workers(
    count: int, work: Callable[[], None], started: Callable[[], None] | None = None, stop_timeout: float = 10.0
) -> int:
    """Run ``work`` in ``count`` forked processes until SIGTERM or SIGINT.

    ``started`` runs in this process once the first workers are forked. A
    worker that exits is replaced. On SIGTERM or SIGINT every worker gets
    SIGTERM (SIGKILL after ``stop_timeout`` seconds) and, once all are gone,
    this returns 0; it returns 1 when workers keep dying as they start. Call it
    before starting any thread: only the calling thread survives a fork.
    """
    # Blocked signals wait in the kernel until sigtimedwait takes them: no
    # handler runs in the middle of a fork or a wait.
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SUPERVISOR_SIGNALS)
    parent = os.getpid()
    workers: dict[int, float] = {}
    restarts: list[float] = []
    early_deaths = 0
    try:
        for _ in range(count):
            workers[_fork_worker(work, parent, previous_mask)] = time.monotonic()
        if started is not None:
            started()
        while True:
            now = time.monotonic()
            while restarts and min(restarts) <= now:
                restarts.remove(min(restarts))
                pid = _fork_worker(work, parent, previous_mask)
                workers[pid] = time.monotonic()
                print(f"omnitron-mock: started worker {pid} in its place", file=sys.stderr, flush=True)
            timeout = max(0.0, min(restarts) - now) if restarts else None
            received = (
                signal.sigwaitinfo(_SUPERVISOR_SIGNALS)
                if timeout is None
                else signal.sigtimedwait(_SUPERVISOR_SIGNALS, timeout)
            )
            if received is not None and received.si_signo in _STOP_SIGNALS:
                return 0
            for pid, status in _reap():
                born = workers.pop(pid, None)
                if born is None:
                    continue  # not a worker: an orphan this process adopted as PID 1
                print(f"omnitron-mock: worker {pid} {_describe(status)}", file=sys.stderr, flush=True)
                died_young = time.monotonic() - born < _RESTART_PAUSE_SECONDS
                early_deaths = early_deaths + 1 if died_young else 0
                if early_deaths >= _MAX_EARLY_DEATHS:
                    print("omnitron-mock: workers keep dying as they start; stopping", file=sys.stderr, flush=True)
                    return 1
                restarts.append(time.monotonic() + (_RESTART_PAUSE_SECONDS if died_young else 0.0))
    finally:
        _stop_workers(workers, stop_timeout)
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)


def _fork_worker(work: Callable[[], None], parent: int, mask: set[int | signal.Signals]) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        _exit_with_parent(parent)
        work()
        code = 0
    except KeyboardInterrupt:
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        # Never return into the parent's code (its finally blocks, atexit).
        os._exit(code)
    raise AssertionError("unreachable")


def raise_keyboard_interrupt(signum: int, frame: object) -> None:
    """A SIGTERM handler: docker stop and process managers send SIGTERM; the
    server leaves its loop as on Ctrl-C."""
    raise KeyboardInterrupt


def _exit_with_parent(parent: int) -> None:
    """Have the kernel send SIGTERM when the parent dies (Linux), so that a
    killed supervisor leaves no workers holding the port."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
    if os.getppid() != parent:
        raise KeyboardInterrupt


def _reap() -> Iterator[tuple[int, int]]:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        yield pid, status


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


def _stop_workers(workers: dict[int, float], timeout: float) -> None:
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while workers and (remaining := deadline - time.monotonic()) > 0:
        for pid, _ in _reap():
            workers.pop(pid, None)
        if workers:
            signal.sigtimedwait({signal.SIGCHLD}, min(remaining, 0.5))
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid in list(workers):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        workers.pop(pid)
