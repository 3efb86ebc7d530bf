"""``omnitron-mock serve`` as the Docker image and users run it: worker processes,
proxy headers, Host names, body limits, and latency faults that hold no thread
the rest of the server needs. Every server is a real process on port 0."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from omnitron_mock import DEV_TOKEN

from tests.helpers import BULK_PATH, checked_session

LISTENING = re.compile(r"omnitron-mock listening on (http://(\S+):(\d+))")
AUTH = {"Authorization": f"Token {DEV_TOKEN}"}
# A server that is not stuck answers a request on loopback in well under this.
PROMPT_SECONDS = 5.0
START_SECONDS = 60.0


@dataclass
class Served:
    """A running ``serve`` process: its URL, banner and standard error lines."""

    process: subprocess.Popen[str]
    url: str
    host: str
    port: int
    banner: list[str]
    errors: queue.Queue[str] = field(default_factory=queue.Queue)

    def error_line(self, containing: str, timeout: float = 30.0) -> str:
        """The next standard error line containing ``containing``."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self.errors.get(timeout=remaining)
            except queue.Empty:
                break
            if containing in line:
                return line
        raise AssertionError(f"no line with {containing!r} on standard error within {timeout}s")


def _lines_into(stream: object, sink: queue.Queue[str | None]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        sink.put(line.rstrip("\n"))
    sink.put(None)


def clean_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OMNITRON_MOCK_")}
    return {**environment, **(extra or {})}


@contextlib.contextmanager
def serving(*args: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """``serve --port 0 ARGS``; yields once the banner is out, SIGTERMs it after
    (and kills its whole process group should that not end it)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "omnitron_mock", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_environment(env),
        start_new_session=True,
    )
    stopped = False
    try:
        lines: queue.Queue[str | None] = queue.Queue()
        errors: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_lines_into, args=(process.stdout, lines), daemon=True).start()
        threading.Thread(target=_lines_into, args=(process.stderr, errors), daemon=True).start()
        banner: list[str] = []
        while not banner or "press Ctrl-C to stop" not in banner[-1]:
            line = lines.get(timeout=START_SECONDS)
            assert line is not None, f"serve ended before its banner: {banner}; stderr: {_drain(errors)}"
            banner.append(line)
        match = LISTENING.match(banner[0])
        assert match, banner
        served = Served(process, match.group(1), match.group(2), int(match.group(3)), banner, errors)  # type: ignore[arg-type]
        yield served
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        stopped = True
    finally:
        if not stopped:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def _drain(sink: queue.Queue[str | None]) -> list[str | None]:
    found = []
    with contextlib.suppress(queue.Empty):
        while True:
            found.append(sink.get(timeout=5))
            if found[-1] is None:
                break
    return found


def children_of(pid: int) -> set[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                # The command may contain spaces and parentheses: fields follow the last ')'.
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
                if int(fields[1]) == pid:
                    found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def fresh_get(url: str, headers: dict[str, str] | None = None, timeout: float = 10.0) -> requests.Response:
    """A GET on a connection of its own, so that with several workers any may answer."""
    with checked_session() as session:
        return session.get(url, headers={"Connection": "close", **(headers or {})}, timeout=timeout)


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc (Linux)")


# --- several worker processes ---------------------------------------------------------------------


@needs_proc
def test_workers_share_one_state_and_stop_together(tmp_path: Path) -> None:
    with serving("--workers", "2", "--db", str(tmp_path / "state.db")) as served:
        assert "  2 worker processes sharing " + str(tmp_path / "state.db") in served.banner
        workers = children_of(served.process.pid)
        assert len(workers) == 2
        body = {"orderitem_set": [{"id": 4, "tracking_number": "SHARED-1"}]}
        with checked_session() as session:
            assert session.patch(served.url + BULK_PATH, json=body, headers=AUTH, timeout=10).status_code == 200
        # Fresh connections land on either worker; every one sees the write.
        for _ in range(12):
            item = fresh_get(f"{served.url}/api/i1/order_items/4/", headers=AUTH)
            assert item.json()["tracking_number"] == "SHARED-1"
        journal = fresh_get(f"{served.url}/_mock/requests?method=PATCH").json()
        assert journal["count"] == 1
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=30) == 0
    assert not [pid for pid in workers if alive(pid)], "workers outlived their parent"


@needs_proc
def test_a_worker_that_dies_is_replaced(tmp_path: Path) -> None:
    with serving("--workers", "2", "--db", str(tmp_path / "state.db")) as served:
        first, second = sorted(children_of(served.process.pid))
        os.kill(first, signal.SIGKILL)
        assert f"worker {first} was killed by SIGKILL" in served.error_line(f"worker {first}")
        replacement = int(re.findall(r"\d+", served.error_line("in its place"))[0])
        assert replacement not in (first, second)
        assert children_of(served.process.pid) == {second, replacement}
        for _ in range(6):
            assert fresh_get(f"{served.url}/_mock/health").status_code == 200
    assert not alive(replacement) and not alive(second)


def test_workers_without_a_database_are_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "omnitron_mock", "serve", "--port", "0", "--workers", "3"],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_environment(),
    )
    assert result.returncode == 2
    assert result.stderr.startswith("omnitron-mock: --workers 3 needs --db PATH (OMNITRON_MOCK_DB)")
    assert "Traceback" not in result.stderr


def test_workers_come_from_the_environment(tmp_path: Path) -> None:
    env = {"OMNITRON_MOCK_WORKERS": "2", "OMNITRON_MOCK_DB": str(tmp_path / "env.db")}
    with serving(env=env) as served:
        assert any(line.startswith("  2 worker processes") for line in served.banner)
        assert fresh_get(f"{served.url}/_mock/health").status_code == 200


# --- proxy headers ---------------------------------------------------------------------------------

FORWARDED = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"}


def redirect_of(url: str) -> requests.Response:
    response = requests.get(f"{url}/api/i1/active_user", headers=FORWARDED, allow_redirects=False, timeout=10)
    assert response.status_code == 301, response.text
    return response


def test_forwarded_headers_are_ignored_by_default() -> None:
    with serving() as served:
        location = redirect_of(served.url).headers["Location"]
        assert location == f"{served.url}/api/i1/active_user/"
        assert "evil.example" not in location and not location.startswith("https")


def test_forwarded_headers_from_the_trusted_proxy_shape_redirects() -> None:
    with serving("--trusted-proxy", "127.0.0.1", "--allowed-host", "evil.example") as served:
        assert redirect_of(served.url).headers["Location"] == "https://evil.example/api/i1/active_user/"


def test_a_forwarded_host_still_passes_the_host_check() -> None:
    with serving(env={"OMNITRON_MOCK_TRUSTED_PROXY": "127.0.0.1"}) as served:
        response = requests.get(f"{served.url}/api/i1/active_user", headers=FORWARDED, timeout=10)
        assert response.status_code == 400
        assert "evil.example" in response.json()["detail"]


# --- Host names ------------------------------------------------------------------------------------


def test_allowed_hosts_merge_flags_and_environment() -> None:
    env = {"OMNITRON_MOCK_ALLOWED_HOSTS": "from-env.example"}
    with serving("--allowed-host", "from-flag.example", env=env) as served:

        def status(host: str) -> int:
            return requests.get(f"{served.url}/_mock/health", headers={"Host": host}, timeout=10).status_code

        assert status("from-flag.example") == 200
        assert status(f"from-env.example:{served.port}") == 200
        assert status(f"localhost:{served.port}") == 200
        assert status("rebound.example") == 400


# --- body limits -----------------------------------------------------------------------------------


def raw_exchange(served: Served, request: bytes, timeout: float = PROMPT_SECONDS) -> bytes:
    """Send ``request`` as is, and read until the server closes or the reply's end."""
    with socket.create_connection((served.host, served.port), timeout=timeout) as connection:
        connection.sendall(request)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


def test_waitress_refuses_a_giant_body_without_waiting_for_it() -> None:
    env = {"OMNITRON_MOCK_MAX_CONTROL_BODY_BYTES": "2000"}
    with serving("--max-body-bytes", "1000", env=env) as served:
        # Announced, never sent: a server buffering up to 1 GiB would wait for it.
        head = (
            f"POST /_mock/seed HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n"
            "Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n"
        )
        assert raw_exchange(served, head.encode()).startswith(b"HTTP/1.1 413 ")
        # Just over the emulator's own limit: its JSON answer, not waitress's.
        response = requests.patch(served.url + BULK_PATH, data=b" " * 1001, headers=AUTH, timeout=10)
        assert (response.status_code, response.json()) == (413, {"detail": "Request body too large."})


# --- latency faults --------------------------------------------------------------------------------


def _delayed_request(served: Served, milliseconds: int) -> socket.socket:
    connection = socket.create_connection((served.host, served.port), timeout=PROMPT_SECONDS)
    connection.sendall(
        f"GET /api/i1/active_user/ HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n"
        f"Authorization: Token {DEV_TOKEN}\r\nX-Mock-Fault: latency={milliseconds}\r\n\r\n".encode()
    )
    return connection


def thread_count(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^Threads:\s+(\d+)", status, re.MULTILINE).group(1))  # type: ignore[union-attr]


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    """Poll a process that offers no event for what is awaited; bounded."""
    deadline = time.monotonic() + seconds
    pause = threading.Event()
    while time.monotonic() < deadline:
        if condition():
            return True
        pause.wait(0.05)
    return condition()


@needs_proc
def test_delayed_requests_leave_threads_for_health_and_control() -> None:
    with serving("--threads", "2") as served:
        idle = thread_count(served.process.pid)
        # Six delays against two threads: held in threads, they would queue the
        # rest behind them for 15 s.
        delayed = [_delayed_request(served, 5000) for _ in range(6)]
        try:
            # Each parked delay has a thread lent to the server: all six are waiting.
            assert wait_until(lambda: thread_count(served.process.pid) >= idle + 6, 10.0)
            for _ in range(3):
                assert fresh_get(f"{served.url}/_mock/health", timeout=PROMPT_SECONDS).status_code == 200
            with checked_session() as session:
                assert session.get(f"{served.url}/api/i1/active_user/", headers=AUTH, timeout=PROMPT_SECONDS).ok
                assert session.delete(f"{served.url}/_mock/faults", timeout=PROMPT_SECONDS).status_code == 204
            for connection in delayed:
                # Clearing faults ends the delays: each delayed request is answered.
                assert connection.recv(12) == b"HTTP/1.1 200"
        finally:
            for connection in delayed:
                connection.close()
        # The lent threads are handed back once their delays end.
        assert wait_until(lambda: thread_count(served.process.pid) <= idle, 10.0), (
            thread_count(served.process.pid),
            idle,
        )


@needs_proc
def test_a_client_that_gives_up_ends_its_delay() -> None:
    with serving("--threads", "1") as served:
        idle = thread_count(served.process.pid)
        gone = _delayed_request(served, 60_000)
        # Closed once waiting (a request whose client left before it started never runs).
        assert wait_until(lambda: thread_count(served.process.pid) > idle, 10.0)
        gone.close()
        entries: list[dict] = []

        def recorded() -> bool:
            journal = requests.get(f"{served.url}/_mock/requests", timeout=PROMPT_SECONDS).json()
            entries[:] = [e for e in journal["requests"] if e["path"] == "/api/i1/active_user/"]
            return bool(entries)

        # The journal records the request when its wait ends: long before the minute.
        assert wait_until(recorded, 10.0)
        assert entries[0]["fault"] == "latency 60000 ms; the client gave up first"
        assert wait_until(lambda: thread_count(served.process.pid) <= idle, 10.0)


@needs_proc
@pytest.mark.parametrize("workers", [1, 2], ids=["one-process", "two-workers"])
def test_sigterm_ends_parked_delays_at_once(tmp_path: Path, workers: int) -> None:
    args = ["--threads", "2"] if workers == 1 else ["--threads", "2", "--workers", "2", "--db", str(tmp_path / "s.db")]
    with serving(*args) as served:
        pids = {served.process.pid} | children_of(served.process.pid)
        idle = sum(thread_count(pid) for pid in pids)
        delayed = [_delayed_request(served, 300_000) for _ in range(4)]
        try:
            # Every delayed request is parked, a thread lent to each.
            assert wait_until(lambda: sum(thread_count(pid) for pid in pids) >= idle + 4, 10.0)
            served.process.send_signal(signal.SIGTERM)
            # A guard against a hang only: the delays are five minutes long.
            assert served.process.wait(timeout=30) == 0
            for connection in delayed:
                # Closed unanswered: the server stopped first. A reset is closed
                # unanswered too (the kernel resets connections still queued).
                with contextlib.suppress(ConnectionResetError):
                    assert connection.recv(12) == b""
        finally:
            for connection in delayed:
                connection.close()
        # Every thread, the parked ones too, ended when asked: no dispatcher gave
        # up waiting for one ("N thread(s) still running", after its timeout).
        errors = [line for line in _drain(served.errors) if line is not None]  # type: ignore[arg-type]
        assert not [line for line in errors if "still running" in line], errors
