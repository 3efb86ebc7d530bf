"""The README's promises, run: its commands, its curl session, its examples."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from omnitron_mock import contracts, create_app
from omnitron_mock.config import ENV_PREFIX
from omnitron_mock.serving import HTTPServer

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text("utf-8")
DEFAULT_BASE = "http://127.0.0.1:8000"


def fenced_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.DOTALL)


def test_first_screen_has_the_serve_and_the_test_command() -> None:
    serve, test = fenced_blocks("sh")[:2]
    assert "omnitron-mock serve" in serve
    assert "pytest" in test
    assert README.index(test) < 2500, "the test command must be on the README's first screen"


def test_ci_runs_the_readmes_test_command_verbatim() -> None:
    test_command = fenced_blocks("sh")[1].strip()
    assert test_command in (ROOT / ".ci" / "run").read_text("utf-8")


def _curl_sessions() -> list[list[tuple[str, str]]]:
    """Each marked curl block as (command, expected output) pairs."""
    sessions = []
    for marker in re.finditer("<!-- curl-session", README):
        block = re.search(r"```sh\n(.*?)```", README[marker.start() :], re.DOTALL)
        assert block
        sessions.append(_steps(block.group(1)))
    return sessions


def _steps(block: str) -> list[tuple[str, str]]:
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


@pytest.mark.parametrize("index", range(len(re.findall("<!-- curl-session", README))))
def test_curl_sessions_give_the_outputs_the_readme_shows(index: int) -> None:
    steps = _curl_sessions()[index]
    assert len(steps) >= 4
    with HTTPServer(create_app(), port=0) as server:
        for command, expected in steps:
            script = command.replace(DEFAULT_BASE, server.url)
            result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
            assert result.returncode == 0, result.stderr
            assert result.stdout.strip() == expected, command


def test_seed_example_is_a_valid_seed_that_loads() -> None:
    example = json.loads(next(block for block in fenced_blocks("json") if '"orders"' in block))
    assert contracts.validate("seed", example) == []
    client = create_app(seed=example).test_client()
    headers = {"Authorization": f"Token {example['users'][0]['token']}"}
    assert client.get("/api/i1/order_items/101/", headers=headers).get_json()["status"] == "450"
    assert client.get("/api/i1/orders/10/", headers=headers).get_json()["amount"] == "299.90"


def test_python_api_example_runs(capfd: pytest.CaptureFixture[str]) -> None:
    example = next(block for block in fenced_blocks("python") if "create_app" in block)
    exec(compile(example, "README.md", "exec"), {})
    assert capfd.readouterr().out.startswith("http://127.0.0.1:")


def test_contracts_example_names_real_calls() -> None:
    example = next(block for block in fenced_blocks("python") if "import contracts" in block)
    body = {"orderitem_set": [{"id": 1, "tracking_no": "x"}]}
    item = (
        create_app()
        .test_client()
        .get("/api/i1/order_items/1/", headers={"Authorization": "Token 8d5ad200b6286fd7fedadaced3c567b20cce1c4c"})
        .get_json()
    )
    exec(compile(example, "README.md", "exec"), {"body": body, "item": item})


def test_every_documented_environment_variable_is_read_by_the_code() -> None:
    documented = set(re.findall(rf"{ENV_PREFIX}[A-Z_]+", README))
    code = "\n".join(p.read_text("utf-8") for p in (ROOT / "mockserver").rglob("*.py"))
    read = {f"{ENV_PREFIX}{name}" for name in re.findall(r'(?:get|env_value)\("([A-Z_]+)"', code)}
    read |= {f"{ENV_PREFIX}{name}" for name in re.findall(r'"([A-Z_]+)"\),', code)}
    # the test suite's own knobs
    tests = "\n".join(p.read_text("utf-8") for p in (ROOT / "tests").rglob("*.py"))
    read |= set(re.findall(rf'"({ENV_PREFIX}[A-Z_]+)"', tests))
    assert documented, "the configuration table lists no variable"
    assert documented <= read, documented - read


def test_every_serve_flag_is_documented() -> None:
    from omnitron_mock.cli import build_parser

    serve = build_parser()._subparsers._group_actions[0].choices["serve"]  # type: ignore[union-attr]
    flags = {option for action in serve._actions for option in action.option_strings if option.startswith("--")}
    flags.discard("--help")
    missing = {flag for flag in flags if f"`{flag}" not in README}
    assert not missing


@pytest.mark.parametrize("name", contracts.SCHEMA_NAMES)
def test_every_schema_is_in_the_contracts_table(name: str) -> None:
    assert f"`{name}`" in README
