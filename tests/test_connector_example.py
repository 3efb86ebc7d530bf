"""docs/connector.md's worked example, a polling ERP connector and its tests,
run as a user's project would run them: live, in-process, and remote against a
separately started ``omnitron-mock serve``."""

from __future__ import annotations

import re
import sys

import pytest

from tests import docs
from tests.docs import Block
from tests.helpers import serving_command

CLI = [sys.executable, "-m", "omnitron_mock"]
NODE = "tests/test_connector_example.py::test_connector_example_passes"


def project(examples: tuple[Block, ...]) -> dict[str, str]:
    """File name to text, each example without its ``# file:`` line."""
    return {str(example.file_name): example.text.split("\n", 1)[1] for example in examples}


def test_the_page_holds_a_connector_and_its_tests() -> None:
    files = project(tuple(docs.run_by(NODE)))
    assert set(files) == {"erp_connector.py", "test_erp_connector.py"}
    assert len(re.findall(r"^def test_", files["test_erp_connector.py"], re.MULTILINE)) >= 5


@docs.examples(together=True)
@pytest.mark.parametrize("mode", ["live", "inprocess", "remote"])
def test_connector_example_passes(pytester: pytest.Pytester, mode: str, examples: tuple[Block, ...]) -> None:
    files = project(examples)
    for name, text in files.items():
        (pytester.path / name).write_text(text)
    tests = len(re.findall(r"^def test_", files["test_erp_connector.py"], re.MULTILINE))
    # The connector module sits beside its tests, as in a small project.
    options = ["-p", "no:cacheprovider", "--rootdir", str(pytester.path), "-o", "pythonpath=."]
    if mode != "remote":
        result = pytester.runpytest("--omnitron-mode", mode, *options)
    else:
        with serving_command([*CLI, "serve", "--port", "0"]) as (url, _banner):
            result = pytester.runpytest("--omnitron-mock-url", url, *options)
    result.assert_outcomes(passed=tests)
