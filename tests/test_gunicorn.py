"""Several gunicorn worker processes over one SQLite file: one consistent state."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests
from omnitron_mock import DEV_TOKEN

from tests.helpers import checked_session
from tests.serial_order import assert_concurrent_bulks_serialize

WORKERS = 4


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gunicorn with 4 sync workers on 127.0.0.1, port 0, state in a temporary SQLite
    file: one server for the module, started once (each start imports the app in
    five processes)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OMNITRON_MOCK_")}
    environment["OMNITRON_MOCK_DB"] = str(tmp_path_factory.mktemp("gunicorn") / "shared.db")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(WORKERS),
            "--bind",
            "127.0.0.1:0",
            "omnitron_mock.wsgi:application",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    assert process.stderr is not None
    url = None
    for line in process.stderr:
        if match := re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", line):
            url = match.group(1)
            break
    assert url, "gunicorn did not start"
    try:
        # The listening socket queues connections until a worker takes them.
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


@pytest.fixture
def gunicorn_url(gunicorn_server: str) -> str:
    """The module's gunicorn server as it started: reset through one worker, for all."""
    with checked_session() as session:
        assert session.post(f"{gunicorn_server}/_mock/reset", timeout=30).status_code == 200
    return gunicorn_server


def test_workers_agree_on_one_serial_order(gunicorn_url: str) -> None:
    assert_concurrent_bulks_serialize(gunicorn_url)


def test_every_worker_sees_every_write(gunicorn_url: str) -> None:
    headers = {"Authorization": f"Token {DEV_TOKEN}"}
    with checked_session() as session:
        for round_ in range(20):
            body = {"orderitem_set": [{"id": 4, "tracking_number": f"T{round_}"}]}
            url = f"{gunicorn_url}/api/i1/order_items/bulk_status_update/"
            assert session.patch(url, json=body, headers=headers, timeout=30).status_code == 200
            # sync workers close each connection: the read may land on any worker
            item = session.get(f"{gunicorn_url}/api/i1/order_items/4/", headers=headers, timeout=30).json()
            assert item["tracking_number"] == f"T{round_}"
        journal = session.get(f"{gunicorn_url}/_mock/requests?method=PATCH", timeout=30).json()
        assert journal["count"] == 20
        assert session.post(f"{gunicorn_url}/_mock/reset", timeout=30).status_code == 200
        for _ in range(WORKERS * 2):
            item = session.get(f"{gunicorn_url}/api/i1/order_items/4/", headers=headers, timeout=30).json()
            assert item["tracking_number"] is None


def test_faults_reach_every_worker_and_drop_connections(gunicorn_url: str) -> None:
    headers = {"Authorization": f"Token {DEV_TOKEN}"}
    with checked_session() as session:
        added = session.post(f"{gunicorn_url}/_mock/faults", json={"kind": "drop", "times": 3}, timeout=30)
        assert added.status_code == 201
        for _ in range(3):
            with pytest.raises(requests.ConnectionError):
                session.get(f"{gunicorn_url}/api/i1/orders/1/", headers=headers, timeout=30)
        assert session.get(f"{gunicorn_url}/api/i1/orders/1/", headers=headers, timeout=30).status_code == 200
        assert session.get(f"{gunicorn_url}/_mock/faults", timeout=30).json() == {"faults": []}


def test_users_seeded_in_one_worker_sign_in_at_every_worker(gunicorn_url: str) -> None:
    # Workers cache users and faults; a change made through any worker must
    # reach the others by the next request.
    token = "seeded-in-one-worker"
    headers = {"Authorization": f"Token {token}"}
    me = f"{gunicorn_url}/api/i1/active_user/"
    with checked_session() as session:
        for _ in range(WORKERS * 2):
            assert session.get(me, headers=headers, timeout=30).status_code == 401
        seed = {"users": [{"username": "erp-bot", "password": "pw", "token": token}]}
        assert session.post(f"{gunicorn_url}/_mock/seed", json=seed, timeout=30).status_code == 200
        for _ in range(WORKERS * 2):
            answer = session.get(me, headers=headers, timeout=30)
            assert answer.status_code == 200
            assert answer.json()["username"] == "erp-bot"
        assert session.post(f"{gunicorn_url}/_mock/reset", timeout=30).status_code == 200
        for _ in range(WORKERS * 2):
            assert session.get(me, headers=headers, timeout=30).json() == {"detail": "Invalid token."}
