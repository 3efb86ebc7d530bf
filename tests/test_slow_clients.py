"""Slow clients must not take the server offline.

A client that sends its request a header line at a time (slowloris) used to
hold one of the Docker image's two gunicorn sync workers for 30 s each; two
such clients stopped the image. waitress reads requests in its event loop, so
they cost a descriptor each and no thread; ``--connection-limit`` bounds the
descriptors. Such a client is never idle, so waitress's idle timeout never
closes it: ``--request-head-timeout`` closes every connection whose request
does not arrive in time, or enough of them would fill the connection limit
for as long as they kept going."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pytest
import requests
from omnitron_mock import DEV_TOKEN

from tests.helpers import BULK_PATH
from tests.test_serve_options import PROMPT_SECONDS, Served, fresh_get, serving

AUTH = {"Authorization": f"Token {DEV_TOKEN}"}
SLOW_CLIENTS = 50
# How often each slow client sends one more header line, and for how long at most.
PACE_SECONDS = 0.25
MAX_ROUNDS = 1200
# Longer than any test here runs: slow clients that must stay open do.
PATIENT = ("--request-head-timeout", "3600")
# Only a guard against a hang: what is awaited comes long before it.
HANG_GUARD_SECONDS = 60.0


class SlowClients:
    """``count`` connections that each start a request and never finish it:
    one more header line every ``PACE_SECONDS``, within ``MAX_ROUNDS``."""

    def __init__(self, host: str, port: int, count: int) -> None:
        self.address = (host, port)
        self.count = count
        self.sockets: list[socket.socket] = []
        self._stop = threading.Event()
        self._pacer = threading.Thread(target=self._pace, name="slow-clients", daemon=True)
        self._rounds = 0
        self._progress = threading.Condition()

    def __enter__(self) -> SlowClients:
        try:
            for _ in range(self.count):
                connection = socket.create_connection(self.address, timeout=PROMPT_SECONDS)
                connection.sendall(f"GET /_mock/health HTTP/1.1\r\nHost: {self.address[0]}\r\n".encode())
                self.sockets.append(connection)
        except BaseException:
            self.close()
            raise
        self._pacer.start()
        return self

    def _pace(self) -> None:
        for round_ in range(MAX_ROUNDS):
            # The pace of a slow client, not a wait for anything.
            if self._stop.wait(PACE_SECONDS):
                return
            for connection in self.sockets:
                # A connection the server closed is no longer slow; the test notices.
                with contextlib.suppress(OSError):
                    connection.sendall(f"X-Slow-{round_}: still typing\r\n".encode())
            with self._progress:
                self._rounds = round_ + 1
                self._progress.notify_all()

    def dripping(self) -> bool:
        """Whether the clients are still sending header lines."""
        return self._pacer.is_alive() and not self._stop.is_set()

    def wait_rounds(self, rounds: int) -> None:
        """Return once every client has sent ``rounds`` more header lines."""
        with self._progress:
            target = self._rounds + rounds
            assert self._progress.wait_for(lambda: self._rounds >= target, timeout=PACE_SECONDS * rounds + 10)

    def close(self) -> None:
        self._stop.set()
        if self._pacer.is_alive():
            self._pacer.join(timeout=PROMPT_SECONDS)
        for connection in self.sockets:
            connection.close()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def assert_answers(served: Served) -> None:
    """Health and an authenticated API call both answer, each on a new connection."""
    health = fresh_get(f"{served.url}/_mock/health", timeout=PROMPT_SECONDS)
    assert health.status_code == 200
    me = fresh_get(f"{served.url}/api/i1/active_user/", headers=AUTH, timeout=PROMPT_SECONDS)
    assert (me.status_code, me.json()["username"]) == (200, "mock-user")


@pytest.mark.parametrize(
    ("image_like", "count"),
    [
        # Above waitress's own default connection limit (100), which serve raises.
        pytest.param(False, 150, id="one-process-150"),
        pytest.param(True, SLOW_CLIENTS, id="image-config-2-workers-sqlite-50"),
    ],
)
def test_slow_clients_leave_the_server_answering(tmp_path: Path, image_like: bool, count: int) -> None:
    # Fewer threads than slow clients: they must not be holding threads.
    args = ["--threads", "4", *PATIENT]
    if image_like:
        args += ["--workers", "2", "--db", str(tmp_path / "state.db")]
    with serving(*args) as served, SlowClients(served.host, served.port, count) as slow:
        for _ in range(3):
            assert_answers(served)
            # Answering while the slow clients keep their requests going.
            slow.wait_rounds(1)
            assert_answers(served)
        # None of them was answered or closed meanwhile: their requests are still open.
        for connection in slow.sockets:
            connection.setblocking(False)
            with pytest.raises(BlockingIOError):
                connection.recv(1)


def test_connection_limit_stops_accepting_beyond_it() -> None:
    """With ``--connection-limit 10`` waitress stops accepting once its socket map
    (clients plus its own listening socket and wake-up pipe) holds 10: later
    connections wait in the kernel's listen queue, unanswered, until some close."""
    with serving("--connection-limit", "10", *PATIENT) as served:
        # Unaccepted, health waits however long it is given; accepted, it would be answered in milliseconds.
        with SlowClients(served.host, served.port, 20), pytest.raises(requests.ReadTimeout):
            requests.get(f"{served.url}/_mock/health", timeout=(PROMPT_SECONDS, 1.0))
        # The slow clients are gone: waitress accepts again.
        assert_answers(served)
        assert "connection limit" in served.error_line("connection limit")


def read_until_closed(connection: socket.socket) -> bytes:
    """What the server sent before it closed ``connection`` (a reset counts as closed)."""
    connection.settimeout(HANG_GUARD_SECONDS)
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass  # the server closed while the client was still sending: the kernel answers with a reset
    except TimeoutError:
        raise AssertionError(f"the server kept the connection open; it sent {received!r}") from None
    return received


# Each case waits out three sweeps of the request head timeout (the stalled
# requests below check the timeout in the quick tier).
@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "env"),
    [
        pytest.param(("--request-head-timeout", "1"), {}, id="flag"),
        pytest.param((), {"OMNITRON_MOCK_REQUEST_HEAD_TIMEOUT": "1"}, id="environment"),
    ],
)
def test_drip_fed_requests_beyond_the_connection_limit_are_cut(args: tuple[str, ...], env: dict[str, str]) -> None:
    """Twice as many drip-feeding clients as the server keeps connections: once
    it is full, health waits unaccepted behind them. They are never idle, so
    only the request head timeout frees their connections."""
    with (
        serving("--connection-limit", "20", *args, env=env) as served,
        SlowClients(served.host, served.port, 40) as slow,
    ):
        health = fresh_get(f"{served.url}/_mock/health", timeout=(PROMPT_SECONDS, HANG_GUARD_SECONDS))
        assert health.status_code == 200
        # Answered while the slow clients still drip: they were cut, they did not stop.
        assert slow.dripping()
        assert_answers(served)
        for connection in slow.sockets:
            reply = read_until_closed(connection)
            # A 408 unless the client's next line made the kernel reset the connection first.
            assert reply == b"" or reply.startswith(b"HTTP/1.1 408 "), reply
        assert slow.dripping()
        assert "did not arrive within 1 s" in served.error_line("did not arrive")


@pytest.fixture(scope="module")
def head_timeout_server() -> Iterator[Served]:
    """One ``serve --request-head-timeout 1`` for the tests below that only each
    open connections of their own (a start imports the emulator in a new process)."""
    with serving("--request-head-timeout", "1") as served:
        yield served


HEAD = "GET /_mock/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
BODY_HEAD = f"PATCH {BULK_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param(b"", id="nothing"),
        pytest.param(HEAD.encode(), id="part-of-the-head"),
        pytest.param(f"{BODY_HEAD}Content-Length: 1000\r\n\r\n{{".encode(), id="part-of-the-body"),
    ],
)
def test_a_stalled_request_gets_408_while_an_idle_keep_alive_connection_stays(
    head_timeout_server: Served, sent: bytes
) -> None:
    served = head_timeout_server
    keep_alive = http.client.HTTPConnection(served.host, served.port, timeout=PROMPT_SECONDS)
    try:
        keep_alive.request("GET", "/_mock/health")
        assert keep_alive.getresponse().read() and keep_alive.sock is not None
        idle = keep_alive.sock
        with socket.create_connection((served.host, served.port), timeout=PROMPT_SECONDS) as stalled:
            stalled.sendall(sent)
            reply = read_until_closed(stalled)
        assert reply.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), reply
        assert b"Connection: close\r\n" in reply
        served.error_line("did not arrive")
        # Idle since before the stalled connection opened, so for longer than
        # the timeout that cut it: idle connections are left to the idle timeout.
        keep_alive.request("GET", "/_mock/health")
        assert keep_alive.getresponse().status == 200
        assert keep_alive.sock is idle
    finally:
        keep_alive.close()


# The parked request alone takes four seconds.
@pytest.mark.slow
def test_time_the_server_takes_does_not_count_against_the_client(head_timeout_server: Served) -> None:
    """A request parked in a latency fault far longer than the timeout, with the
    next request's head pipelined behind it: the first is answered, and the
    unfinished second gets its 408 only once the server could read it."""
    served = head_timeout_server
    with socket.create_connection((served.host, served.port), timeout=HANG_GUARD_SECONDS) as connection:
        connection.sendall(
            f"GET /api/i1/active_user/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {DEV_TOKEN}\r\n"
            f"X-Mock-Fault: latency=4000\r\n\r\n{HEAD}".encode()
        )
        reply = read_until_closed(connection)
    first, _, second = reply.partition(b"HTTP/1.1 408 ")
    assert first.startswith(b"HTTP/1.1 200 OK\r\n") and b'"username":"mock-user"' in first.replace(b" ", b"")
    assert second, reply
