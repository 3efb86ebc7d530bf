"""Latency faults are capped everywhere the contract allows them, and a
delayed request stops waiting when its faults are cleared."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from mockserver import DEV_TOKEN
from mockserver.serving import HTTPServer

AUTH = {"Authorization": f"Token {DEV_TOKEN}"}
TEN_MINUTES_MS = 600_000


@pytest.mark.parametrize(
    "delay_ms",
    [TEN_MINUTES_MS + 1, [TEN_MINUTES_MS + 1, 0], [0, TEN_MINUTES_MS + 1], [1e12, 0], 1e308],
    ids=["fixed", "range-low", "range-high", "range-low-huge", "huge"],
)
def test_delays_past_ten_minutes_are_refused_in_every_form(client: FlaskClient, delay_ms: Any) -> None:
    response = client.post("/_mock/faults", json={"kind": "latency", "delay_ms": delay_ms})
    assert response.status_code == 400
    assert [error["path"] for error in response.get_json()["errors"]] == ["$.delay_ms"]
    assert client.get("/_mock/faults").get_json() == {"faults": []}


@pytest.mark.parametrize(
    "header",
    ["latency=1000000000000-0", "latency=0-1000000000000", "latency=600001", "latency=nan", "latency=inf-0"],
)
def test_fault_headers_past_the_cap_or_not_numbers_are_refused(client: FlaskClient, header: str) -> None:
    response = client.get("/api/i1/active_user/", headers={**AUTH, "X-Mock-Fault": header})
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith("Invalid X-Mock-Fault header")


@pytest.fixture
def server(app: Any) -> Iterator[HTTPServer]:
    with HTTPServer(app, host="127.0.0.1", port=0) as running:
        yield running


def _delayed_call(url: str) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def call() -> None:
        outcome["status"] = requests.get(f"{url}/api/i1/active_user/", headers=AUTH, timeout=120).status_code

    thread = threading.Thread(target=call)
    thread.start()
    return thread, outcome


def _wait_for_the_request_to_start_waiting(url: str, faults_before: int) -> None:
    """The fault's use counter moves when the request starts its delay (an event we can observe)."""
    with requests.Session() as session:
        for _ in range(2000):
            faults = session.get(f"{url}/_mock/faults", timeout=10).json()["faults"]
            if sum(fault["used"] for fault in faults) > faults_before:
                return
    raise AssertionError("the delayed request never reached the emulator")


CLEARS: dict[str, Callable[[str, list[str]], int]] = {
    "delete-all": lambda url, ids: requests.delete(f"{url}/_mock/faults", timeout=10).status_code,
    "delete-one": lambda url, ids: requests.delete(f"{url}/_mock/faults/{ids[0]}", timeout=10).status_code,
    "reset": lambda url, ids: requests.post(f"{url}/_mock/reset", timeout=10).status_code,
    "inspector": lambda url, ids: requests.post(f"{url}/_mock/ui/clear-faults", timeout=10).status_code,
}


@pytest.mark.parametrize("clear", CLEARS)
def test_clearing_faults_ends_a_delay_early(server: HTTPServer, clear: str) -> None:
    url = server.url
    added = requests.post(
        f"{url}/_mock/faults",
        json=[{"kind": "latency", "delay_ms": 400_000, "times": 5}, {"kind": "latency", "delay_ms": 400_000}],
        timeout=10,
    ).json()["faults"]
    thread, outcome = _delayed_call(url)
    _wait_for_the_request_to_start_waiting(url, 0)
    assert CLEARS[clear](url, [fault["id"] for fault in added]) in (200, 204, 303)
    thread.join(60)
    assert not thread.is_alive(), "the delay did not end when the faults were cleared"
    assert outcome["status"] == 200
    journal = requests.get(f"{url}/_mock/requests", params={"path": "active_user"}, timeout=10).json()
    if clear != "reset":
        [entry] = journal["requests"]
        assert entry["fault"] == (
            "latency 400000 ms, latency 400000 ms; capped at 600000 ms; cut short: faults cleared"
        )
