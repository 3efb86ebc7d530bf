"""The command line as a user runs it: servers in real processes over real HTTP.

Commands that answer and exit (refusals, ``validate``, ``openapi``,
``generate-seed``) run through the same ``main`` in this process, a start of
its own costing a third of a second each; one runs as a process, to show that
``python -m omnitron_mock`` passes on what ``main`` returns."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from omnitron_mock import DEV_PASSWORD, DEV_TOKEN, DEV_USERNAME, contracts

from tests import docs
from tests.helpers import checked_session, run_cli, serving_command

CLI = [sys.executable, "-m", "omnitron_mock"]
HTTP = checked_session()


def run_process(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], input=stdin, capture_output=True, text=True, timeout=60)


def serving(*args: str, env: dict[str, str] | None = None) -> Any:
    """Start ``serve --port 0``; yield (base URL, the banner lines); SIGTERM it after."""
    return serving_command([*CLI, "serve", "--port", "0", *args], {**os.environ, **(env or {})})


def login(base: str, username: str, password: str) -> requests.Response:
    return HTTP.post(f"{base}/api/i1/auth/login/", json={"username": username, "password": password}, timeout=10)


def test_serve_prints_url_and_development_credentials_and_answers() -> None:
    with serving() as (base, banner):
        assert base.startswith("http://127.0.0.1:")
        assert f"  user {DEV_USERNAME}  password {DEV_PASSWORD}  token {DEV_TOKEN}" in banner
        assert len(DEV_TOKEN) == 40
        assert HTTP.get(f"{base}/_mock/health", timeout=10).json()["status"] == "ok"
        assert login(base, DEV_USERNAME, DEV_PASSWORD).json() == {"key": DEV_TOKEN}


def test_user_flag_replaces_the_development_user() -> None:
    with serving("--user", "erp:secret:" + "a" * 40, "--user", "wms:pw") as (base, banner):
        assert not any(DEV_USERNAME in line for line in banner)
        assert login(base, "erp", "secret").json() == {"key": "a" * 40}
        assert login(base, "wms", "pw").status_code == 200
        assert login(base, DEV_USERNAME, DEV_PASSWORD).status_code == 400


def test_environment_variables_configure_serve(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"orders": [{"id": 7, "items": [{"id": 70, "status": "450"}]}]}))
    env = {"OMNITRON_MOCK_SEED": str(seed), "OMNITRON_MOCK_STRICT": "1", "OMNITRON_MOCK_USERS": "erp:secret:tok-1"}
    with serving(env=env) as (base, banner):
        assert "  strict mode on; press Ctrl-C to stop" in banner
        headers = {"Authorization": "Token tok-1"}
        item = HTTP.get(f"{base}/api/i1/order_items/70/", headers=headers, timeout=10)
        assert item.json()["status"] == "450"
        # strict: shipping without a tracking number is refused
        refused = HTTP.patch(
            f"{base}/api/i1/order_items/bulk_status_update/",
            json={"orderitem_set": [{"id": 70, "status": "500"}]},
            headers=headers,
            timeout=10,
        )
        assert refused.status_code == 400
        assert list(refused.json()[0]["message"]) == ["tracking_number"]


def test_reset_restores_the_seed_the_server_started_with(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"orders": [{"id": 3, "items": [{"id": 30}, {"id": 31}]}]}))
    with serving("--seed", str(seed)) as (base, _):
        headers = {"Authorization": f"Token {DEV_TOKEN}"}
        url = f"{base}/api/i1/order_items/bulk_status_update/"
        body = {"orderitem_set": [{"id": 30, "status": "450"}]}
        assert HTTP.patch(url, json=body, headers=headers, timeout=10).status_code == 200
        assert HTTP.post(f"{base}/_mock/reset", timeout=10).status_code == 200
        item = HTTP.get(f"{base}/api/i1/order_items/30/", headers=headers, timeout=10).json()
        assert item["status"] == "400"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--user", "no-password"], "expected NAME:PASSWORD[:TOKEN]"),
        (["serve", "--port", "70000"], "port must be a number from 0 to 65535, got '70000'"),
        (["serve", "--threads", "0"], "must be at least 1"),
    ],
    ids=["user-without-password", "port-out-of-range", "zero-threads"],
)
def test_serve_refuses_bad_flags(args: list[str], message: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr


def test_serve_refuses_a_seed_that_breaks_the_contract(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"orders": [{"id": 1, "items": [{"id": 1, "status": "999"}]}]}))
    result = run_cli("serve", "--port", "0", "--seed", str(seed))
    assert result.returncode == 2
    assert "$.orders[0].items[0].status" in result.stderr


def test_serve_refuses_an_unreadable_seed_file(tmp_path: Path) -> None:
    result = run_cli("serve", "--port", "0", "--seed", str(tmp_path / "missing.json"))
    assert result.returncode == 2
    assert "cannot read seed file" in result.stderr


def test_fault_profile_is_active_from_the_start_and_after_reset(tmp_path: Path) -> None:
    profile = tmp_path / "faults.json"
    profile.write_text(json.dumps([{"kind": "status", "status": 503, "times": 1, "path": "*/orders/*"}]))
    with serving("--faults", str(profile)) as (base, banner):
        assert "  faults active: status" in banner
        url = f"{base}/api/i1/orders/1/"
        headers = {"Authorization": f"Token {DEV_TOKEN}"}
        assert [HTTP.get(url, headers=headers, timeout=10).status_code for _ in range(2)] == [503, 200]
        assert HTTP.post(f"{base}/_mock/reset", timeout=10).status_code == 200
        assert HTTP.get(url, headers=headers, timeout=10).status_code == 503


def test_serve_refuses_a_bad_fault_profile(tmp_path: Path) -> None:
    profile = tmp_path / "faults.json"
    profile.write_text(json.dumps({"kind": "status", "status": 42}))
    result = run_cli("serve", "--port", "0", "--faults", str(profile))
    assert result.returncode == 2
    assert "fault profile error:" in result.stderr
    assert "$.status" in result.stderr


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--admin-token", ""], {}),
        (["--admin-token", "   "], {}),
        ([], {"OMNITRON_MOCK_ADMIN_TOKEN": ""}),
    ],
    ids=["empty-flag", "blank-flag", "empty-environment-variable"],
)
def test_serve_refuses_an_empty_admin_token(args: list[str], env: dict[str, str]) -> None:
    result = run_cli("serve", "--port", "0", *args, env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("omnitron-mock: the admin token is empty")
    assert "OMNITRON_MOCK_ADMIN_TOKEN" in result.stderr and "--admin-token" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_banner_says_whether_the_control_api_is_protected() -> None:
    with serving() as (base, banner):
        assert any(line.startswith("  control API open: anyone who can reach this port") for line in banner)
        assert HTTP.post(f"{base}/_mock/reset", timeout=10).status_code == 200
    with serving("--admin-token", "s3cret") as (base, banner):
        assert "  control API protected by admin token" in banner
        assert not any("control API open" in line for line in banner)
        assert HTTP.post(f"{base}/_mock/reset", timeout=10).status_code == 401
        reset = HTTP.post(f"{base}/_mock/reset", headers={"X-Mock-Admin-Token": "s3cret"}, timeout=10)
        assert reset.status_code == 200


@pytest.mark.parametrize("variable", ["", "variable-token"], ids=["empty-variable", "other-token-in-variable"])
def test_the_admin_token_flag_wins_over_the_environment_variable(variable: str) -> None:
    with serving("--admin-token", "flag-token", env={"OMNITRON_MOCK_ADMIN_TOKEN": variable}) as (base, banner):
        assert "  control API protected by admin token" in banner
        assert HTTP.post(f"{base}/_mock/reset", timeout=10).status_code == 401
        if variable:
            refused = HTTP.post(f"{base}/_mock/reset", headers={"X-Mock-Admin-Token": variable}, timeout=10)
            assert refused.status_code == 403
        reset = HTTP.post(f"{base}/_mock/reset", headers={"X-Mock-Admin-Token": "flag-token"}, timeout=10)
        assert reset.status_code == 200


def test_serve_help_names_each_new_flag_with_its_variable() -> None:
    text = " ".join(run_cli("serve", "--help").stdout.split())
    for flag, variable in [
        ("--workers", "OMNITRON_MOCK_WORKERS"),
        ("--connection-limit", "OMNITRON_MOCK_CONNECTION_LIMIT"),
        ("--trusted-proxy", "OMNITRON_MOCK_TRUSTED_PROXY"),
        ("--allowed-host", "OMNITRON_MOCK_ALLOWED_HOSTS"),
    ]:
        assert flag in text and variable in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--connection-limit", "0"], "must be at least 1"),
        (["--workers", "0"], "must be at least 1"),
    ],
    ids=["zero-connection-limit", "zero-workers"],
)
def test_serve_refuses_bad_server_flags(args: list[str], message: str) -> None:
    result = run_cli("serve", "--port", "0", *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_validate_accepts_a_valid_file(tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"orderitem_set": [{"id": 1, "status": "450"}]}))
    result = run_cli("validate", "bulk-status-update-request", str(body))
    assert result.returncode == 0, result.stdout
    assert "valid bulk-status-update-request" in result.stdout


def test_validate_lists_every_error_with_its_path(tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"orderitem_set": [{"id": "x", "status": "999"}]}))
    result = run_cli("validate", "bulk-status-update-request", str(body))
    assert result.returncode == 1
    assert "$.orderitem_set[0].id: 'x' is not of type 'integer'" in result.stdout
    assert '$.orderitem_set[0].status: "999" is not one of "50"' in result.stdout


MISSPELT = {"orderitem_set": [{"id": 1, "status": "500", "tracking_no": "TR1"}], "note": "x"}


def test_validate_fails_on_unknown_fields_each_on_a_line_of_its_own(tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text(json.dumps(MISSPELT))
    result = run_cli("validate", "bulk-status-update-request", str(body))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{body}: 2 unknown field(s) against bulk-status-update-request (--allow-unknown-fields accepts them)",
        f"  $.note: {contracts.UNKNOWN_FIELD}",
        f"  $.orderitem_set[0].tracking_no: {contracts.UNKNOWN_FIELD}",
    ]


def test_validate_allow_unknown_fields_lists_them_and_exits_0(tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text(json.dumps(MISSPELT))
    result = run_cli("validate", "--allow-unknown-fields", "bulk-status-update-request", str(body))
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        f"{body}: valid bulk-status-update-request, 2 unknown field(s) allowed",
        f"  $.note: {contracts.UNKNOWN_FIELD}",
        f"  $.orderitem_set[0].tracking_no: {contracts.UNKNOWN_FIELD}",
    ]


def test_validate_allow_unknown_fields_does_not_excuse_errors() -> None:
    body = {"orderitem_set": [{"id": "x", "tracking_no": "TR1"}]}
    result = run_cli("validate", "--allow-unknown-fields", "bulk-status-update-request", "-", stdin=json.dumps(body))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "-: 1 error(s) and 1 unknown field(s) against bulk-status-update-request",
        "  $.orderitem_set[0].id: 'x' is not of type 'integer'",
        f"  $.orderitem_set[0].tracking_no: {contracts.UNKNOWN_FIELD}",
    ]


@pytest.mark.parametrize(
    ("contract", "body"),
    [
        ("bulk-status-update-request", MISSPELT),
        ("bulk-status-update-request", {"orderitem_set": [{"id": 1, "status": "999", "tracking_no": 1}]}),
        ("bulk-status-update-request", {"orderitem_set": [{"id": 1, "status": "500"}]}),
        ("order-update-request", {"is_send": True, "number": "X"}),
        ("order-item-update-request", {"extra_field": {"anything": {"goes": 1}}, "price": "1.00"}),
        ("create-mapping-request", {"code": "ERP-1", "stock": False}),
        ("login-request", {"username": "u", "password": "p", "remember": True}),
        ("order-item", {"id": 1}),
    ],
)
def test_validate_and_the_library_give_the_same_verdict(contract: str, body: object) -> None:
    result = run_cli("validate", contract, "-", stdin=json.dumps(body))
    verdict = contracts.validate_strict(contract, body)
    assert result.returncode == (1 if verdict else 0)
    assert result.stdout.splitlines()[1:] == [f"  {error}" for error in verdict]


@docs.examples
def test_validate_session_gives_the_outputs_shown(example: docs.Block, tmp_path: Path) -> None:
    """Commands and, as ``# `` lines after each, what it prints; ``omnitron-mock`` is this checkout's."""
    shim = tmp_path / "bin" / "omnitron-mock"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m omnitron_mock "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}"}
    steps: list[tuple[str, list[str]]] = []
    for line in example.text.splitlines():
        if line.startswith("# "):
            steps[-1][1].append(line[2:])
        else:
            steps.append((line, []))
    assert len(steps) >= 3
    for command, expected in steps:
        result = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path
        )
        assert result.stdout.splitlines() == expected, f"{command}\n{result.stderr}"


@pytest.mark.parametrize(("body", "status"), [('{"key": "abc"}', 0), ('{"key": 1}', 1), ("{not json", 2)])
def test_validate_reads_standard_input_and_the_process_exits_with_the_status(body: str, status: int) -> None:
    result = run_process("validate", "login-response", "-", stdin=body)
    assert result.returncode == status, result.stderr


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["validate", "no-such-contract", "-"], "{}", "unknown contract 'no-such-contract'"),
        (["validate", "order-item", "-"], "{not json", "cannot read JSON"),
    ],
    ids=["unknown-contract", "not-json"],
)
def test_validate_usage_errors_exit_2(args: list[str], stdin: str, message: str) -> None:
    result = run_cli(*args, stdin=stdin)
    assert result.returncode == 2
    assert message in result.stderr


def test_openapi_prints_the_bundled_document() -> None:
    result = run_cli("openapi")
    assert result.returncode == 0
    document: dict[str, Any] = json.loads(result.stdout)
    assert document == contracts.bundled_openapi()
    assert document["openapi"].startswith("3.1")


def test_generate_seed_makes_orders_times_items_that_serve_can_load(tmp_path: Path) -> None:
    target = tmp_path / "big.json"
    assert run_cli("generate-seed", "--orders", "20", "--items", "5", "-o", str(target)).returncode == 0
    document = json.loads(target.read_text())
    assert contracts.validate("seed", document) == []
    assert len(document["orders"]) == 20
    assert sum(len(order["items"]) for order in document["orders"]) == 100
    with serving("--seed", str(target)) as (base, _):
        headers = {"Authorization": f"Token {DEV_TOKEN}"}
        page = HTTP.get(f"{base}/api/i1/order_items/?order=20", headers=headers, timeout=10).json()
        assert [item["id"] for item in page["results"]] == [96, 97, 98, 99, 100]


def test_generate_seed_refuses_negative_counts() -> None:
    result = run_cli("generate-seed", "--orders", "-1", "--items", "2")
    assert result.returncode == 2
    assert "must not be negative" in result.stderr


@pytest.mark.parametrize("port", ["abc", "-1", "65536", "８０"])
def test_a_bad_port_variable_is_named(port: str) -> None:
    result = run_cli("serve", env={"OMNITRON_MOCK_PORT": port})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"omnitron-mock: OMNITRON_MOCK_PORT: port must be a number from 0 to 65535, got {port!r}"
    )


def test_a_taken_port_is_one_clear_line() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [*CLI, "serve", "--port", str(port)], capture_output=True, text=True, timeout=60, env=dict(os.environ)
        )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"omnitron-mock: cannot listen on 127.0.0.1:{port}: address already in use (another process holds "
        "the port: stop it, or choose another with --port or OMNITRON_MOCK_PORT; 0 takes a free one)"
    )
    assert "Traceback" not in result.stderr


def test_the_banner_names_the_inspector_and_the_root_points_to_it() -> None:
    with serving() as (base, banner):
        assert banner[1] == f"  inspector {base}/_mock/  OpenAPI {base}/openapi.json"
        front = requests.get(f"{base}/", timeout=10).json()
        assert front["inspector"] == "/_mock/"
        assert front["openapi"] == "/openapi.json"
        assert requests.get(f"{base}{front['inspector']}", timeout=10).status_code == 200
        assert requests.get(f"{base}{front['openapi']}", timeout=10).json()["openapi"].startswith("3.")
