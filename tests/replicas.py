"""Emulator processes sharing one database, as replicas behind a load balancer
run: each a real ``omnitron-mock serve`` on a port of its own (port 0), reached
by its base URL.

    with running_replicas(postgres_url, 3, "--seed", str(seed_file)) as replicas:
        for replica in replicas:
            requests.get(f"{replica.url}/_mock/health", timeout=10)
        replicas[1].kill()           # SIGKILL, mid-load if you like
    # every replica still running is stopped (SIGTERM) and must exit with 0

``start_replicas`` / ``stop_replicas`` do the same without the ``with``.
Every process gets a clean environment (no ``OMNITRON_MOCK_*`` variable of
the test run's leaks in) and a session of its own, so that a kill reaches its
worker processes too (``--workers N``) and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

# A start imports the app and opens the database: seconds, even on a busy machine.
START_SECONDS = 60.0
STOP_SECONDS = 30.0
# The last lines each stream keeps, for the message of a failure.
KEPT_LINES = 200
_BANNER_END = "press Ctrl-C to stop"
_LISTENING = "omnitron-mock listening on "


@dataclass
class Replica:
    """One running emulator process: its base URL (``http://127.0.0.1:PORT``),
    its start banner and the last lines it wrote to standard error."""

    process: subprocess.Popen[str]
    url: str
    banner: list[str]
    errors: deque[str] = field(default_factory=lambda: deque(maxlen=KEPT_LINES))
    killed: bool = False

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the process and its workers, as a host or container dies:
        no handler runs, no transaction it holds open commits."""
        self.killed = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_SECONDS)

    def stop(self) -> int | None:
        """SIGTERM, as an orchestrator stops a replica; its exit status (None
        for one killed before). One that outlives ``STOP_SECONDS`` is killed and
        its status is the kill's."""
        if self.killed:
            return None
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.process.returncode


def _clean_environment(extra: dict[str, str] | None) -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("OMNITRON_MOCK_")}
    return {**environment, **(extra or {})}


def _queue_lines(stream: Iterable[str], sink: queue.Queue[str | None]) -> None:
    """Each line into ``sink``, then None at the end of the stream."""
    for line in stream:
        sink.put(line.rstrip("\n"))
    sink.put(None)


def _keep_lines(stream: Iterable[str], kept: deque[str]) -> None:
    for line in stream:
        kept.append(line.rstrip("\n"))


def _launch(db_url: str, args: Sequence[str], env: dict[str, str] | None) -> tuple[Replica, queue.Queue[str | None]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "omnitron_mock", "serve", "--host", "127.0.0.1", "--port", "0", "--db", db_url, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_clean_environment(env),
        start_new_session=True,
    )
    replica = Replica(process, url="", banner=[])
    lines: queue.Queue[str | None] = queue.Queue()
    # Both streams are read to their end, so that a chatty process never blocks on a full pipe.
    threading.Thread(target=_queue_lines, args=(process.stdout, lines), daemon=True).start()
    threading.Thread(target=_keep_lines, args=(process.stderr, replica.errors), daemon=True).start()
    return replica, lines


def _await_banner(replica: Replica, lines: queue.Queue[str | None], deadline: float) -> None:
    while not replica.banner or _BANNER_END not in replica.banner[-1]:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.0))
        except queue.Empty:
            raise AssertionError(f"no banner within {START_SECONDS} s: {replica.banner}") from None
        if line is None:
            replica.process.wait(timeout=STOP_SECONDS)
            raise AssertionError(
                f"serve ended (status {replica.process.returncode}) before its banner: {replica.banner}; "
                f"stderr: {list(replica.errors)[-20:]}"
            )
        replica.banner.append(line)
    first = replica.banner[0]
    assert first.startswith(_LISTENING), replica.banner
    replica.url = first.removeprefix(_LISTENING).strip()


def start_replicas(db_url: str, count: int, *args: str, env: dict[str, str] | None = None) -> list[Replica]:
    """``count`` emulator processes on the database ``db_url`` (a
    ``postgresql://`` URL, or a SQLite path), each ``serve --port 0`` with
    ``args`` added (``--tenant-per-user``, ``--seed FILE``, ``--workers 2``…)
    and ``env`` added to a clean environment. Started together; returned once
    every one has printed its banner (and so answers). Should one fail to
    start, those started are stopped and the failure raised."""
    launched = [_launch(db_url, args, env) for _ in range(count)]
    deadline = time.monotonic() + START_SECONDS
    try:
        for replica, lines in launched:
            _await_banner(replica, lines, deadline)
    except BaseException:
        for replica, _ in launched:
            replica.kill()
        raise
    return [replica for replica, _ in launched]


def stop_replicas(replicas: Iterable[Replica]) -> None:
    """Stop every replica not killed before (SIGTERM); each must exit with 0."""
    statuses = {replica.url: replica.stop() for replica in replicas}
    failed = {url: status for url, status in statuses.items() if status not in (None, 0)}
    assert not failed, f"replicas that did not stop cleanly (url: exit status): {failed}"


@contextlib.contextmanager
def running_replicas(db_url: str, count: int, *args: str, env: dict[str, str] | None = None) -> Iterator[list[Replica]]:
    """:func:`start_replicas` for the ``with`` block, :func:`stop_replicas` after it
    (killing them all instead when the block raised)."""
    replicas = start_replicas(db_url, count, *args, env=env)
    try:
        yield replicas
    except BaseException:
        for replica in replicas:
            if not replica.killed:
                replica.kill()
        raise
    stop_replicas(replicas)
