"""Helpers the benchmark scripts share: processes on loopback, load, tables."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DOCUMENTED_REQUEST = json.loads((ROOT / "tests" / "data" / "documented-request.json").read_text())
DEV_TOKEN = "8d5ad200b6286fd7fedadaced3c567b20cce1c4c"
BULK_PATH = "/api/i1/order_items/bulk_status_update/"
BULK_HEADERS = {"Authorization": f"Token {DEV_TOKEN}", "Content-Type": "application/json"}


def machine() -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(
    url: str,
    deadline: float = 60.0,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> float:
    """Seconds until ``url`` first answers 2xx; polls a process that has no readiness signal."""
    started = time.perf_counter()
    while time.perf_counter() - started < deadline:
        try:
            request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
            with urllib.request.urlopen(request, timeout=2) as response:
                if 200 <= response.status < 300:
                    return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.01)
    raise RuntimeError(f"{url} did not answer within {deadline}s")


@contextmanager
def process(
    command: Sequence[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    log: IO[bytes] | None = None,
    inherit_settings: bool = True,
) -> Iterator[subprocess.Popen]:
    """A background process, stopped (SIGTERM, then SIGKILL) when the block ends;
    its output goes to ``log`` (closed at the end), else to a temporary file.
    ``inherit_settings=False``: none of this shell's ``OMNITRON_MOCK_*`` variables
    reach it (say, an ``OMNITRON_MOCK_DB`` that would move a memory row to a file)."""
    log = log or tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    inherited = {k: v for k, v in os.environ.items() if inherit_settings or not k.startswith("OMNITRON_MOCK_")}
    child = subprocess.Popen(
        list(command),
        env={**inherited, **(env or {})},
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield child
    finally:
        with _suppress():
            os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with _suppress():
                os.killpg(child.pid, signal.SIGKILL)
            child.wait(timeout=20)
        log.close()


LISTENING = re.compile(r"omnitron-mock listening on (http://\S+)")


@dataclass
class Served:
    """A server process started by :func:`serving_all`: its base URL and process id."""

    url: str
    pid: int


@contextmanager
def serving_all(
    commands: Sequence[tuple[Sequence[str], dict[str, str] | None]],
    deadline: float = 60.0,
    probe_tokens: Sequence[str | None] | None = None,
) -> Iterator[list[Served]]:
    """``serve --port 0`` processes, started together; yields them with their
    base URLs, each read from its banner (the port the kernel gave it), once
    every bulk endpoint answers. Each is configured by its command and ``env``
    alone (no ``OMNITRON_MOCK_*`` variable of this shell). All are stopped when
    the block ends. ``probe_tokens``: the token each one's readiness bulk
    sends (None: the development user's), for servers seeded without that user."""
    with contextlib.ExitStack() as running:
        folder = Path(running.enter_context(tempfile.TemporaryDirectory(prefix="omnitron-serve-")))
        started = time.perf_counter()
        children = []
        for index, (command, env) in enumerate(commands):
            path = folder / f"server-{index}.log"
            started_process = process(command, env, log=path.open("wb"), inherit_settings=False)
            children.append((command, path, running.enter_context(started_process)))
        served = []
        for command, path, child in children:
            while (found := LISTENING.search(path.read_text(errors="replace"))) is None:
                if child.poll() is not None or time.perf_counter() - started > deadline:
                    output = path.read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"{' '.join(command)}: no listening line (exit {child.poll()}):\n{output}")
                time.sleep(0.01)
            served.append(Served(found.group(1), child.pid))
        body = json.dumps(DOCUMENTED_REQUEST).encode()
        tokens = probe_tokens or [None] * len(served)
        for server, token in zip(served, tokens, strict=True):
            headers = BULK_HEADERS if token is None else {**BULK_HEADERS, "Authorization": f"Token {token}"}
            wait_for(server.url + BULK_PATH, deadline, "PATCH", body, headers)
        yield served


def _suppress() -> contextlib.suppress:
    return contextlib.suppress(ProcessLookupError)


def image_serve_config() -> tuple[list[str], dict[str, str]]:
    """The Docker image's command (exec-form ``CMD``) and its ``OMNITRON_MOCK_*``
    variables (``ENV``), read from the Dockerfile so the benchmark follows the image."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    command: list[str] | None = None
    environment: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("CMD ["):
            command = json.loads(line.removeprefix("CMD "))
        elif line.startswith("ENV "):
            for name, value in re.findall(r"(\w+)=(\S+)", line):
                if name.startswith("OMNITRON_MOCK_"):
                    environment[name] = value
    if command is None:
        raise RuntimeError("the Dockerfile has no CMD in exec form")
    return command, environment


def image_serve(db: Path) -> tuple[list[str], dict[str, str], int]:
    """The image's server on 127.0.0.1 and a free port, its state in ``db``:
    (command, environment, port)."""
    command, environment = image_serve_config()
    if command[:2] != ["omnitron-mock", "serve"]:
        raise RuntimeError(f"the image no longer runs `omnitron-mock serve`: {command}")
    port = free_port()
    environment = {**environment, "OMNITRON_MOCK_HOST": "127.0.0.1", "OMNITRON_MOCK_PORT": str(port)}
    environment["OMNITRON_MOCK_DB"] = str(db)
    return [sys.executable, "-m", "omnitron_mock", *command[1:]], environment, port


def gunicorn(app: str, workers: int) -> tuple[list[str], int]:
    """A gunicorn command on a free port."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}"]
    return [*command, "--log-level", "warning", app], port


def wrk_lua(method: str, body: bytes, headers: dict[str, str]) -> str:
    lines = [f'wrk.method = "{method}"', f"wrk.body = {json.dumps(body.decode())}"]
    lines += [f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items()]
    return "\n".join(lines) + "\n"


def load(url: str, method: str, body: bytes, headers: dict[str, str], seconds: float, connections: int) -> float:
    """Requests per second from wrk (or a bounded Python client when wrk is missing)."""
    if shutil.which("wrk"):
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(wrk_lua(method, body, headers))
        try:
            result = subprocess.run(
                ["wrk", "-t2", f"-c{connections}", f"-d{seconds:.0f}s", "-s", script.name, url],
                capture_output=True,
                text=True,
                timeout=seconds + 60,
                check=True,
            )
        finally:
            os.unlink(script.name)
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
        if errors:
            raise RuntimeError(f"{url}: {errors.group(1)} failed responses under load:\n{result.stdout}")
        return float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))
    return python_load(url, method, body, headers, seconds, connections)


def python_load(url: str, method: str, body: bytes, headers: dict[str, str], seconds: float, connections: int) -> float:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    done = [0] * connections
    stop = time.perf_counter() + seconds

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        while time.perf_counter() < stop:
            try:
                connection.request(method, parts.path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
                done[index] += 1
            except (OSError, http.client.HTTPException):
                connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / seconds


def median(values: list[float]) -> float:
    return statistics.median(values)


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [headers] + [[f"{v:,.2f}" if isinstance(v, float) else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "-|-".join("-" * w for w in widths))
    return "\n".join(lines)


def save(name: str, figures: dict[str, Any], path: Path | None = None) -> Path:
    target = path or RESULTS / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"machine": machine(), **figures}, indent=2) + "\n")
    return target


def bulk_environ(body: bytes) -> dict[str, object]:
    """A WSGI environ for the bulk endpoint carrying ``body``, as a server would build it."""
    import io

    return {
        "REQUEST_METHOD": "PATCH",
        "PATH_INFO": BULK_PATH,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "HTTP_AUTHORIZATION": f"Token {DEV_TOKEN}",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": "bench",
    }
