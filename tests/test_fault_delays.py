"""Latency faults are capped everywhere the contract allows them, and a
delayed request stops waiting when its faults are cleared."""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from omnitron_mock import DEV_TOKEN
from omnitron_mock.fault_step import FaultStep
from omnitron_mock.hooks import PARK_HOOK
from omnitron_mock.serving import HTTPServer

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


class ParkWatch:
    """WSGI layer between the server and the app: tells when a request parks
    in a delay (the server's park hook is entered), an event to wait for."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.extensions = app.extensions
        self._parked = threading.Semaphore(0)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        park = environ.get(PARK_HOOK)
        if park is not None:

            @contextlib.contextmanager
            def watched() -> Iterator[None]:
                with park():
                    self._parked.release()
                    yield

            environ[PARK_HOOK] = watched
        return self.app(environ, start_response)

    def wait_parked(self, count: int = 1) -> None:
        for _ in range(count):
            assert self._parked.acquire(timeout=30), "the delayed request never started waiting"


@pytest.fixture
def parks(app: Any) -> ParkWatch:
    return ParkWatch(app)


@pytest.fixture
def server(parks: ParkWatch) -> Iterator[HTTPServer]:
    with HTTPServer(parks, host="127.0.0.1", port=0) as running:
        yield running


def _delayed_call(url: str, headers: dict[str, str] | None = None) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def call() -> None:
        try:
            response = requests.get(f"{url}/api/i1/active_user/", headers={**AUTH, **(headers or {})}, timeout=120)
            outcome["status"] = response.status_code
        except requests.ConnectionError as problem:
            outcome["error"] = problem

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    return thread, outcome


def _inspector_clear(url: str) -> int:
    # The inspector's forms carry the token its page hands out (when it has one).
    page = requests.get(f"{url}/_mock/", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    data = {"csrf_token": token.group(1)} if token else {}
    return requests.post(f"{url}/_mock/ui/clear-faults", data=data, timeout=10, allow_redirects=False).status_code


CLEARS: dict[str, Callable[[str, list[str]], int]] = {
    "delete-all": lambda url, ids: requests.delete(f"{url}/_mock/faults", timeout=10).status_code,
    "delete-one": lambda url, ids: requests.delete(f"{url}/_mock/faults/{ids[0]}", timeout=10).status_code,
    "reset": lambda url, ids: requests.post(f"{url}/_mock/reset", timeout=10).status_code,
    "inspector": lambda url, ids: _inspector_clear(url),
}


def _journal(url: str) -> list[dict[str, Any]]:
    return requests.get(f"{url}/_mock/requests", params={"path": "active_user"}, timeout=10).json()["requests"]


@pytest.mark.parametrize("clear", CLEARS)
def test_clearing_faults_ends_a_delay_early(server: HTTPServer, parks: ParkWatch, clear: str) -> None:
    url = server.url
    added = requests.post(
        f"{url}/_mock/faults",
        json=[{"kind": "latency", "delay_ms": 400_000, "times": 5}, {"kind": "latency", "delay_ms": 400_000}],
        timeout=10,
    ).json()["faults"]
    thread, outcome = _delayed_call(url)
    # The request waits (the server lent it a thread) before anything is cleared.
    parks.wait_parked()
    assert CLEARS[clear](url, [fault["id"] for fault in added]) in (200, 204, 303)
    thread.join(60)
    assert not thread.is_alive(), "the delay did not end when the faults were cleared"
    assert outcome["status"] == 200
    if clear != "reset":
        [entry] = _journal(url)
        assert entry["fault"] == (
            "latency 400000 ms, latency 400000 ms; capped at 600000 ms; cut short: faults cleared"
        )


def test_clearing_faults_ends_a_delay_of_the_fault_header_too(server: HTTPServer, parks: ParkWatch) -> None:
    """docs/faults.md: a waiting request stops waiting when faults are cleared,
    whichever fault made it wait, the request's own ``X-Mock-Fault`` too."""
    thread, outcome = _delayed_call(server.url, {"X-Mock-Fault": "latency=400000"})
    parks.wait_parked()
    assert requests.delete(f"{server.url}/_mock/faults", timeout=10).status_code == 204
    thread.join(60)
    assert not thread.is_alive(), "the header's delay did not end when the faults were cleared"
    assert outcome["status"] == 200
    [entry] = _journal(server.url)
    assert entry["fault"] == "latency 400000 ms; cut short: faults cleared"


def test_a_clear_between_planning_and_waiting_still_ends_the_delay(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A clear that lands after the plan picked the latency and before the wait
    began: the wait must not start from the clear count the clear left behind."""
    plan = FaultStep.plan

    def plan_then_clear(self: FaultStep, *args: Any) -> Any:
        planned = plan(self, *args)
        args[0].clear_faults()  # the call's world
        return planned

    monkeypatch.setattr(FaultStep, "plan", plan_then_clear)
    client = app.test_client()
    assert client.post("/_mock/faults", json={"kind": "latency", "delay_ms": 400_000}).status_code == 201
    outcome: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: outcome.update(response=client.get("/api/i1/active_user/", headers=AUTH)), daemon=True
    )
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "the request waited although the faults were cleared"
    assert outcome["response"].status_code == 200
    [entry] = client.get("/_mock/requests", query_string={"path": "active_user"}).get_json()["requests"]
    assert entry["fault"] == "latency 400000 ms; cut short: faults cleared"


def test_stopping_the_server_ends_parked_delays_at_once(app: Any) -> None:
    parks = ParkWatch(app)
    server = HTTPServer(parks, host="127.0.0.1", port=0).start()
    calls = [_delayed_call(server.url, {"X-Mock-Fault": "latency=400000"}) for _ in range(3)]
    parks.wait_parked(len(calls))
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 5.0
    server.stop()  # a second stop does nothing
    for thread, outcome in calls:
        thread.join(30)
        # Closed unanswered: the server stopped first.
        assert not thread.is_alive() and "error" in outcome, outcome
    notes = [entry["fault"] for entry in app.test_client().get("/_mock/requests").get_json()["requests"]]
    assert notes == ["latency 400000 ms; the server stopped first"] * len(calls)
