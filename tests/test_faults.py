"""Faults: clients meet 5xx, 429, dropped connections and broken bodies; state never changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from omnitron_mock import Settings, create_app
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

BULK = "/order_items/bulk_status_update/"
SHIP_ITEM_1 = {"orderitem_set": [{"id": 1, "status": "500", "tracking_number": "TR1", "shipping_company": "ups"}]}


def retrying_session(*statuses: int) -> requests.Session:
    session = requests.Session()
    retry = Retry(
        total=5,
        status_forcelist=statuses,
        allowed_methods=None,  # PATCH too: the connector knows its bulk is safe to repeat
        backoff_factor=0,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return session


def patch_bulk(omnitron: Any, session: Any = requests, body: Any = SHIP_ITEM_1, **kwargs: Any) -> requests.Response:
    return session.patch(omnitron.base_url + BULK, json=body, headers=omnitron.headers, timeout=10, **kwargs)


def applied_bulks(omnitron: Any) -> list[Any]:
    return [e for e in omnitron.requests(path=BULK, method="PATCH") if e.fault is None and e.status == 200]


# -- retries against the plugin's live emulator --------------------------------------------------


def test_retrying_client_recovers_from_two_503s_and_the_bulk_lands_once(omnitron: Any) -> None:
    omnitron.fail_next(2, status=503)
    with retrying_session(503) as session:
        response = patch_bulk(omnitron, session)
    assert response.status_code == 200
    omnitron.assert_item(1, status="500", tracking_number="TR1")
    journal = omnitron.requests(path=BULK)
    assert [(e.status, e.fault) for e in journal] == [(503, "status 503"), (503, "status 503"), (200, None)]
    assert len(applied_bulks(omnitron)) == 1


def test_retrying_client_waits_out_a_429_with_retry_after(omnitron: Any) -> None:
    omnitron.fail_next(1, status=429, retry_after=1)
    with retrying_session(429) as session:
        response = patch_bulk(omnitron, session)
    assert response.status_code == 200
    throttled = omnitron.requests(path=BULK)[0]
    assert throttled.status == 429
    assert throttled.response == {"detail": "Request was throttled. Expected available in 1 second."}
    assert len(applied_bulks(omnitron)) == 1


def test_client_without_retries_sees_the_error_and_nothing_changes(omnitron: Any) -> None:
    before = omnitron.item(1)
    omnitron.fail_next(2, status=503)
    response = patch_bulk(omnitron)
    assert response.status_code == 503
    assert response.json() == {"detail": "Service temporarily unavailable, try again later."}
    assert omnitron.item(1) == before
    assert applied_bulks(omnitron) == []


@pytest.mark.parametrize(
    ("status", "detail"),
    [(500, "A server error occurred."), (502, "Bad gateway."), (504, "Gateway timeout."), (418, "I'm a Teapot.")],
)
def test_status_faults_carry_drf_style_bodies(omnitron: Any, status: int, detail: str) -> None:
    omnitron.fail_next(status=status)
    response = patch_bulk(omnitron)
    assert (response.status_code, response.json()) == (status, {"detail": detail})


def test_dropped_connection_is_a_connection_error(omnitron: Any) -> None:
    before = omnitron.item(1)
    omnitron.drop_connection()
    with pytest.raises(requests.ConnectionError):
        patch_bulk(omnitron)
    assert omnitron.item(1) == before
    [entry] = omnitron.requests(path=BULK)
    assert (entry.status, entry.fault) == (0, "dropped connection")
    assert patch_bulk(omnitron).status_code == 200, "one drop only"


def test_truncated_body_breaks_the_read(omnitron: Any) -> None:
    before = omnitron.item(1)
    omnitron.truncate_body()
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        patch_bulk(omnitron)
    assert omnitron.item(1) == before


def test_malformed_body_is_not_json(omnitron: Any) -> None:
    before = omnitron.item(1)
    omnitron.malformed_body()
    response = patch_bulk(omnitron)
    assert response.status_code == 200
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()
    assert omnitron.item(1) == before


def test_latency_delays_then_serves(omnitron: Any) -> None:
    omnitron.delay(20)
    assert patch_bulk(omnitron).status_code == 200
    omnitron.assert_item(1, status="500")
    [entry] = omnitron.requests(path=BULK)
    assert entry.fault == "latency 20 ms"


def test_faults_compose_in_order(omnitron: Any) -> None:
    omnitron.delay(5, times=1)
    omnitron.fail_next(1, status=502)
    assert patch_bulk(omnitron).status_code == 502
    assert omnitron.last_request.fault == "latency 5 ms, status 502"
    assert patch_bulk(omnitron).status_code == 200
    assert omnitron.faults() == []


def test_faults_are_scoped_by_method_and_path(omnitron: Any) -> None:
    omnitron.fail_next(5, status=500, method="GET", path="*/orders/*")
    assert patch_bulk(omnitron).status_code == 200
    assert requests.get(omnitron.base_url + "/order_items/1/", headers=omnitron.headers, timeout=10).status_code == 200
    assert requests.get(omnitron.base_url + "/orders/1/", headers=omnitron.headers, timeout=10).status_code == 500
    assert omnitron.faults()[0]["used"] == 1


def test_fault_as_context_manager_ends_with_the_block(omnitron: Any) -> None:
    with omnitron.fail_next(100, status=503) as fault:
        assert patch_bulk(omnitron).status_code == 503
        assert fault.used == 1
    assert not fault.active
    assert patch_bulk(omnitron).status_code == 200


def test_flaky_profile_is_reproducible_from_its_seed(omnitron: Any) -> None:
    def run(seed: int) -> list[int]:
        omnitron.reset()
        omnitron.flaky(0.5, seed=seed)
        url = omnitron.base_url + "/orders/1/"
        return [requests.get(url, headers=omnitron.headers, timeout=10).status_code for _ in range(30)]

    first, again, other = run(7), run(7), run(8)
    assert first == again
    assert first != other
    assert set(first) <= {200, 500, 502, 503, 429}
    assert 0 < sum(status != 200 for status in first) < 30


def test_one_off_fault_by_header(omnitron: Any) -> None:
    headers = {**omnitron.headers, "X-Mock-Fault": "status=429; retry_after=3"}
    response = requests.patch(omnitron.base_url + BULK, json=SHIP_ITEM_1, headers=headers, timeout=10)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json() == {"detail": "Request was throttled. Expected available in 3 seconds."}
    assert patch_bulk(omnitron).status_code == 200, "the header affects its own request only"
    assert omnitron.faults() == []


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("explode", "'explode' is not one of"),
        ("latency", "'delay_ms' is a required property"),
        ("", "empty fault header"),
    ],
    ids=["unknown-kind", "latency-without-delay", "empty"],
)
def test_bad_fault_header_is_a_400_and_changes_nothing(omnitron: Any, header: str, fragment: str) -> None:
    before = omnitron.item(1)
    headers = {**omnitron.headers, "X-Mock-Fault": header or ";"}
    response = requests.patch(omnitron.base_url + BULK, json=SHIP_ITEM_1, headers=headers, timeout=10)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Invalid X-Mock-Fault header: ")
    assert fragment in response.json()["detail"]
    assert omnitron.item(1) == before


def test_a_faulted_request_still_gets_its_contract_verdict(omnitron: Any) -> None:
    omnitron.fail_next()
    patch_bulk(omnitron, body={"orderitem_set": [{"id": 1, "tracking_no": "x"}]})
    assert omnitron.last_request.verdict.unknown_fields == ("$.orderitem_set[0].tracking_no",)
    omnitron.clear_requests()  # this test sent the typo on purpose


# -- control API over both stores ---------------------------------------------------------------


def test_control_api_adds_lists_and_removes_faults(client: FlaskClient, auth: dict[str, str]) -> None:
    created = client.post(
        "/_mock/faults", json=[{"kind": "status", "status": 500}, {"kind": "latency", "delay_ms": [0, 1]}]
    )
    assert created.status_code == 201
    first, second = created.get_json()["faults"]
    assert (first["kind"], first["used"], second["kind"]) == ("status", 0, "latency")
    assert [f["id"] for f in client.get("/_mock/faults").get_json()["faults"]] == [first["id"], second["id"]]
    assert client.get("/api/i1/orders/1/", headers=auth).status_code == 500
    assert client.delete(f"/_mock/faults/{first['id']}").status_code == 204
    assert client.delete(f"/_mock/faults/{first['id']}").status_code == 404
    assert client.get("/api/i1/orders/1/", headers=auth).status_code == 200
    assert client.delete("/_mock/faults").status_code == 204
    assert client.get("/_mock/faults").get_json() == {"faults": []}


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"kind": "status", "status": 99}, "$.status"),
        ({"kind": "flaky"}, "$"),
        ([{"kind": "drop"}, {"kind": "latency", "delay_ms": -1}], "$[1].delay_ms"),
        ({"kind": "drop", "tims": 1}, "$"),
    ],
    ids=["status-out-of-range", "flaky-without-rate", "bad-item-in-a-list", "misspelt-field"],
)
def test_bad_fault_is_refused_and_nothing_is_added(client: FlaskClient, body: Any, path: str) -> None:
    response = client.post("/_mock/faults", json=body)
    assert response.status_code == 400
    payload = response.get_json()
    assert payload["detail"] == "The fault does not match the fault contract."
    assert path in [error["path"] for error in payload["errors"]]
    assert client.get("/_mock/faults").get_json() == {"faults": []}


def test_control_api_is_never_faulted(client: FlaskClient) -> None:
    client.post("/_mock/faults", json={"kind": "status", "status": 500})
    assert client.get("/_mock/state").status_code == 200
    assert client.post("/_mock/reset").status_code == 200


def test_reset_clears_added_faults_and_restores_startup_ones(tmp_path: Path, auth: dict[str, str]) -> None:
    app = create_app(Settings(db=str(tmp_path / "s.db")), faults={"kind": "status", "status": 502, "times": 1})
    client = app.test_client()
    assert client.get("/api/i1/orders/1/", headers=auth).status_code == 502
    assert client.get("/api/i1/orders/1/", headers=auth).status_code == 200
    client.post("/_mock/faults", json={"kind": "status", "status": 500})
    client.post("/_mock/reset")
    assert [f["status"] for f in client.get("/_mock/faults").get_json()["faults"]] == [502]


def test_in_process_client_sees_a_dropped_connection_too(auth: dict[str, str]) -> None:
    from omnitron_mock_pytest.inprocess import InProcessTransport

    app = create_app(faults=[{"kind": "drop", "times": 1}, {"kind": "truncate", "times": 1}])
    transport = InProcessTransport(app, "http://in-process.test").start()
    try:
        with pytest.raises(requests.ConnectionError):
            requests.get("http://in-process.test/api/i1/orders/1/", headers=auth, timeout=10)
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            requests.get("http://in-process.test/api/i1/orders/1/", headers=auth, timeout=10)
        app.test_client().post("/_mock/faults", json={"kind": "latency", "delay_ms": 5000})
        with pytest.raises(requests.ReadTimeout):
            requests.get("http://in-process.test/api/i1/orders/1/", headers=auth, timeout=0.5)
    finally:
        transport.stop()
    fault_notes = [entry["fault"] for entry in app.test_client().get("/_mock/requests").get_json()["requests"]]
    assert fault_notes == ["dropped connection", "truncated body", "latency 5000 ms; the client gave up first"]


def test_fault_profile_file_is_json(tmp_path: Path) -> None:
    profile = tmp_path / "flaky.json"
    profile.write_text(json.dumps([{"kind": "flaky", "rate": 0.25, "seed": 1}]))
    from omnitron_mock.faults import read_fault_profile

    assert read_fault_profile(profile) == [{"kind": "flaky", "rate": 0.25, "seed": 1}]
