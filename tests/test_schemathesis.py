"""Schemathesis fuzzes the emulator from our own OpenAPI document.

No 5xx, and every response conforms to the document: documented status,
content type, headers and body schema. The run's counts are printed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from omnitron_mock import DEV_TOKEN
from omnitron_mock.serving import HTTPServer

from tests.helpers import FIGURES, checked_session

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)
EXAMPLES_PER_OPERATION = 100
# Some 25 s for the two stores.
pytestmark = pytest.mark.slow


def test_fuzzing_finds_no_server_error_and_no_contract_breach(live_server: HTTPServer, tmp_path: Path) -> None:
    document = tmp_path / "openapi.json"
    with checked_session() as session:
        document.write_text(session.get(f"{live_server.url}/openapi.json", timeout=30).text)
    result = subprocess.run(
        [
            sys.executable, "-m", "schemathesis.cli", "run", str(document),
            "--url", f"{live_server.url}/api/i1",
            "--header", f"Authorization: Token {DEV_TOKEN}",
            "--checks", CHECKS,
            "--max-examples", str(EXAMPLES_PER_OPERATION),
            "--seed", "20261127",
            "--generation-database", "none",
            "--no-color",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )  # fmt: skip
    counts = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    print(counts.group(0) if counts else result.stdout[-3000:])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert counts is not None
    generated, passed = map(int, counts.groups())
    assert generated == passed and generated > 500
    FIGURES["schemathesis cases generated"] += generated
    FIGURES["schemathesis cases passed"] += passed
