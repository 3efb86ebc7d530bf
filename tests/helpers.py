"""Test helpers shared by the suite: documented examples, the response
contract oracles (emulated API and control API) and a contract-checking
Flask test client."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import requests
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from omnitron_mock import contracts
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from werkzeug.test import TestResponse

PREFIXES = ("/api/i1/", "/api/v1/")
# Figures the robustness tests gather; conftest prints them after the run.
FIGURES: Counter[str] = Counter()
# Files the run leaves for people to look at (screenshots); conftest prints their paths.
ARTIFACTS: list[str] = []
DATA = Path(__file__).resolve().parent / "data"
BULK_PATH = "/api/i1/order_items/bulk_status_update/"


def in_ci() -> bool:
    """Whether this is CI (CI set, not to false), which runs every test tier."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


OPENAPI = Path(__file__).resolve().parents[1] / "contracts" / "openapi.json"


@cache
def _success_contracts() -> list[tuple[re.Pattern[str], str, str]]:
    """(route pattern, method, contract) of each documented operation, static
    paths first: which contract a 2xx body follows, read from the OpenAPI
    document (independent of the server's own routing)."""
    document = json.loads(OPENAPI.read_text("utf-8"))
    found = []
    for template, operations in sorted(document["paths"].items(), key=lambda path: "{" in path[0]):
        pattern = re.compile(re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template.lstrip("/"))))
        for method, operation in operations.items():
            if method == "parameters":
                continue
            schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
            found.append((pattern, method.upper(), Path(schema["$ref"]).stem))
    return found


def documented(name: str) -> Any:
    """A body of the public documentation's example, kept as JSON in tests/data."""
    return json.loads((DATA / f"documented-{name}.json").read_text("utf-8"))


def expected_contract(method: str, path: str, status: int, body: Any) -> str | None:
    """The contract an emulated response must match, or None when it has no body."""
    route = next((path[len(p) :] for p in PREFIXES if path.startswith(p)), None)
    if route is None or method == "HEAD" or status in (204, 301):
        return None
    if status >= 401 or (status == 400 and isinstance(body, dict) and "detail" in body):
        return "detail-error"
    if status == 400:
        return "bulk-status-update-error-response" if isinstance(body, list) else "field-errors"
    if method == "OPTIONS":
        return None
    return next(
        name
        for pattern, documented_method, name in _success_contracts()
        if documented_method == method and pattern.fullmatch(route)
    )


CONTROL_PREFIX = "/_mock/"
_CONTROL_URI = "urn:omnitron-mock:control-openapi"


@cache
def _control_document() -> dict[str, Any]:
    """The control API's OpenAPI document, bundled once (callers only read it)."""
    return contracts.bundled_control_openapi()


@cache
def _control_routes() -> list[tuple[re.Pattern[str], str]]:
    """(route pattern, path template) of each path the control API's OpenAPI
    document describes, static paths first."""
    templates = sorted(_control_document()["paths"], key=lambda template: "{" in template)
    return [(re.compile(re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template))), template) for template in templates]


@cache
def _control_validator(pointer: str) -> Draft202012Validator:
    """A validator of the schema at ``pointer`` in the bundled control document."""
    document = _control_document()
    registry = Registry().with_resource(
        _CONTROL_URI, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    return Draft202012Validator({"$ref": f"{_CONTROL_URI}#{pointer}"}, registry=registry)


def _pointer_escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def control_response_problems(method: str, path: str, status: int, text: str) -> list[str]:
    """How a control API answer breaks contracts/control-openapi.json: its
    status is not one the operation documents, or its body does not match the
    documented schema. Routes and methods the document does not describe (the
    inspector's pages, unknown paths, HEAD, OPTIONS) are not checked here."""
    template = next((template for pattern, template in _control_routes() if pattern.fullmatch(path)), None)
    if template is None:
        return []
    document = _control_document()
    operation = document["paths"][template].get(method.lower())
    if operation is None:
        return []
    responses = operation["responses"]
    if str(status) not in responses:
        return [f"{status} is not a documented status (documented: {', '.join(responses)})"]
    pointer = f"/paths/{_pointer_escape(template)}/{method.lower()}/responses/{status}"
    response = responses[str(status)]
    if "$ref" in response:
        pointer = response["$ref"].removeprefix("#")
        response = document["components"]["responses"][pointer.rsplit("/", 1)[-1]]
    if "content" not in response:
        return [] if text == "" else [f"a body where the document says none: {text[:200]!r}"]
    try:
        body = json.loads(text)
    except ValueError:
        return [f"the body is not JSON: {text[:200]!r}"]
    validator = _control_validator(f"{pointer}/content/application~1json/schema")
    return [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(body)]


def check_response_contract(method: str, path: str, status: int, text: str) -> None:
    if path.startswith(CONTROL_PREFIX):
        problems = control_response_problems(method, path, status, text)
        assert problems == [], f"{method} {path} -> {status} breaks contracts/control-openapi.json: {problems}"
        return
    route_is_emulated = path.startswith(PREFIXES)
    if not route_is_emulated:
        return
    if status >= 400 and method != "HEAD":
        assert text, f"{method} {path} -> {status} has an empty body"
    body = json.loads(text) if text else None
    contract = expected_contract(method, path, status, body)
    if contract is not None:
        errors = contracts.validate(contract, body)
        assert errors == [], f"{method} {path} -> {status} breaks {contract}: {errors}"


class ContractCheckedClient(FlaskClient):
    """A Flask test client that checks every emulated response against its
    contract, and every control API response against the control API's OpenAPI."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        request = response.request
        check_response_contract(request.method, request.path, response.status_code, response.get_data(as_text=True))
        return response


class Later:
    """Equal to a ``modified_date`` later than the one it was made from."""

    def __init__(self, than: str) -> None:
        self.than = than

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and datetime.fromisoformat(other) > datetime.fromisoformat(self.than)

    def __repr__(self) -> str:
        return f"<a modified_date after {self.than}>"


def get_state(client: FlaskClient) -> dict[str, Any]:
    """The emulator's users, orders and items, through the control API."""
    response = client.get("/_mock/state")
    assert response.status_code == 200
    return response.get_json()


def checked_session() -> requests.Session:
    """A ``requests`` session whose every emulated and control response is contract-checked."""

    def check(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        path = urlsplit(response.request.url).path
        check_response_contract(response.request.method, path, response.status_code, response.text)

    session = requests.Session()
    session.hooks["response"].append(check)
    return session


def run_python(script: str) -> subprocess.CompletedProcess[str]:
    """``script`` run by this interpreter in a process of its own (imports start fresh)."""
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)


def printed_by(script: str) -> str:
    """What ``script`` printed; it must exit 0."""
    result = run_python(script)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def sqlite_steps(connection: Any, call: Any) -> int:
    """SQLite virtual-machine steps ``call`` takes on ``connection``: work, not time."""
    counted = [0]

    def count() -> int:
        counted[0] += 1
        return 0

    connection.set_progress_handler(count, 1)
    try:
        call()
    finally:
        connection.set_progress_handler(None, 1)
    return counted[0]


def run_cli(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``omnitron-mock ARGS`` through ``cli.main`` in this process: its exit status and output.

    In a thread of its own, with a bound: a ``serve`` that started instead of
    refusing fails the test rather than hang it (only the main thread may set
    the SIGTERM handler, so such a serve ends at once, after its banner)."""
    from omnitron_mock.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    outcome: list[int | BaseException] = []

    def run() -> None:
        try:
            outcome.append(main(list(args)))
        except SystemExit as exit_:  # argparse's usage errors and --help
            outcome.append(0 if exit_.code is None else exit_.code if isinstance(exit_.code, int) else 1)
        except BaseException as problem:
            outcome.append(problem)

    with (
        mock.patch.dict(os.environ, env or {}),
        mock.patch.object(sys, "stdin", io.StringIO(stdin or "")),
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        thread = threading.Thread(target=run, name="omnitron-mock-cli", daemon=True)
        thread.start()
        thread.join(timeout=60)
    assert outcome, f"omnitron-mock {' '.join(args)} did not return; output: {stdout.getvalue()}"
    [code] = outcome
    if isinstance(code, BaseException):
        raise code
    assert "omnitron-mock listening on" not in stdout.getvalue(), (
        f"serve started instead of refusing: {stderr.getvalue()}"
    )
    return subprocess.CompletedProcess(["omnitron-mock", *args], code, stdout.getvalue(), stderr.getvalue())


LISTENING = re.compile(r"omnitron-mock listening on (http://\S+)")


@contextmanager
def serving_command(
    command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> Iterator[tuple[str, list[str]]]:
    """Run a ``serve`` command until its banner ends; yield (URL, banner
    lines); SIGTERM it after, and it must exit 0."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env or dict(os.environ), cwd=cwd
    )
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline().rstrip("\n")]
        match = LISTENING.match(banner[0])
        assert match, f"no listening line; got {banner[0]!r}; stderr: {process.stderr.read() if not banner[0] else ''}"
        while "press Ctrl-C to stop" not in banner[-1]:
            line = process.stdout.readline()
            assert line, f"the server stopped before its banner ended: {banner}"
            banner.append(line.rstrip("\n"))
        yield match.group(1), banner
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
