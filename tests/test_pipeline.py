"""The one request pipeline: one status-line wording for every answer, the
request's transaction (the journal entry commits with the changes it
reports, or neither stays), faults that know the endpoint they answer for,
and durations that include a fault's delay."""

from __future__ import annotations

import http.client
import re
from dataclasses import replace
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from omnitron_mock import DEV_TOKEN, Settings, create_app, journal
from omnitron_mock.serving import HTTPServer

BULK = "/api/i1/order_items/bulk_status_update/"
AUTH = {"Authorization": f"Token {DEV_TOKEN}"}


def _status_line(server: HTTPServer, method: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        body = b'{"orderitem_set": [{"id": 1, "status": "450"}]}' if method == "PATCH" else None
        sent = {"Content-Type": "application/json", **(headers or {})}
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        response.read()
        return response.status, response.reason
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("method", "path", "headers", "expected"),
    [
        pytest.param("PATCH", BULK, AUTH, 200, id="emulated-200"),
        pytest.param("GET", "/api/i1/order_items/999/", AUTH, 404, id="emulated-404"),
        pytest.param("DELETE", "/api/i1/active_user/", AUTH, 405, id="emulated-405"),
        pytest.param("GET", "/api/i1/active_user/", {}, 401, id="emulated-401"),
        pytest.param("GET", "/api/i1/active_user", AUTH, 301, id="emulated-redirect"),
        pytest.param("GET", "/api/i1/active_user/", {**AUTH, "X-Mock-Fault": "status=429"}, 429, id="fault-429"),
        pytest.param("GET", "/api/i1/active_user/", {**AUTH, "X-Mock-Fault": "nonsense"}, 400, id="fault-header"),
        pytest.param("DELETE", "/_mock/faults/unknown", {}, 404, id="control-404"),
        pytest.param("POST", "/_mock/reset", {}, 200, id="control-200"),
        pytest.param("GET", "/_mock/", {}, 200, id="inspector"),
        pytest.param("GET", "/_mock/nowhere", {}, 404, id="flask-404"),
        pytest.param("GET", "/openapi.json", {}, 200, id="contracts"),
    ],
)
def test_every_answer_words_its_status_line_the_same_way(
    live_server: HTTPServer, method: str, path: str, headers: dict[str, str], expected: int
) -> None:
    """Django's standard reason phrases, whichever layer answered."""
    status, reason = _status_line(live_server, method, path, headers)
    assert status == expected
    assert reason == HTTPStatus(expected).phrase


def test_the_host_guard_words_its_status_line_the_same_way(settings: Settings) -> None:
    app = create_app(replace(settings, allowed_hosts=("127.0.0.1",)))
    with HTTPServer(app, host="127.0.0.1", port=0) as server:
        assert _status_line(server, "GET", "/_mock/health", {"Host": "example.com"}) == (400, "Bad Request")


def test_a_failure_after_the_bulk_wrote_rolls_back_its_changes(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The request owns its transaction: when writing the journal entry of an
    applied bulk fails, the bulk's changes go too, and the client gets DRF's 500."""
    before = client.get("/api/i1/order_items/1/", headers=AUTH).get_json()
    real_record = journal.record

    def failing_for_applied_bulks(**entry: Any) -> Any:
        if entry["status"] == 200 and entry["method"] == "PATCH":
            raise RuntimeError("the journal is unwell")
        return real_record(**entry)

    monkeypatch.setattr(journal, "record", failing_for_applied_bulks)
    response = client.patch(BULK, json={"orderitem_set": [{"id": 1, "status": "450"}]}, headers=AUTH)
    assert response.status_code == 500
    assert response.get_json() == {"detail": "A server error occurred."}
    assert "the journal is unwell" in caplog.text
    monkeypatch.setattr(journal, "record", real_record)
    assert client.get("/api/i1/order_items/1/", headers=AUTH).get_json() == before
    [entry] = client.get("/_mock/requests", query_string={"method": "PATCH"}).get_json()["requests"]
    assert entry["status"] == 500


@pytest.mark.parametrize(
    ("method", "path", "headers", "data"),
    [
        pytest.param("PATCH", BULK, AUTH, b'{"orderitem_set": [{"id": 1, "status": "450"}]}', id="bulk"),
        pytest.param("GET", "/api/i1/nowhere/", AUTH, b"", id="no-route"),
        pytest.param("PATCH", BULK, AUTH, b"x" * (1024 * 1024 + 1), id="too-large"),
        pytest.param("GET", "/api/i1/active_user/", {**AUTH, "X-Mock-Fault": "status=503"}, b"", id="fault"),
        pytest.param("GET", "/api/i1/active_user/", {**AUTH, "X-Mock-Fault": "nonsense"}, b"", id="fault-header"),
        pytest.param("GET", "/api/i1/orders/1/", {**AUTH, "Host": "a..b"}, b"", id="bad-host"),
    ],
)
def test_a_broken_journal_still_answers_500(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, method: str, path: str, headers: dict[str, str], data: bytes
) -> None:
    """When every journal write fails, clients still get an answer, and the state is kept."""
    before = client.get("/api/i1/order_items/1/", headers=AUTH).get_json()

    def failing(**_entry: Any) -> Any:
        raise RuntimeError("the journal is gone")

    monkeypatch.setattr(journal, "record", failing)
    response = client.open(path, method=method, data=data, headers={"Content-Type": "application/json", **headers})
    assert response.status_code == 500
    assert response.get_json() == {"detail": "A server error occurred."}
    monkeypatch.undo()
    assert client.get("/api/i1/order_items/1/", headers=AUTH).get_json() == before


def test_a_host_werkzeug_cannot_route_with_gets_400_and_is_journalled(client: FlaskClient) -> None:
    response = client.get("/api/i1/orders/1/", headers={**AUTH, "Host": "a..b"})
    assert response.status_code == 400
    assert "detail" in response.get_json()
    [entry] = client.get("/_mock/requests").get_json()["requests"]
    assert (entry["path"], entry["status"]) == ("/api/i1/orders/1/", 400)


def test_a_refused_body_is_not_judged_against_the_contract(client: FlaskClient, settings: Settings) -> None:
    """The journal keeps no body of a 413: its entry has no verdict to fail
    (a client test that checks its 413 handling passes the plugin's guard)."""
    oversized = b"x" * (settings.max_body_bytes + 1)
    response = client.patch(BULK, data=oversized, headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 413
    [entry] = client.get("/_mock/requests").get_json()["requests"]
    assert entry["body"] is None
    assert entry["verdict"] == {"contract": None, "schema_errors": [], "unknown_fields": [], "ok": True}


def test_a_rejected_bulk_is_journalled_and_changes_nothing(client: FlaskClient) -> None:
    before = client.get("/api/i1/order_items/1/", headers=AUTH).get_json()
    body = {"orderitem_set": [{"id": 1, "status": "450"}, {"id": 4, "status": "450"}]}
    assert client.patch(BULK, json=body, headers=AUTH).status_code == 400
    assert client.get("/api/i1/order_items/1/", headers=AUTH).get_json() == before
    [entry] = client.get("/_mock/requests", query_string={"method": "PATCH"}).get_json()["requests"]
    assert entry["status"] == 400


def test_a_fault_answer_keeps_the_endpoints_contract_verdict(client: FlaskClient) -> None:
    """The fault step runs after routing: an answered call's entry still
    carries its endpoint's request contract and verdict."""
    body = {"orderitem_set": [{"id": 1, "tracking_no": "TR1"}]}
    response = client.patch(BULK, json=body, headers={**AUTH, "X-Mock-Fault": "status=503"})
    assert response.status_code == 503
    [entry] = client.get("/_mock/requests").get_json()["requests"]
    assert entry["fault"] == "status 503"
    assert entry["verdict"]["contract"] == "bulk-status-update-request"
    assert entry["verdict"]["unknown_fields"] == ["$.orderitem_set[0].tracking_no"]


def test_a_journalled_duration_includes_the_fault_delay(client: FlaskClient) -> None:
    """The client waited out the delay: the entry's duration says so."""
    response = client.get("/api/i1/active_user/", headers={**AUTH, "X-Mock-Fault": "latency=50"})
    assert response.status_code == 200
    [entry] = client.get("/_mock/requests").get_json()["requests"]
    assert entry["fault"] == "latency 50 ms"
    assert entry["duration_ms"] >= 50


STEPS = ("Route", "Faults", "Body", "Dispatch", "Journal", "Write")


def test_the_architecture_doc_lists_the_steps_in_the_pipelines_order() -> None:
    """docs/architecture.md and the pipeline's own account name the same steps in the same order."""
    from omnitron_mock import pipeline

    doc = (Path(__file__).resolve().parents[1] / "docs" / "architecture.md").read_text("utf-8")
    flow = doc[doc.index("## How a request flows") :]
    in_doc = re.findall(r"^\d\. \*\*(\w+)\.\*\*", flow, re.MULTILINE)
    in_code = re.findall(r"^\d\. \*\*(\w+)\*\*", pipeline.__doc__ or "", re.MULTILINE)
    assert in_doc == list(STEPS)
    assert [step.lower() for step in in_code] == [step.lower() for step in STEPS]


def test_faults_come_after_routing_and_before_the_redirect_and_the_body(
    client: FlaskClient, settings: Settings
) -> None:
    """A fault answers a path that would be redirected, and a body that would be too large."""
    fault = {**AUTH, "X-Mock-Fault": "status=503"}
    assert client.get("/api/i1/active_user", headers=fault).status_code == 503
    oversized = b"x" * (settings.max_body_bytes + 1)
    answered = client.patch(BULK, data=oversized, headers={**fault, "Content-Type": "application/json"})
    assert answered.status_code == 503
    [redirected, too_large] = client.get("/_mock/requests").get_json()["requests"]
    assert redirected["fault"] == too_large["fault"] == "status 503"


def test_the_body_is_bounded_before_dispatch_authenticates(client: FlaskClient, settings: Settings) -> None:
    oversized = b"x" * (settings.max_body_bytes + 1)
    response = client.patch(BULK, data=oversized, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert client.patch(BULK, json={}, headers={}).status_code == 401
