"""Docker smoke test: build the image, run it, check it from outside, restart it.

    python tests/docker/smoke.py

Starts a Docker engine when none answers (root: installs docker.io with apt
if needed), builds a Debian base image with debootstrap when the Dockerfile's
default base is not present locally (image registries are never contacted:
nothing is pulled or pushed), builds the project image, runs it with
``--network host`` on a free port, and checks login, a bulk update, an error,
that 50 slow clients (slowloris) leave it answering, that it ignores
X-Forwarded-* headers by default, a restart that keeps the state (the
/data volume), and two containers sharing one PostgreSQL database (a server
tests/postgres.py starts on this host). Everything it started (containers,
volume, engine, PostgreSQL) it stops again. Exit status 0 means all held.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BASE = "python:3.12-slim"
DEBIAN_BASE = "omnitron-mock-base:bookworm"
IMAGE = "omnitron-mock:smoke"
# Kept between runs on one machine, so the base image is built once.
CACHE = Path(os.environ.get("OMNITRON_MOCK_DOCKER_CACHE", "/var/cache/omnitron-mock-docker"))
TOKEN = "8d5ad200b6286fd7fedadaced3c567b20cce1c4c"
DEADLINE_SECONDS = 120


def log(message: str) -> None:
    print(f"[docker-smoke {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(*command: str, check: bool = True, capture: bool = True, timeout: float = 1800, **kwargs: Any) -> str:
    result = subprocess.run(command, capture_output=capture, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout if capture else ""


def docker(*args: str, **kwargs: Any) -> str:
    return run("docker", *args, **kwargs)


def apt_install(*packages: str) -> None:
    if os.geteuid() != 0:
        raise RuntimeError(f"{', '.join(packages)} missing, and installing needs root")
    log(f"installing {' '.join(packages)} with apt")
    apt = ("apt-get", "-o", "DPkg::Lock::Timeout=600")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(*apt, "update", timeout=1200, env=environment)
    run(*apt, "install", "-y", "--no-install-recommends", *packages, timeout=1200, env=environment)


def engine_answers() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


def wait_until(what: str, probe: Any, deadline: float = DEADLINE_SECONDS) -> None:
    """Poll an outside process (daemon, container) that offers no readiness event."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if probe():
            return
        time.sleep(0.5)
    raise RuntimeError(f"timed out after {deadline}s waiting for {what}")


@contextlib.contextmanager
def docker_engine() -> Iterator[None]:
    """Use the running engine, or start one for the duration and stop it by PID."""
    if engine_answers():
        log("using the running Docker engine")
        yield
        return
    if shutil.which("dockerd") is None:
        apt_install("docker.io")
    state = Path(tempfile.mkdtemp(prefix="omnitron-mock-dockerd-"))
    socket_path = state / "docker.sock"
    CACHE.mkdir(parents=True, exist_ok=True)
    log_file = (state / "dockerd.log").open("w")
    daemon = subprocess.Popen(
        [
            "dockerd",
            "--data-root",
            str(CACHE / "data"),
            "--exec-root",
            str(state / "exec"),
            "--pidfile",
            str(state / "dockerd.pid"),
            "-H",
            f"unix://{socket_path}",
            "--iptables=false",
            "--bridge=none",
        ],
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    os.environ["DOCKER_HOST"] = f"unix://{socket_path}"
    try:
        wait_until("dockerd", lambda: daemon.poll() is None and engine_answers())
        log(f"started dockerd (pid {daemon.pid})")
        yield
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(timeout=30)
        log_file.close()
        os.environ.pop("DOCKER_HOST", None)
        unmount_under(state)
        shutil.rmtree(state, ignore_errors=True)
        log("stopped dockerd")


def mounts_under(folder: Path) -> list[str]:
    prefix = f"{folder}/"
    with open("/proc/self/mounts") as table:
        points = [line.split()[1] for line in table]
    return [point for point in points if point.startswith(prefix)]


def unmount_under(folder: Path) -> None:
    """dockerd leaves its network namespace bind-mounted in its exec root when it stops."""
    for point in sorted(mounts_under(folder), key=len, reverse=True):
        subprocess.run(["umount", point], check=False)
    left = mounts_under(folder)
    if left:
        raise RuntimeError(f"mounts left behind by dockerd: {left}")


def image_exists(name: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", name], capture_output=True, timeout=60).returncode == 0


def base_image() -> str:
    """The Dockerfile's default base when present locally, else a Debian one built here."""
    if image_exists(DEFAULT_BASE):
        return DEFAULT_BASE
    if image_exists(DEBIAN_BASE):
        log(f"reusing the cached base image {DEBIAN_BASE}")
        return DEBIAN_BASE
    if shutil.which("debootstrap") is None:
        apt_install("debootstrap")
    rootfs = Path(tempfile.mkdtemp(prefix="omnitron-mock-rootfs-"))
    try:
        log("building a Debian bookworm root file system with debootstrap (a few minutes, once per machine)")
        run(
            "debootstrap",
            "--variant=minbase",
            "--include=python3,python3-pip,python3-venv,ca-certificates",
            "bookworm",
            str(rootfs),
            timeout=1800,
        )
        # Outbound HTTPS may pass an intercepting proxy whose CA the host trusts:
        # the image must trust it too, or pip cannot reach the package index.
        extra_cas = Path("/usr/local/share/ca-certificates")
        if extra_cas.is_dir():
            target = rootfs / "usr/local/share/ca-certificates"
            target.mkdir(parents=True, exist_ok=True)
            for certificate in extra_cas.glob("*.crt"):
                shutil.copy(certificate, target / certificate.name)
            run("chroot", str(rootfs), "update-ca-certificates")
        archive = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        run(
            "docker",
            "import",
            "--change",
            "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
            "--change",
            'CMD ["python3"]',
            "-",
            DEBIAN_BASE,
            stdin=archive.stdout,
        )
        archive.wait(timeout=600)
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
    log(f"built {DEBIAN_BASE}")
    return DEBIAN_BASE


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http(method: str, url: str, body: Any = None, token: str | None = TOKEN) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def answers(url: str) -> bool:
    try:
        return http("GET", f"{url}/_mock/health", token=None)[0] == 200
    except OSError:
        return False


def start_container(name: str, volume: str, port: int) -> str:
    return docker(
        "run",
        "--detach",
        "--name",
        name,
        "--network",
        "host",
        "--env",
        f"OMNITRON_MOCK_PORT={port}",
        "--volume",
        f"{volume}:/data",
        "--health-interval",
        "1s",
        IMAGE,
    ).strip()


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def check_service(url: str) -> None:
    status, body = http(
        "POST", f"{url}/api/i1/auth/login/", {"username": "mock-user", "password": "mock-password"}, None
    )
    expect((status, body) == (200, {"key": TOKEN}), f"login: {status} {body}")
    documented = json.loads((ROOT / "tests/data/documented-request.json").read_text())
    status, body = http("PATCH", f"{url}/api/i1/order_items/bulk_status_update/", documented)
    expect(status == 200 and [item["status"] for item in body] == ["450", "500", "500"], f"bulk: {status} {body}")
    status, body = http(
        "PATCH", f"{url}/api/i1/order_items/bulk_status_update/", {"orderitem_set": [{"id": 4, "status": "9"}]}
    )
    expected = [{"message": {"status": ["No matching type."]}, "args": {"orderitem_id": "4"}}]
    expect((status, body) == (400, expected), f"error case: {status} {body}")
    status, body = http("GET", f"{url}/api/i1/active_user/", token=None)
    expect(
        (status, body) == (401, {"detail": "Authentication credentials were not provided."}), f"auth: {status} {body}"
    )


SLOW_CLIENTS = 50


def check_slow_clients(url: str, port: int) -> None:
    """50 connections sending a request one header line a second must not stop
    health checks or API calls (two gunicorn sync workers stopped at two)."""
    connections = []
    stop = threading.Event()
    progress = threading.Condition()
    rounds = [0]

    def pace() -> None:
        for round_ in range(120):
            if stop.wait(1.0):  # the pace of a slow client
                return
            for connection in connections:
                with contextlib.suppress(OSError):
                    connection.sendall(f"X-Slow-{round_}: still typing\r\n".encode())
            with progress:
                rounds[0] = round_ + 1
                progress.notify_all()

    pacer = threading.Thread(target=pace, daemon=True)
    try:
        for _ in range(SLOW_CLIENTS):
            connection = socket.create_connection(("127.0.0.1", port), timeout=10)
            connection.sendall(f"GET /_mock/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())
            connections.append(connection)
        pacer.start()
        for _ in range(3):
            status, _ = http("GET", f"{url}/_mock/health", token=None)
            expect(status == 200, f"health with {SLOW_CLIENTS} slow clients: {status}")
            status, body = http("GET", f"{url}/api/i1/active_user/")
            expect(status == 200 and body["username"] == "mock-user", f"API with slow clients: {status} {body}")
            with progress:
                # Checked again once every slow client has sent one more line.
                seen = rounds[0]
                expect(progress.wait_for(lambda seen=seen: rounds[0] > seen, timeout=30), "the slow clients stalled")
    finally:
        stop.set()
        if pacer.is_alive():
            pacer.join(timeout=10)
        for connection in connections:
            connection.close()


def check_forwarded_headers_ignored(url: str) -> None:
    request = urllib.request.Request(
        f"{url}/api/i1/active_user",
        headers={"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"},
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(request, timeout=10)
        raise AssertionError("expected a 301 for the missing slash")
    except urllib.error.HTTPError as error:
        location = error.headers.get("Location", "")
        expect(error.code == 301, f"missing slash: {error.code}")
        expect("evil.example" not in location and not location.startswith("https"), f"Location {location}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def check_plugin_examples(url: str) -> None:
    """The docs' plugin examples, as a user's project, in remote mode against the container."""
    sys.path.insert(0, str(ROOT))
    from tests import docs
    from tests.test_plugin_docs import NODE, count_tests, project

    files = project(tuple(docs.run_by(NODE)))
    with tempfile.TemporaryDirectory(prefix="omnitron-mock-remote-") as folder:
        for name, text in files.items():
            target = Path(folder) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--omnitron-mock-url", url],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=600,
        )
    expected = f"{count_tests(files)} passed"
    expect(result.returncode == 0 and expected in result.stdout, f"plugin examples against the image: {result.stdout}")
    log(f"the docs' plugin examples passed against the image in remote mode ({expected})")


def check_banner_in_log(name: str, url: str) -> None:
    """The container's log starts with serve's banner: the URL, the inspector, the users."""
    logged = docker("logs", name)
    expect(
        "omnitron-mock listening on" in logged and "/_mock/" in logged and "token" in logged,
        f"the container's log lacks the start banner: {logged[-2000:]}",
    )


def check_memory_with_workers_refused(port: int) -> None:
    """The memory store with two workers would split the state: the container refuses to start, saying why."""
    result = subprocess.run(
        ["docker", "run", "--rm", "--network", "host", "--env", f"OMNITRON_MOCK_PORT={port}",
         "--env", "OMNITRON_MOCK_DB=", "--env", "OMNITRON_MOCK_WORKERS=2", IMAGE],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    said = result.stdout + result.stderr
    expect(result.returncode != 0, f"a memory-store container with two workers started: {said[-1000:]}")
    expect("needs --db PATH (OMNITRON_MOCK_DB)" in said, f"the refusal does not say why: {said[-1000:]}")
    log("a memory-store container with two workers refused to start, saying why")


def check_containers_share_postgresql(suffix: str) -> None:
    """Two containers on one PostgreSQL database (a throwaway server of the test
    suite's, reached over the host network) serve one state and one journal."""
    sys.path.insert(0, str(ROOT))
    from tests.postgres import running_postgres

    names = [f"omnitron-mock-smoke-{suffix}-pg-{replica}" for replica in ("a", "b")]
    with running_postgres() as server:
        try:
            urls = []
            for name in names:
                port = free_port()
                docker(
                    "run", "--detach", "--name", name, "--network", "host", "--env", f"OMNITRON_MOCK_PORT={port}",
                    "--env", f"OMNITRON_MOCK_DB={server.url}", IMAGE,
                )  # fmt: skip
                urls.append(f"http://127.0.0.1:{port}")
            for url in urls:
                wait_until(f"the container on {url} (PostgreSQL) to answer", lambda url=url: answers(url))
            line = {"id": 2, "status": "500", "tracking_number": "PG1", "shipping_company": "ups"}
            shipped = {"orderitem_set": [line]}
            status, body = http("PATCH", f"{urls[0]}/api/i1/order_items/bulk_status_update/", shipped)
            expect(status == 200, f"bulk on the first PostgreSQL container: {status} {body}")
            status, item = http("GET", f"{urls[1]}/api/i1/order_items/2/")
            expect(item["tracking_number"] == "PG1", f"the second container does not see the bulk: {status} {item}")
            status, journal = http("GET", f"{urls[1]}/_mock/requests?method=PATCH", token=None)
            expect(journal["count"] == 1, f"the second container's journal: {status} {journal}")
        finally:
            for name in names:
                docker("rm", "--force", name, check=False)
    log("two containers on one PostgreSQL database shared the state and the journal")


def check_state_kept(url: str, when: str) -> None:
    status, item = http("GET", f"{url}/api/i1/order_items/2/")
    expect(status == 200 and item["tracking_number"] == "TR123123", f"{when}: item 2 is {status} {item}")


def main() -> int:
    started = time.monotonic()
    with docker_engine():
        base = base_image()
        log(f"building {IMAGE} on {base}")
        docker(
            "build", "--network", "host", "--build-arg", f"BASE_IMAGE={base}", "--tag", IMAGE, str(ROOT), timeout=1800
        )
        suffix = uuid.uuid4().hex[:8]
        volume = f"omnitron-mock-smoke-{suffix}"
        names = [f"omnitron-mock-smoke-{suffix}-a", f"omnitron-mock-smoke-{suffix}-b"]
        try:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            container = start_container(names[0], volume, port)
            log(f"container {container[:12]} on {url}")
            wait_until("the container to answer", lambda: answers(url))
            check_banner_in_log(names[0], url)
            check_service(url)
            check_slow_clients(url, port)
            log(f"health and API answered with {SLOW_CLIENTS} slow clients connected")
            check_forwarded_headers_ignored(url)
            expect(docker("exec", names[0], "id", "-u").strip() == "10001", "the service must not run as root")
            for absent in ("gunicorn", "pytest", "responses", "requests", "yaml"):
                imported = subprocess.run(
                    ["docker", "exec", names[0], "python", "-c", f"import {absent}"], capture_output=True, timeout=60
                )
                expect(imported.returncode != 0, f"{absent} must not be installed in the image (server only)")
            wait_until(
                "the health check to pass",
                lambda: docker("inspect", "--format", "{{.State.Health.Status}}", names[0]).strip() == "healthy",
            )
            docker("restart", names[0])
            wait_until("the restarted container to answer", lambda: answers(url))
            check_state_kept(url, "after docker restart")
            docker("rm", "--force", names[0])
            start_container(names[1], volume, port)
            wait_until("a new container on the same volume to answer", lambda: answers(url))
            check_state_kept(url, "in a new container on the same volume")
            status, _ = http("POST", f"{url}/_mock/reset", token=None)
            expect(status == 200, "reset")
            status, item = http("GET", f"{url}/api/i1/order_items/2/")
            expect(item["tracking_number"] is None, f"after reset: {item}")
            check_plugin_examples(url)
            check_memory_with_workers_refused(free_port())
            check_containers_share_postgresql(suffix)
        finally:
            for name in names:
                docker("rm", "--force", name, check=False)
            docker("volume", "rm", "--force", volume, check=False)
    log(f"all checks passed in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
