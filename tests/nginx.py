"""A throwaway nginx for the tests: Debian's ``nginx`` binary, run in the
foreground from a temporary directory with a site configuration given as text.

The site configuration is what an nginx image reads from
``/etc/nginx/conf.d/``: ``upstream`` and ``server`` blocks of the ``http``
context. The main configuration around it here holds only what a process
needs outside a container (its pid file, logs and buffer directories under
the temporary directory), so that the site file under test is used as is.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.postgres import free_port

# How long a start may take, and how often the port is tried meanwhile.
READY_WITHIN_SECONDS = 30.0
POLL_SECONDS = 0.05
# Debian puts nginx in /usr/sbin, which a user's PATH may not hold.
SEARCHED = ("nginx", "/usr/sbin/nginx")
# A port another process took between our probe and nginx's bind: try another.
START_ATTEMPTS = 5
_MAIN_CONFIGURATION = """\
worker_processes 1;
pid {directory}/nginx.pid;
events {{
    worker_connections 256;
}}
http {{
    access_log {directory}/access.log;
    client_body_temp_path {directory}/client-body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    include {directory}/site.conf;
}}
"""


class NginxUnavailable(RuntimeError):
    """nginx is not installed."""


def nginx_binary() -> str:
    for name in SEARCHED:
        found = shutil.which(name)
        if found:
            return found
    raise NginxUnavailable("nginx is missing; install Debian's package: apt-get install nginx")


@dataclass
class RunningNginx:
    """A started nginx: where it listens and where it logs."""

    port: int
    directory: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def error_log(self) -> str:
        path = self.directory / "error.log"
        return path.read_text() if path.exists() else ""


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _start(command: list[str], server: RunningNginx) -> subprocess.Popen[bytes] | None:
    """nginx listening on ``server.port``; None when it stopped first (say,
    another process took the port between our probe and its bind)."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + READY_WITHIN_SECONDS
    while not _answers(server.port):
        if process.poll() is not None:
            return None
        if time.monotonic() > deadline:
            _stop(process)
            raise TimeoutError(f"nginx did not listen within {READY_WITHIN_SECONDS} s:\n{server.error_log()}")
        time.sleep(POLL_SECONDS)  # a poll interval, bounded by the deadline
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    # SIGQUIT: nginx's graceful stop (its workers finish what they serve).
    process.send_signal(signal.SIGQUIT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


@contextmanager
def running_nginx(site_for_port: Callable[[int], str]) -> Iterator[RunningNginx]:
    """nginx serving the site configuration ``site_for_port(port)`` on a free
    loopback port; stopped (by its PID) and its directory removed at the end."""
    binary = nginx_binary()
    directory = Path(tempfile.mkdtemp(prefix="omnitron-nginx-"))
    # Under root the workers run as an unprivileged user, who must reach the
    # buffer directories nginx creates in here.
    directory.chmod(0o755)
    try:
        (directory / "nginx.conf").write_text(_MAIN_CONFIGURATION.format(directory=directory))
        configuration, log = directory / "nginx.conf", directory / "error.log"
        command = [binary, "-p", str(directory), "-c", str(configuration), "-e", str(log)]
        for _attempt in range(START_ATTEMPTS):
            server = RunningNginx(free_port(), directory)
            site = site_for_port(server.port)
            (directory / "site.conf").write_text(site)
            checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=60)
            assert checked.returncode == 0, f"nginx refuses the configuration:\n{checked.stderr}\n{site}"
            process = _start([*command, "-g", "daemon off;"], server)
            if process is not None:
                break
        else:
            raise RuntimeError(f"nginx did not start in {START_ATTEMPTS} attempts:\n{server.error_log()}")
        try:
            yield server
        finally:
            _stop(process)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
