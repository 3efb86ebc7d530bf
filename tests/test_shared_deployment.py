"""The shared deployment of docs/shared-deployment/: its compose file's
structure, and its nginx.conf run for real.

Debian's nginx runs the committed nginx.conf (only the replicas' addresses
and its listen port replaced) in front of two emulator processes started
with the compose file's replica settings, sharing one real PostgreSQL
database. No image is pulled: compose's services are stood in for by these
processes, and the docker tier has docker-compose check the file itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import yaml
from omnitron_mock import DEV_TOKEN, Settings, create_app
from omnitron_mock.config import DEV_PASSWORD, DEV_USERNAME

from tests import docs
from tests.docs import Block
from tests.helpers import BULK_PATH, FIGURES, in_ci, serving_command
from tests.nginx import NginxUnavailable, RunningNginx, nginx_binary, running_nginx
from tests.postgres import PostgresServer, running_postgres
from tests.replicas import Replica, running_replicas, start_replicas, stop_replicas
from tests.shared_deployment import (
    COMPOSE,
    FOLDER,
    NGINX_CONF,
    NGINX_SITE_PATH,
    MissingVariable,
    balancer_name,
    balancer_port,
    compose_file,
    image_port,
    interpolate,
    render_nginx_conf,
    replica_names,
    upstream_servers,
)

# What the operator sets before `docker compose up` (the file refuses to start without the first two).
VARIABLES = {
    "POSTGRES_PASSWORD": "staging-database-password",
    "OMNITRON_MOCK_ADMIN_TOKEN": "staging-admin-token",
    "OMNITRON_MOCK_ALLOWED_HOSTS": "omnitron.staging.test",
}
PUBLIC_NAME = VARIABLES["OMNITRON_MOCK_ALLOWED_HOSTS"]
ADMIN = {"X-Mock-Admin-Token": VARIABLES["OMNITRON_MOCK_ADMIN_TOKEN"]}
REPLICA_HEADER = "X-Omnitron-Replica"
AUTH_DEV = {"Authorization": f"Token {DEV_TOKEN}"}
TIMEOUT = 30


def _witness(name: str) -> str:
    """A courier slug only replica ``name`` knows: its served OpenAPI document names it, so
    an answer says which replica wrote it (the one setting the replicas do not share)."""
    return f"witness-{name}"


@dataclass
class Deployment:
    """The balancer and the replicas behind it, each reachable directly."""

    nginx: RunningNginx
    replicas: dict[str, str]  # compose service name -> URL of the process standing in for it
    running: dict[str, Replica]  # compose service name -> its process

    @property
    def public(self) -> dict[str, str]:
        """The Host a client of the balancer sends."""
        return {"Host": f"{PUBLIC_NAME}:{self.nginx.port}"}

    def send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A request through the balancer, by its public name."""
        headers = {**self.public, **kwargs.pop("headers", {})}
        return requests.request(method, self.nginx.url + path, headers=headers, timeout=TIMEOUT, **kwargs)

    def direct(self, name: str, path: str) -> Any:
        """What replica ``name`` itself answers to a control API read."""
        answer = requests.get(self.replicas[name] + path, headers=ADMIN, timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def replica_of(self, answer: requests.Response) -> str:
        """The replica nginx says answered, by service name."""
        names = {urlsplit(url).netloc: name for name, url in self.replicas.items()}
        return names[answer.headers[REPLICA_HEADER]]

    def stop(self, name: str) -> None:
        """Stop replica ``name`` (SIGTERM; it must exit 0)."""
        assert self.running[name].stop() == 0


def _nginx_or_skip() -> None:
    try:
        nginx_binary()
    except NginxUnavailable as missing:
        if in_ci():  # .ci/run installs it
            raise
        pytest.skip(str(missing))


@contextmanager
def running_deployment(postgres_server: PostgresServer) -> Iterator[Deployment]:
    """The compose file's replicas, as processes with its settings on a new
    database of the test server, behind the committed nginx.conf."""
    _nginx_or_skip()
    compose = compose_file(VARIABLES)
    database = postgres_server.create_database(f"shared_deployment_{uuid.uuid4().hex[:12]}")
    running: dict[str, Replica] = {}
    try:
        for name in replica_names(compose):
            environment = {key: str(value) for key, value in compose["services"][name]["environment"].items()}
            # The compose file's database is the postgres service; here it is the test server's (--db).
            del environment["OMNITRON_MOCK_DB"]
            [running[name]] = start_replicas(database, 1, "--extra-shipping-company", _witness(name), env=environment)
        replicas = {name: replica.url for name, replica in running.items()}

        def site(port: int) -> str:
            addresses = {name: urlsplit(url).netloc for name, url in replicas.items()}
            return render_nginx_conf(addresses, f"127.0.0.1:{port}", image_port(), balancer_port(compose))

        with running_nginx(site) as nginx:
            yield Deployment(nginx, replicas, running)
    except BaseException:
        for replica in running.values():
            replica.kill()
        raise
    stop_replicas(running.values())


@pytest.fixture(scope="module")
def deployment(postgres_server: PostgresServer) -> Iterator[Deployment]:
    with running_deployment(postgres_server) as started:
        yield started


@pytest.fixture
def shared(deployment: Deployment) -> Deployment:
    """The deployment back at its startup seed, journal and faults empty."""
    assert deployment.send("POST", "/_mock/reset", headers=ADMIN).status_code == 200
    return deployment


def _bulk(number: int) -> dict[str, Any]:
    """The ``number``-th bulk: one of the seed's five items shipped, with a tracking number of its own."""
    return {
        "orderitem_set": [
            {"id": number % 5 + 1, "status": "500", "tracking_number": f"TR{number}", "shipping_company": "ups"}
        ]
    }


def test_requests_through_the_balancer_reach_both_replicas_which_report_the_same(shared: Deployment) -> None:
    login = shared.send("POST", "/api/i1/auth/login/", json={"username": DEV_USERNAME, "password": DEV_PASSWORD})
    assert login.status_code == 200, login.text
    auth = {"Authorization": f"Token {login.json()['key']}"}
    fault = {"kind": "status", "status": 503, "times": 6, "path": "*/bulk_status_update/"}
    added = shared.send("POST", "/_mock/faults", json=fault, headers=ADMIN)
    assert added.status_code == 201, added.text
    [fault_id] = [added_fault["id"] for added_fault in added.json()["faults"]]

    # Four bulks one after another: all four answered by the fault, whichever replica counted.
    first = [shared.send("PATCH", BULK_PATH, json=_bulk(number), headers=auth) for number in range(4)]
    assert [answer.status_code for answer in first] == [503] * 4
    seen = {name: shared.direct(name, "/_mock/faults")["faults"] for name in shared.replicas}
    assert all(faults == [{**fault, "id": fault_id, "used": 4}] for faults in seen.values()), seen

    # Twenty more from four threads at once: exactly the two uses left are answered 503.
    lock = threading.Lock()
    answers: dict[int, requests.Response] = {}

    def send(number: int) -> None:
        answer = shared.send("PATCH", BULK_PATH, json=_bulk(number), headers=auth)
        with lock:
            answers[number] = answer

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(send, range(4, 24)))
    statuses = Counter(answer.status_code for answer in answers.values())
    assert statuses == {200: 18, 503: 2}

    # Every replica served some: nginx names the one that answered each request.
    served = Counter(shared.replica_of(answer) for answer in [*first, *answers.values()])
    assert set(served) == set(shared.replicas), served

    # Each replica, asked directly, reports the same journal, state and faults.
    journals = {name: shared.direct(name, "/_mock/requests?method=PATCH") for name in shared.replicas}
    states = {name: shared.direct(name, "/_mock/state") for name in shared.replicas}
    faults = {name: shared.direct(name, "/_mock/faults") for name in shared.replicas}
    [journal, *others] = journals.values()
    assert all(other == journal for other in others)
    assert all(other == next(iter(states.values())) for other in states.values())
    assert all(other == {"faults": []} for other in faults.values())

    # The journal holds every bulk once, each with the answer its client got.
    entries = journal["requests"]
    tracking = [entry["body"]["orderitem_set"][0]["tracking_number"] for entry in entries]
    assert sorted(tracking) == sorted(f"TR{number}" for number in range(24))
    sent = {f"TR{number}": answer.status_code for number, answer in [*enumerate(first), *answers.items()]}
    assert {number: entry["status"] for number, entry in zip(tracking, entries, strict=True)} == sent
    assert [entry["fault"] for entry in entries].count("status 503") == 6

    # The state is what the acknowledged bulks left, in the journal's (commit) order.
    last: dict[int, str] = {}
    for entry in entries:
        if entry["status"] == 200:
            [line] = entry["body"]["orderitem_set"]
            last[line["id"]] = line["tracking_number"]
    state = next(iter(states.values()))
    items = {item["id"]: item for order in state["orders"] for item in order["items"]}
    assert {item_id: items[item_id]["tracking_number"] for item_id in last} == last

    FIGURES["shared deployment: bulks through nginx"] += len(entries)
    print(f"bulks through nginx: {len(entries)}, per replica: {dict(served)}, 503 from the fault: 6 of 6")


def test_the_replica_header_names_the_replica_that_answered(shared: Deployment) -> None:
    answered = []
    for _request in range(4):
        document = shared.send("GET", "/openapi.json")
        assert document.status_code == 200
        name = shared.replica_of(document)
        assert _witness(name) in document.text
        assert not any(_witness(other) in document.text for other in shared.replicas if other != name)
        answered.append(name)
    # Round robin: with nothing else in flight, the replicas take turns.
    assert set(answered) == set(shared.replicas)


def test_the_client_names_the_host_and_its_forwarded_headers_are_replaced(shared: Deployment) -> None:
    public = f"http://{shared.public['Host']}"
    spoofed = {"X-Forwarded-Host": "elsewhere.test", "X-Forwarded-Proto": "https"}
    redirect = shared.send("GET", "/api/i1/orders", headers=spoofed, allow_redirects=False)
    assert (redirect.status_code, redirect.headers["Location"]) == (301, f"{public}/api/i1/orders/")
    refused = shared.send("GET", "/api/i1/orders/", headers={"Host": "elsewhere.test"})
    assert refused.status_code == 400
    assert "Invalid Host header: 'elsewhere.test'" in refused.json()["detail"]


def test_the_inspectors_origin_check_sees_the_public_origin(shared: Deployment) -> None:
    public_origin = {"Origin": f"http://{shared.public['Host']}", **ADMIN}
    assert shared.send("POST", "/_mock/reset", headers=public_origin).status_code == 200
    # A page served by a replica's own address is another site, seen through the balancer.
    replica_origin = {"Origin": next(iter(shared.replicas.values())), **ADMIN}
    refused = shared.send("POST", "/_mock/reset", headers=replica_origin)
    assert refused.status_code == 403
    assert "Cross-site request refused" in refused.json()["detail"]


def test_a_stopped_replica_costs_one_request_then_nginx_leaves_it_out(postgres_server: PostgresServer) -> None:
    with running_deployment(postgres_server) as deployment:
        [kept, stopped] = deployment.replicas
        deployment.stop(stopped)
        answered: list[str | None] = []
        for _request in range(6):
            try:
                answered.append(deployment.replica_of(deployment.send("GET", "/_mock/health")))
            except requests.ConnectionError:  # closed unanswered, as by the stopped replica itself
                answered.append(None)
        # Within nginx's fail_timeout (10 s) after the one failure, every request goes to the replica left.
        assert answered.count(None) == 1
        assert answered[answered.index(None) + 1 :] == [kept] * (5 - answered.index(None))
        assert None in answered[:2]


def test_faults_reach_the_client_as_the_replica_sends_them_once_each(shared: Deployment) -> None:
    auth = AUTH_DEV
    for kind in ("drop", "truncate"):
        fault = {"kind": kind, "times": 1, "method": "GET", "path": "*/orders/1/"}
        assert shared.send("POST", "/_mock/faults", json=fault, headers=ADMIN).status_code == 201
    fault = {"kind": "status", "status": 502, "times": 1, "method": "GET", "path": "*/orders/1/"}
    assert shared.send("POST", "/_mock/faults", json=fault, headers=ADMIN).status_code == 201

    # Not retried on the other replica, nor turned into nginx's own 502 page.
    with pytest.raises(requests.ConnectionError):
        shared.send("GET", "/api/i1/orders/1/", headers=auth)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        shared.send("GET", "/api/i1/orders/1/", headers=auth)
    bad_gateway = shared.send("GET", "/api/i1/orders/1/", headers=auth)
    assert (bad_gateway.status_code, bad_gateway.json()) == (502, {"detail": "Bad gateway."})
    assert shared.send("GET", "/api/i1/orders/1/", headers=auth).status_code == 200

    journal = shared.send("GET", "/_mock/requests?path=/orders/1/", headers=ADMIN).json()["requests"]
    assert [(entry["status"], entry["fault"]) for entry in journal] == [
        (0, "dropped connection"),
        (200, "truncated body"),
        (502, "status 502"),
        (200, None),
    ]


def test_the_compose_health_checks_pass(shared: Deployment) -> None:
    compose = compose_file(VARIABLES)
    for name, url in shared.replicas.items():
        check = compose["services"][name]["healthcheck"]["test"]
        assert check[:2] == ["CMD", "python"]
        port = str(urlsplit(url).port)
        probe = subprocess.run(
            [sys.executable, *check[2:]], env={**os.environ, "OMNITRON_MOCK_PORT": port}, timeout=TIMEOUT
        )
        assert probe.returncode == 0
    # The balancer's probe asks for /_mock/health through nginx, by a loopback address.
    [probed] = [part for part in compose["services"][balancer_name(compose)]["healthcheck"]["test"] if "://" in part]
    assert urlsplit(probed).hostname == "127.0.0.1"
    health = requests.get(f"{shared.nginx.url}{urlsplit(probed).path}", timeout=TIMEOUT)
    assert (health.status_code, health.json()["status"]) == (200, "ok")


def test_the_compose_file_runs_postgres_replicas_and_a_balancer_in_order() -> None:
    compose = compose_file(VARIABLES)
    services = compose["services"]
    [postgres] = [name for name, service in services.items() if str(service.get("image", "")).startswith("postgres:")]
    database = services[postgres]
    assert "pg_isready" in database["healthcheck"]["test"]
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in database["volumes"])

    replicas = replica_names(compose)
    assert len(replicas) >= 2
    settings = [services[name]["environment"] for name in replicas]
    assert all(setting == settings[0] for setting in settings), "replicas must share every setting"
    for name in replicas:
        service = services[name]
        url = urlsplit(service["environment"]["OMNITRON_MOCK_DB"])
        account = database["environment"]
        assert (url.scheme, url.hostname, url.port) == ("postgresql", postgres, 5432)
        assert (url.username, url.password, url.path) == (
            account["POSTGRES_USER"],
            account["POSTGRES_PASSWORD"],
            f"/{account['POSTGRES_DB']}",
        )
        assert service["depends_on"] == {postgres: {"condition": "service_healthy"}}
        assert service["healthcheck"]["test"] == ["CMD", "python", "-m", "omnitron_mock.healthcheck"]
        assert service["environment"]["OMNITRON_MOCK_ADMIN_TOKEN"] == VARIABLES["OMNITRON_MOCK_ADMIN_TOKEN"]
        assert "ports" not in service, "only the balancer is published"

    balancer = services[balancer_name(compose)]
    assert balancer["depends_on"] == {name: {"condition": "service_healthy"} for name in replicas}
    assert f"./{NGINX_CONF.name}:{NGINX_SITE_PATH}:ro" in balancer["volumes"]
    assert any("/_mock/health" in part for part in balancer["healthcheck"]["test"])
    # nginx balances over exactly the replicas, on the port the image listens on.
    assert upstream_servers() == [f"{name}:{image_port()}" for name in replicas]


def test_the_compose_file_refuses_to_start_without_its_secrets() -> None:
    for missing in ("POSTGRES_PASSWORD", "OMNITRON_MOCK_ADMIN_TOKEN"):
        with pytest.raises(MissingVariable, match=missing):
            compose_file({name: value for name, value in VARIABLES.items() if name != missing})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${A}", "a"),
        ("${UNSET:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${EMPTY-fallback}", ""),
        ("$${A}", "${A}"),
        ("x${A}y${A}", "xaya"),
    ],
)
def test_compose_interpolation_as_compose_does_it(text: str, expected: str) -> None:
    assert interpolate(text, {"A": "a", "EMPTY": ""}) == expected


@docs.examples
def test_the_docs_show_the_committed_compose_file(example: Block) -> None:
    assert example.text == COMPOSE.read_text("utf-8")


# The database the docs' serve examples name; each run gets one of its own instead.
DOCUMENTED_URL = "postgresql://omnitron:secret@db.internal:5432/omnitron"


@docs.examples
def test_postgresql_serve_examples_run(example: Block, postgres_server: PostgresServer, tmp_path: Path) -> None:
    """Each command as a user types it (``omnitron-mock`` being this checkout's
    CLI): it serves from the database, whose password its banner hides."""
    shim = tmp_path / "bin" / "omnitron-mock"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m omnitron_mock "$@"\n')
    shim.chmod(0o755)
    environment = {**os.environ, "PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}"}
    commands = [line for line in example.text.splitlines() if line.strip()]
    assert commands
    for command in commands:
        assert DOCUMENTED_URL in command
        database = postgres_server.create_database(f"serve_example_{uuid.uuid4().hex[:12]}")
        # The test server trusts its user whatever the password: the URL keeps the documented one.
        script = command.replace(DOCUMENTED_URL, database.replace("omnitron@", "omnitron:secret@", 1))
        served = ["bash", "-c", f"exec env {script} --port 0"]
        with serving_command(served, environment, cwd=tmp_path) as (url, banner):
            assert "secret" not in "\n".join(banner)
            line = {"id": 2, "status": "500", "tracking_number": "PG-EXAMPLE", "shipping_company": "ups"}
            bulk = requests.patch(url + BULK_PATH, json={"orderitem_set": [line]}, headers=AUTH_DEV, timeout=TIMEOUT)
            assert bulk.status_code == 200, bulk.text
        # The server is gone; the state is in the database.
        application = create_app(Settings(db=database))
        try:
            item = application.test_client().get("/api/i1/order_items/2/", headers=AUTH_DEV).get_json()
            assert item["tracking_number"] == "PG-EXAMPLE"
        finally:
            application.extensions["omnitron_mock"].store.close()


def test_a_replica_carries_on_after_postgresql_restarts() -> None:
    """A restart of PostgreSQL breaks every pooled connection: the next request
    reconnects instead of failing, and nothing acknowledged before is lost."""
    auth = AUTH_DEV
    with running_postgres() as server, running_replicas(server.url, 1) as [replica]:
        url = replica.url
        for number in range(2):
            bulk = requests.patch(url + BULK_PATH, json=_bulk(number), headers=auth, timeout=TIMEOUT)
            assert bulk.status_code == 200, bulk.text
        log = str(server.directory / "server.log")
        restarted = server.run("pg_ctl", "restart", "-D", str(server.data_dir), "-m", "fast", "-w", "-l", log)
        assert restarted.returncode == 0
        for number in range(2, 4):
            bulk = requests.patch(url + BULK_PATH, json=_bulk(number), headers=auth, timeout=TIMEOUT)
            assert bulk.status_code == 200, bulk.text
        journal = requests.get(url + "/_mock/requests?method=PATCH", timeout=TIMEOUT).json()
        assert [entry["status"] for entry in journal["requests"]] == [200] * 4


@pytest.mark.slow
def test_while_postgresql_is_down_requests_answer_500_and_health_200() -> None:
    """Waits out the pool's timeout (about a minute): of the slow tier."""
    with running_postgres() as server, running_replicas(server.url, 1) as [replica]:
        url = replica.url
        assert requests.get(url + "/api/i1/order_items/1/", headers=AUTH_DEV, timeout=TIMEOUT).status_code == 200
        server.stop()
        health = requests.get(url + "/_mock/health", timeout=TIMEOUT)
        assert health.status_code == 200
        bulk = requests.patch(url + BULK_PATH, json=_bulk(0), headers=AUTH_DEV, timeout=300)
        assert (bulk.status_code, bulk.json()) == (500, {"detail": "A server error occurred."})


def _docker_compose() -> str:
    found = shutil.which("docker-compose")
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("docker tier: no docker-compose, and installing it needs root and apt-get")
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=600"]
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*apt, "update"], check=True, capture_output=True, timeout=1200, env=environment)
    install = [*apt, "install", "-y", "--no-install-recommends", "docker-compose"]
    subprocess.run(install, check=True, capture_output=True, timeout=1200, env=environment)
    return "docker-compose"


@pytest.mark.docker
def test_docker_compose_reads_the_file_as_these_tests_do() -> None:
    """Debian's docker-compose (1.29) validates the file without an engine, and
    resolves it to what tests/shared_deployment.py reads."""
    binary = _docker_compose()
    command = [binary, "--file", str(COMPOSE), "config"]
    resolved = subprocess.run(
        command, capture_output=True, text=True, timeout=120, env={**os.environ, **VARIABLES}, cwd=FOLDER
    )
    assert resolved.returncode == 0, resolved.stderr
    theirs = yaml.safe_load(resolved.stdout)["services"]
    ours = compose_file(VARIABLES)["services"]
    assert set(theirs) == set(ours)
    for name, service in ours.items():
        assert {key: str(value) for key, value in theirs[name].get("environment", {}).items()} == {
            key: str(value) for key, value in service.get("environment", {}).items()
        }
        assert theirs[name].get("depends_on") == service.get("depends_on")
    unset = {key: value for key, value in os.environ.items() if key not in VARIABLES}
    refused = subprocess.run(command, capture_output=True, text=True, timeout=120, env=unset, cwd=FOLDER)
    assert refused.returncode != 0
    assert "POSTGRES_PASSWORD" in refused.stderr
