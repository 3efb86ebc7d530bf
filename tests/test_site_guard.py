"""Web pages cannot drive the emulator: cross-site requests, forged content
types and foreign Host names are refused; curl, scripts and the inspector's
own forms keep working."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from flask.testing import FlaskClient

from mockserver import DEV_TOKEN, Settings, create_app
from mockserver.hosts import allowed_hosts_for

EVIL = "http://evil.example"
ADMIN = "admin-secret-for-tests"

# What a page on another site can send without a CORS preflight.
SIMPLE_CROSS_SITE = [
    ("POST", "/_mock/reset", None, None),
    ("POST", "/_mock/seed", b'{"users": [{"username": "x", "password": "y", "token": "z"}]}', "text/plain"),
    ("POST", "/_mock/faults", b'{"kind": "drop"}', "text/plain"),
    ("POST", "/_mock/faults", b"kind=drop", "application/x-www-form-urlencoded"),
    ("POST", "/_mock/ui/reset", b"", "application/x-www-form-urlencoded"),
    ("POST", "/_mock/ui/clear-faults", b"", "application/x-www-form-urlencoded"),
    ("POST", "/_mock/ui/login", b"admin_token=forced", "application/x-www-form-urlencoded"),
    ("GET", "/_mock/state", None, None),
]


def changeable_state(client: FlaskClient) -> Any:
    return client.get("/_mock/state").get_json(), client.get("/_mock/faults").get_json()


@pytest.fixture
def dirty(client: FlaskClient) -> FlaskClient:
    """An emulator with a change and a fault that a reset or clear would undo."""
    client.patch(
        "/api/i1/order_items/bulk_status_update/",
        json={"orderitem_set": [{"id": 1, "status": "450"}]},
        headers={"Authorization": f"Token {DEV_TOKEN}"},
    )
    client.post("/_mock/faults", json={"kind": "latency", "delay_ms": 1, "path": "/nowhere/"})
    return client


@pytest.mark.parametrize(("method", "path", "body", "content_type"), SIMPLE_CROSS_SITE)
@pytest.mark.parametrize(
    "origin_headers",
    [{"Origin": EVIL}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://localhost:9999"}],
    ids=["other-origin", "null-origin", "fetch-metadata", "other-port"],
)
def test_cross_site_requests_are_refused_and_change_nothing(
    dirty: FlaskClient, method: str, path: str, body: bytes | None, content_type: str | None, origin_headers: Any
) -> None:
    before = changeable_state(dirty)
    headers = dict(origin_headers)
    if content_type:
        headers["Content-Type"] = content_type
    response = dirty.open(path, method=method, data=body, headers=headers)
    assert response.status_code == 403
    assert response.get_json()["detail"].startswith("Cross-site request refused")
    assert "omnitron_mock_admin" not in response.headers.get("Set-Cookie", "")
    assert changeable_state(dirty) == before


@pytest.mark.parametrize(
    ("path", "body", "content_type"),
    [
        ("/_mock/seed", b'{"orders": []}', "text/plain"),
        ("/_mock/faults", b'{"kind": "drop"}', "text/plain"),
        ("/_mock/faults", b'{"kind": "drop"}', "multipart/form-data; boundary=x"),
        ("/_mock/faults", b'{"kind": "drop"}', None),
        ("/_mock/reset", b"x=1", "application/x-www-form-urlencoded"),
    ],
)
def test_control_bodies_must_say_they_are_json(
    dirty: FlaskClient, path: str, body: bytes, content_type: str | None
) -> None:
    """Even from a browser that sends no Origin: a simple request cannot carry JSON."""
    before = changeable_state(dirty)
    headers = {"Content-Type": content_type} if content_type else {}
    response = dirty.post(path, data=body, headers=headers)
    assert response.status_code == 415
    assert response.get_json() == {"detail": f'Unsupported media type "{content_type or ""}" in request.'}
    assert changeable_state(dirty) == before


def test_scripts_without_an_origin_and_same_origin_pages_keep_working(dirty: FlaskClient) -> None:
    assert dirty.post("/_mock/faults", json={"kind": "drop", "path": "/x/"}).status_code == 201
    assert dirty.post("/_mock/reset").status_code == 200
    assert dirty.post("/_mock/reset", data=b"", headers={"Content-Type": "application/json"}).status_code == 200
    same_origin = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    assert dirty.post("/_mock/ui/clear-faults", headers=same_origin).status_code == 303
    assert dirty.post("/_mock/ui/reset", headers=same_origin).status_code == 303
    assert dirty.get("/_mock/", headers={"Sec-Fetch-Site": "none"}).status_code == 200


def test_the_emulated_api_still_answers_browsers(client: FlaskClient) -> None:
    """Omnitron's own API is not the control API: a web front end may call it."""
    response = client.get("/api/i1/active_user/", headers={"Origin": EVIL, "Authorization": f"Token {DEV_TOKEN}"})
    assert response.status_code == 200


def test_inspector_pages_forbid_framing_scripts_and_sniffing(client: FlaskClient) -> None:
    for path in ("/_mock/", "/_mock/ui/fragment"):
        headers = client.get(path).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/_mock/state").headers["X-Content-Type-Options"] == "nosniff"


def test_with_an_admin_token_a_cross_site_login_cannot_force_a_cookie() -> None:
    client = create_app(Settings(admin_token=ADMIN)).test_client()
    response = client.post("/_mock/ui/login", data={"admin_token": "attacker-chosen"}, headers={"Origin": EVIL})
    assert response.status_code == 403
    assert "Set-Cookie" not in response.headers
    same_site = client.post("/_mock/ui/login", data={"admin_token": ADMIN}, headers={"Origin": "http://localhost"})
    assert same_site.status_code == 303 and "omnitron_mock_admin" in same_site.headers["Set-Cookie"]


# -- Host names (DNS rebinding) ---------------------------------------------------------------------


@pytest.fixture
def loopback_app(app: Any) -> Any:
    """The app as ``serve`` builds it on 127.0.0.1, with one extra name allowed."""
    settings = app.extensions["omnitron_mock"].settings
    return create_app(replace(settings, allowed_hosts=allowed_hosts_for("127.0.0.1", ["mock.internal"])))


@pytest.mark.parametrize(
    "host", ["localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST", "api.localhost:1", "mock.internal:80"]
)
def test_loopback_and_configured_names_are_served(loopback_app: Any, host: str) -> None:
    client = loopback_app.test_client()
    assert client.get("/_mock/health", headers={"Host": host}).status_code == 200
    response = client.get("/api/i1/active_user/", headers={"Host": host, "Authorization": f"Token {DEV_TOKEN}"})
    assert response.status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.evil", ""])
@pytest.mark.parametrize("path", ["/_mock/state", "/_mock/", "/api/i1/active_user/", "/api/i1/active_user"])
def test_other_host_names_are_refused_before_anything_runs(loopback_app: Any, host: str, path: str) -> None:
    client = loopback_app.test_client()
    response = client.get(path, headers={"Host": host, "Authorization": f"Token {DEV_TOKEN}"})
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith("Invalid Host header")
    assert "--allowed-host" in response.get_json()["detail"]
    assert client.get("/_mock/requests").get_json()["count"] == 0


def test_redirects_do_not_reflect_an_unchecked_host(client: FlaskClient) -> None:
    response = client.get("/api/i1/active_user", headers={"Host": "evil.example"})
    assert response.status_code == 301
    assert response.headers["Location"] == "/api/i1/active_user/"
    inspector = client.get("/_mock", headers={"Host": "evil.example"})
    assert (inspector.status_code, inspector.headers["Location"]) == (301, "/_mock/")


def test_redirects_name_a_checked_host(loopback_app: Any) -> None:
    response = loopback_app.test_client().get("/api/i1/active_user?x=1", headers={"Host": "localhost:8123"})
    assert (response.status_code, response.headers["Location"]) == (
        301,
        "http://localhost:8123/api/i1/active_user/?x=1",
    )


def test_allowed_hosts_come_from_the_environment() -> None:
    settings = Settings.from_env({"OMNITRON_MOCK_ALLOWED_HOSTS": "a.test, .b.test"})
    assert settings.allowed_hosts == ("a.test", ".b.test")
    assert allowed_hosts_for("0.0.0.0", settings.allowed_hosts) == (
        "localhost",
        "127.0.0.1",
        "::1",
        "a.test",
        ".b.test",
    )
    assert allowed_hosts_for("0.0.0.0") is None
