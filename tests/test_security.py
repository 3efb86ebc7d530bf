"""What the emulator protects: the control API behind an admin token, secrets
masked, no internals in any answer, size checked before parsing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from omnitron_mock import DEV_TOKEN, Settings, create_app
from omnitron_mock.app import create_app_from_env
from omnitron_mock.store import MemoryStore

ADMIN = "s3cret-admin"
CONTROL_CALLS = [
    ("POST", "/_mock/reset"),
    ("POST", "/_mock/seed"),
    ("GET", "/_mock/state"),
    ("GET", "/_mock/requests"),
    ("DELETE", "/_mock/requests"),
    ("GET", "/_mock/faults"),
    ("POST", "/_mock/faults"),
    ("DELETE", "/_mock/faults"),
]


@pytest.fixture
def guarded() -> FlaskClient:
    return create_app(Settings(admin_token=ADMIN)).test_client()


@pytest.mark.parametrize(("method", "path"), CONTROL_CALLS)
def test_control_api_needs_the_admin_token(guarded: FlaskClient, method: str, path: str) -> None:
    before = guarded.get("/_mock/state", headers={"X-Mock-Admin-Token": ADMIN}).get_json()
    missing = guarded.open(path, method=method, json={"orders": []})
    assert (missing.status_code, missing.get_json()) == (
        401,
        {"detail": "The control API needs the X-Mock-Admin-Token header."},
    )
    wrong = guarded.open(path, method=method, json={"orders": []}, headers={"X-Mock-Admin-Token": "guess"})
    assert (wrong.status_code, wrong.get_json()) == (403, {"detail": "Invalid admin token."})
    assert guarded.get("/_mock/state", headers={"X-Mock-Admin-Token": ADMIN}).get_json() == before


def test_the_right_admin_token_opens_the_control_api(guarded: FlaskClient) -> None:
    assert guarded.post("/_mock/reset", headers={"X-Mock-Admin-Token": ADMIN}).status_code == 200


def test_health_and_contracts_stay_open(guarded: FlaskClient) -> None:
    assert guarded.get("/_mock/health").status_code == 200
    assert guarded.get("/openapi.json").status_code == 200
    assert guarded.get("/contracts/fault.json").status_code == 200


def test_without_an_admin_token_the_control_api_is_open(client: FlaskClient) -> None:
    assert client.get("/_mock/state").status_code == 200


def test_admin_token_comes_from_the_environment() -> None:
    assert Settings.from_env({"OMNITRON_MOCK_ADMIN_TOKEN": ADMIN}).admin_token == ADMIN


def test_secret_headers_are_masked_in_the_journal(app: Any) -> None:
    client = app.test_client(use_cookies=False)
    client.get(
        "/api/i1/orders/1/",
        headers={
            "Authorization": f"Token {DEV_TOKEN}",
            "Cookie": "sessionid=abcdefghijklmnop",
            "X-Mock-Admin-Token": "admin-token-value",
        },
    )
    [entry] = client.get("/_mock/requests").get_json()["requests"]
    text = str(entry)
    for secret in (DEV_TOKEN, "abcdefghijklmnop", "admin-token-value"):
        assert secret not in text
    assert entry["headers"]["Cookie"] == "sess…mnop"


class ExplodingStore(MemoryStore):
    def faults(self) -> list[Any]:
        raise RuntimeError(f"internal failure at {Path(__file__).resolve()}")


@pytest.mark.parametrize("path", ["/api/i1/orders/1/", "/api/v1/order_items/bulk_status_update/"])
def test_no_traceback_or_internal_path_in_any_answer(path: str) -> None:
    client = create_app(store=ExplodingStore()).test_client()
    response = client.get(path, headers={"Authorization": f"Token {DEV_TOKEN}"})
    assert (response.status_code, response.get_json()) == (500, {"detail": "A server error occurred."})
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "/" + "work" not in text and "RuntimeError" not in text


def test_body_size_is_checked_before_parsing(client: FlaskClient) -> None:
    oversized = b"{" * (1024 * 1024 + 1)  # would be a parse error, if it were parsed
    response = client.patch(
        "/api/i1/order_items/bulk_status_update/",
        data=oversized,
        headers={"Authorization": f"Token {DEV_TOKEN}", "Content-Type": "application/json"},
    )
    assert (response.status_code, response.get_json()) == (413, {"detail": "Request body too large."})


@pytest.mark.parametrize("token", ["", "   "])
def test_an_empty_admin_token_is_refused_not_ignored(token: str) -> None:
    with pytest.raises(ValueError, match=r"admin token is empty.*OMNITRON_MOCK_ADMIN_TOKEN"):
        Settings(admin_token=token)
    with pytest.raises(ValueError, match=r"admin token is empty"):
        Settings.from_env({"OMNITRON_MOCK_ADMIN_TOKEN": token})


@pytest.mark.parametrize(
    "token", ["t\u00f6k\u00e9n", "caf\u00e9-\u20ac", "tab\there", " padded", "padded ", "line\nbreak"]
)
def test_an_admin_token_no_header_can_carry_is_refused_at_start(token: str) -> None:
    """HTTP headers carry ASCII: a token with other characters, or spaces at its ends, could be set
    but never matched. The emulator says so at start rather than lock everyone out."""
    with pytest.raises(ValueError, match=r"admin token must be printable ASCII.*OMNITRON_MOCK_ADMIN_TOKEN"):
        Settings(admin_token=token)
    with pytest.raises(ValueError, match=r"admin token must be printable ASCII"):
        create_app_from_env({"OMNITRON_MOCK_ADMIN_TOKEN": token})


def test_serve_refuses_a_non_ascii_admin_token_with_a_message() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "omnitron_mock", "serve", "--port", "0", "--admin-token", "t\u00f6k\u00e9n"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert result.returncode == 2
    assert result.stderr.startswith("omnitron-mock: the admin token must be printable ASCII")
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    "given",
    ["s3cret-adm\u00efn", "s3cret-admin\u00a0", "\u00c3\u00b6", "\u00ff" * 40],
    ids=["latin-1", "trailing-nbsp", "utf-8-as-latin-1", "long"],
)
def test_non_ascii_admin_token_headers_and_cookies_are_refused_not_errors(given: str) -> None:
    """WSGI hands headers over as latin-1 text; none of them is the token, and none is a 500."""
    guarded = create_app(Settings(admin_token=ADMIN)).test_client(use_cookies=False)
    response = guarded.get("/_mock/state", headers={"X-Mock-Admin-Token": given.encode("utf-8").decode("latin-1")})
    assert (response.status_code, response.get_json()) == (403, {"detail": "Invalid admin token."})
    latin1 = guarded.get("/_mock/state", headers={"X-Mock-Admin-Token": given})
    assert latin1.status_code == 403
    cookie = guarded.get("/_mock/state", headers={"Cookie": f"omnitron_mock_admin={given}"})
    assert cookie.status_code == 403
    page = guarded.get("/_mock/", headers={"Cookie": f"omnitron_mock_admin={given}"})
    assert page.status_code == 403 and 'name="admin_token"' in page.get_data(as_text=True)
