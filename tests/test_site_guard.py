"""Web pages cannot drive the emulator: cross-site requests, forged content
types and foreign Host names are refused; curl, scripts and the inspector's
own forms keep working."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from omnitron_mock import DEV_TOKEN, Settings, create_app
from omnitron_mock.app import create_app_from_env
from omnitron_mock.hosts import allowed_hosts_for
from omnitron_mock.serving import HTTPServer

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
    [
        {"Origin": EVIL},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "http://localhost:9999"},
        {"Origin": "https://localhost"},
        {"Origin": "https://localhost:80"},
        {"Origin": "http://[::1"},
        {"Origin": "http://[evil"},
    ],
    ids=[
        "other-origin",
        "null-origin",
        "fetch-metadata",
        "same-site",
        "other-port",
        "other-scheme",
        "https-port-80",
        "unclosed-bracket",
        "bracketed-name",
    ],
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
        # A form or text/plain post with nothing in it is still a form.
        ("/_mock/reset", b"", "application/x-www-form-urlencoded"),
        ("/_mock/reset", b"", "text/plain"),
        ("/_mock/reset", b"  ", "text/plain"),
        ("/_mock/seed", b"", "text/plain"),
        ("/_mock/faults", b"", "text/plain; charset=utf-8"),
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
    assert dirty.post("/_mock/ui/reset", headers={"Origin": "http://localhost:80"}).status_code == 303
    assert dirty.post("/_mock/ui/reset", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 303
    # A typed address or a bookmark.
    assert dirty.get("/_mock/", headers={"Sec-Fetch-Site": "none"}).status_code == 200


# -- The inspector's forms need same-origin evidence ------------------------------------------------

INSPECTOR_FORMS = [
    ("/_mock/ui/reset", {}),
    ("/_mock/ui/clear-faults", {}),
    ("/_mock/ui/login", {"admin_token": "forced"}),
]
FORM_TOKEN = re.compile(r'<input type="hidden" name="csrf_token" value="([^"]+)">')


@pytest.mark.parametrize(("path", "form"), INSPECTOR_FORMS)
@pytest.mark.parametrize(
    ("headers", "token"),
    [({}, None), ({}, "guess"), ({}, ""), ({}, "t\u00f6k\u00e9n"), ({"Sec-Fetch-Site": "none"}, None)],
    ids=["nothing", "wrong-token", "empty-token", "non-ascii-token", "fetch-site-none"],
)
def test_inspector_forms_without_same_origin_evidence_are_refused(
    dirty: FlaskClient, path: str, form: dict[str, str], headers: dict[str, str], token: str | None
) -> None:
    """An old browser, or one told to send no Origin, still cannot be made to post the inspector's forms."""
    before = changeable_state(dirty)
    data = {**form, **({"csrf_token": token} if token is not None else {})}
    response = dirty.post(path, data=data, headers=headers)
    assert response.status_code == 403
    assert response.get_json()["detail"].startswith("Inspector form refused")
    assert "Set-Cookie" not in response.headers
    assert changeable_state(dirty) == before


def test_the_inspector_forms_carry_a_token_that_lets_them_post(dirty: FlaskClient) -> None:
    html = dirty.get("/_mock/").get_data(as_text=True)
    tokens = FORM_TOKEN.findall(html)
    assert len(tokens) == 2 and len(set(tokens)) == 1 and len(tokens[0]) >= 32, "one token in each form"
    token = tokens[0]
    cleared = dirty.post("/_mock/ui/clear-faults", data={"csrf_token": token})
    assert (cleared.status_code, cleared.headers["Location"]) == (303, "/_mock/")
    assert dirty.get("/_mock/faults").get_json() == {"faults": []}
    assert dirty.post("/_mock/ui/reset", data={"csrf_token": token}).status_code == 303
    assert dirty.get("/_mock/state").get_json()["orders"][0]["items"][0]["status"] == "400"


def test_the_login_form_carries_the_token_too() -> None:
    client = create_app(Settings(admin_token=ADMIN)).test_client()
    page = client.get("/_mock/")
    assert page.status_code == 401
    [token] = FORM_TOKEN.findall(page.get_data(as_text=True))
    logged_in = client.post("/_mock/ui/login", data={"admin_token": ADMIN, "csrf_token": token})
    assert logged_in.status_code == 303 and "omnitron_mock_admin" in logged_in.headers["Set-Cookie"]
    assert client.get("/_mock/").status_code == 200


def test_a_trusted_proxy_tells_the_scheme_origins_are_compared_with() -> None:
    """Behind a TLS proxy the page's origin is https: the proxy says so in X-Forwarded-Proto,
    and only a proxy the emulator was told to trust is believed."""
    with HTTPServer(create_app(), port=0, trusted_proxy="127.0.0.1") as server:
        url = f"{server.url}/_mock/ui/clear-faults"
        http_origin, https_origin = server.url, server.url.replace("http://", "https://")

        def post(origin: str, **headers: str) -> int:
            response = requests.post(url, headers={"Origin": origin, **headers}, allow_redirects=False, timeout=10)
            return response.status_code

        assert post(https_origin, **{"X-Forwarded-Proto": "https"}) == 303
        assert post(http_origin) == 303
        assert post(https_origin) == 403
        assert post(http_origin, **{"X-Forwarded-Proto": "https"}) == 403
    with HTTPServer(create_app(), port=0) as untrusting:
        response = requests.post(
            f"{untrusting.url}/_mock/ui/clear-faults",
            headers={"Origin": untrusting.url.replace("http://", "https://"), "X-Forwarded-Proto": "https"},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 403, "X-Forwarded-Proto from a proxy not trusted is ignored"


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
def loopback_app(settings: Settings, make_app: Any) -> Any:
    """The app as ``serve`` builds it on 127.0.0.1, with one extra name allowed."""
    return make_app(replace(settings, allowed_hosts=allowed_hosts_for("127.0.0.1", ["mock.internal"])))


@pytest.mark.parametrize(
    "host", ["localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST", "api.localhost:1", "mock.internal:80"]
)
def test_loopback_and_configured_names_are_served(loopback_app: Any, host: str) -> None:
    client = loopback_app.test_client()
    assert client.get("/_mock/health", headers={"Host": host}).status_code == 200
    response = client.get("/api/i1/active_user/", headers={"Host": host, "Authorization": f"Token {DEV_TOKEN}"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.evil", "", "[::1]evil.example", "[::1"],
)
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
    settings = Settings.from_env({"OMNITRON_MOCK_ALLOWED_HOSTS": "A.test, .b.TEST"})
    loopback_and_given = ("localhost", "127.0.0.1", "::1", "a.test", ".b.test")
    assert settings.allowed_hosts == loopback_and_given
    # The CLI goes through the same function: the same names, each once.
    assert allowed_hosts_for("0.0.0.0", settings.allowed_hosts) == loopback_and_given
    assert allowed_hosts_for("0.0.0.0", ["A.test", " .b.TEST ", "localhost"]) == loopback_and_given
    assert allowed_hosts_for("0.0.0.0") is None
    assert Settings.from_env({"OMNITRON_MOCK_ALLOWED_HOSTS": " , "}).allowed_hosts is None


def test_the_wsgi_entry_answers_loopback_and_configured_names_in_any_case() -> None:
    """``gunicorn omnitron_mock.wsgi:application`` is configured by the environment alone."""
    client = create_app_from_env({"OMNITRON_MOCK_ALLOWED_HOSTS": "Mock.Internal, .Example.TEST"}).test_client()
    for host in ("mock.internal", "MOCK.INTERNAL:8000", "api.example.test", "localhost:8000", "127.0.0.1", "[::1]"):
        assert client.get("/_mock/health", headers={"Host": host}).status_code == 200, host
    for host in ("evil.example", "mock.internal.evil"):
        assert client.get("/_mock/health", headers={"Host": host}).status_code == 400, host
