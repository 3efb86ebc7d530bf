"""The docs' promises, run: their curl sessions, commands and code examples,
and the reference tables against the code (README.md and docs/*.md).

Each example test gets its blocks from tests/docs.py: the blocks whose
``<!-- run: ... -->`` marker names it (tests/test_docs.py checks that every
block is run or says why not)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import yaml
from omnitron_mock import Settings, contracts, create_app
from omnitron_mock.config import ENV_PREFIX
from omnitron_mock.serving import HTTPServer

from tests import docs
from tests.docs import Block
from tests.helpers import serving_command

ROOT = docs.ROOT
DEFAULT_BASE = "http://127.0.0.1:8000"
ALL_PAGES = "\n".join(docs.text(page) for page in docs.page_names())


def _steps(block: str) -> list[tuple[str, str]]:
    """A curl session as (command, expected output) pairs."""
    steps: list[tuple[str, str]] = []
    setup: list[str] = []
    command: list[str] = []
    expected: list[str] = []
    for line in [*block.splitlines(), ""]:
        if line.startswith("# ") and (command or expected):
            expected.append(line[2:])
            continue
        if expected:
            steps.append(("\n".join([*setup, *command]), "\n".join(expected)))
            command, expected = [], []
        if re.fullmatch(r"[A-Z]+=\S+", line):
            setup.append(line)
        elif line.startswith(("curl", "     ", "  |")):
            command.append(line)
        elif line and not line.startswith("#"):
            raise AssertionError(f"unexpected line in a curl session: {line!r}")
    return steps


@docs.examples
def test_curl_sessions_give_the_outputs_shown(example: Block) -> None:
    steps = _steps(example.text)
    assert len(steps) >= 4
    with HTTPServer(create_app(), port=0) as server:
        for command, expected in steps:
            script = command.replace(DEFAULT_BASE, server.url)
            result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
            assert result.returncode == 0, result.stderr
            assert result.stdout.strip() == expected, command


@docs.examples
def test_seed_example_is_a_valid_seed_that_loads(example: Block) -> None:
    seed = json.loads(example.text)
    assert contracts.validate("seed", seed) == []
    client = create_app(seed=seed).test_client()
    headers = {"Authorization": f"Token {seed['users'][0]['token']}"}
    assert client.get("/api/i1/order_items/101/", headers=headers).get_json()["status"] == "450"
    order = client.get("/api/i1/orders/10/", headers=headers).get_json()
    assert order["amount"] == "299.90"
    # The seed's part of the customer and address, the defaults' rest; billed where shipped.
    assert (order["customer"]["first_name"], order["customer"]["email"]) == ("Deniz", "deniz@example.com")
    assert order["shipping_address"]["city"]["name"] == "Ankara"
    assert order["shipping_address"]["first_name"] == "Deniz"
    assert order["shipping_address"]["country"]["code"] == "tr"
    assert order["billing_address"] == order["shipping_address"]


@docs.examples
def test_python_api_example_runs(example: Block, capfd: pytest.CaptureFixture[str]) -> None:
    exec(compile(example.text, example.id, "exec"), {})
    assert capfd.readouterr().out.startswith("http://127.0.0.1:")


@docs.examples
def test_service_api_example_runs(example: Block, capfd: pytest.CaptureFixture[str]) -> None:
    exec(compile(example.text, example.id, "exec"), {})
    printed = capfd.readouterr().out.splitlines()
    expected = [line.split("# ", 1)[1] for line in example.text.splitlines() if line.startswith("print(")]
    assert printed == expected


@docs.examples
def test_contracts_example_names_real_calls(example: Block) -> None:
    body = {"orderitem_set": [{"id": 1, "tracking_no": "x"}]}
    item = (
        create_app()
        .test_client()
        .get("/api/i1/order_items/1/", headers={"Authorization": "Token 8d5ad200b6286fd7fedadaced3c567b20cce1c4c"})
        .get_json()
    )
    exec(compile(example.text, example.id, "exec"), {"body": body, "item": item})


def _shell_commands(block: str) -> list[str]:
    """The commands of a shell block: one a line (``\\`` continues one), comments and blanks left out."""
    commands: list[str] = []
    pending = ""
    for line in block.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line
        if pending.endswith("\\"):
            pending = pending[:-1]
            continue
        commands.append(pending)
        pending = ""
    assert not pending, f"a command continues past the block: {pending!r}"
    return commands


@docs.examples
def test_shell_examples_run(example: Block, tmp_path: Path) -> None:
    """Each command as a user types it, ``omnitron-mock`` being this checkout's CLI;
    curl calls reach a live emulator (with the admin token the block sends), and
    ``serve`` commands start, print their banner and stop (on a free port)."""
    shim = tmp_path / "bin" / "omnitron-mock"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m omnitron_mock "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}"}
    # Files the examples name.
    (tmp_path / "orders.json").write_text('{"orders": [{"id": 10, "items": [{"id": 100}, {"id": 101}]}]}')
    (tmp_path / "body.json").write_text('{"orderitem_set": [{"id": 1, "status": "450"}]}')
    admin = re.search(r"X-Mock-Admin-Token: ([^'\"\s]+)", example.text)
    settings = Settings(admin_token=admin.group(1) if admin else None)
    commands = _shell_commands(example.text)
    assert commands
    with HTTPServer(create_app(settings), port=0) as server:
        for command in commands:
            script = command.replace(DEFAULT_BASE, server.url)
            if re.search(r"\bomnitron-mock serve\b", script):
                with serving_command(["bash", "-c", f"exec {script} --port 0"], env, cwd=tmp_path) as (url, _):
                    assert requests.get(f"{url}/_mock/health", timeout=10).json()["status"] == "ok"
                continue
            result = subprocess.run(
                ["bash", "-c", script], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path
            )
            assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
            assert '"detail"' not in result.stdout, f"{command}\n{result.stdout}"


@docs.examples
def test_compose_example_configures_the_emulator(example: Block, tmp_path: Path) -> None:
    """The compose file's service settings, given to ``serve`` as its environment:
    the connector reaches the emulator by its service name as that user."""
    compose = yaml.safe_load(example.text)
    service = compose["services"]["omnitron"]
    assert "HEALTHCHECK" in (ROOT / "Dockerfile").read_text(), "the connector waits for service_healthy"
    assert compose["services"]["connector"]["depends_on"]["omnitron"]["condition"] == "service_healthy"
    environment = {name: str(value) for name, value in service["environment"].items()}
    assert all(name.startswith(ENV_PREFIX) for name in environment)
    # The seed the volume would bring.
    seed = tmp_path / "orders.json"
    seed.write_text('{"orders": [{"id": 10, "items": [{"id": 100}]}]}')
    assert f"{Path(environment['OMNITRON_MOCK_SEED']).parent}:ro" in " ".join(service["volumes"])
    environment["OMNITRON_MOCK_SEED"] = str(seed)
    username, password, token = environment["OMNITRON_MOCK_USERS"].split(":")
    admin_token = environment["OMNITRON_MOCK_ADMIN_TOKEN"]
    host = urlsplit(compose["services"]["connector"]["environment"]["OMNITRON_URL"]).netloc

    command = [sys.executable, "-m", "omnitron_mock", "serve", "--port", "0"]
    with serving_command(command, {**os.environ, **environment}) as (url, banner):
        assert "strict mode on" in banner[-1]
        login = requests.post(
            f"{url}/api/i1/auth/login/",
            json={"username": username, "password": password},
            headers={"Host": host},
            timeout=10,
        )
        assert login.status_code == 200, login.text
        assert login.json() == {"key": token}
        auth = {"Host": host, "Authorization": f"Token {token}"}
        assert requests.get(f"{url}/api/i1/order_items/100/", headers=auth, timeout=10).status_code == 200
        assert requests.get(f"{url}/_mock/state", timeout=10).status_code == 401
        state = requests.get(f"{url}/_mock/state", headers={"X-Mock-Admin-Token": admin_token}, timeout=10)
        assert [order["pk"] for order in state.json()["orders"]] == [10]


def test_every_documented_environment_variable_is_read_by_the_code() -> None:
    documented = set(re.findall(rf"{ENV_PREFIX}[A-Z_]+", ALL_PAGES))
    code = "\n".join(p.read_text("utf-8") for p in (ROOT / "mockserver").rglob("*.py"))
    read = {f"{ENV_PREFIX}{name}" for name in re.findall(r'(?:get|env_value)\("([A-Z_]+)"', code)}
    read |= {f"{ENV_PREFIX}{name}" for name in re.findall(r'"([A-Z_]+)"\),', code)}
    # the test suite's own knobs
    tests = "\n".join(p.read_text("utf-8") for p in (ROOT / "tests").rglob("*.py"))
    read |= set(re.findall(rf'"({ENV_PREFIX}[A-Z_]+)"', tests))
    assert documented, "the configuration table lists no variable"
    assert documented <= read, documented - read


def test_every_serve_flag_is_in_the_configuration_table() -> None:
    from omnitron_mock.cli import build_parser

    page = docs.text("docs/configuration.md")
    serve = build_parser()._subparsers._group_actions[0].choices["serve"]  # type: ignore[union-attr]
    flags = {option for action in serve._actions for option in action.option_strings if option.startswith("--")}
    flags.discard("--help")
    missing = {flag for flag in flags if f"`{flag}" not in page}
    assert not missing


@pytest.mark.parametrize("name", contracts.SCHEMA_NAMES)
def test_every_schema_is_in_the_contracts_table(name: str) -> None:
    assert f"`{name}`" in docs.text("docs/contracts.md")


@docs.examples(together=True)
def test_tenant_seed_and_session_give_the_outputs_shown(examples: tuple[Block, ...]) -> None:
    """The shared deployment page's tenant seed, served in tenant mode, and its curl session against it."""
    [seed_block] = [block for block in examples if block.language == "json"]
    [session] = [block for block in examples if block.language == "sh"]
    seed = json.loads(seed_block.text)
    assert contracts.validate("seed", seed) == []
    steps = _steps(session.text)
    assert len(steps) >= 4
    settings = Settings(tenant_per_user=True, admin_token="admin-secret")
    with HTTPServer(create_app(settings, seed=seed), port=0) as server:
        for command, expected in steps:
            script = command.replace(DEFAULT_BASE, server.url)
            result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
            assert result.returncode == 0, result.stderr
            assert result.stdout.strip() == expected, command
