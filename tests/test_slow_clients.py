"""Slow clients must not take the server offline.

A client that sends its request a header line at a time (slowloris) used to
hold one of the Docker image's two gunicorn sync workers for 30 s each; two
such clients stopped the image. waitress reads requests in its event loop, so
they cost a descriptor each and no thread; ``--connection-limit`` bounds the
descriptors."""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path
from types import TracebackType

import pytest
import requests
from omnitron_mock import DEV_TOKEN

from tests.test_serve_options import PROMPT_SECONDS, Served, fresh_get, serving

AUTH = {"Authorization": f"Token {DEV_TOKEN}"}
SLOW_CLIENTS = 50
# How often each slow client sends one more header line, and for how long at most.
PACE_SECONDS = 1.0
MAX_ROUNDS = 300


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
    args = ["--threads", "4"]
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
    with serving("--connection-limit", "10") as served:
        with SlowClients(served.host, served.port, 20), pytest.raises(requests.ReadTimeout):
            requests.get(f"{served.url}/_mock/health", timeout=(PROMPT_SECONDS, 2.0))
        # The slow clients are gone: waitress accepts again.
        assert_answers(served)
        assert "connection limit" in served.error_line("connection limit")
