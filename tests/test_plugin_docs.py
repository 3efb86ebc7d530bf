"""The docs' plugin examples (``# file:`` blocks in README.md and docs/), run
together as a user's project would run them, in every mode: live, in-process, and remote against a separately started
``omnitron-mock serve``."""

from __future__ import annotations

import re
import sys

import pytest

from tests import docs
from tests.docs import Block
from tests.helpers import serving_command

CLI = [sys.executable, "-m", "omnitron_mock"]

NODE = "tests/test_plugin_docs.py::test_doc_examples_pass"


def project(examples: tuple[Block, ...]) -> dict[str, str]:
    """File name to text, each example without its ``# file:`` line."""
    unnamed = [example.id for example in examples if example.file_name is None]
    assert not unnamed, f"examples without a '# file:' line: {unnamed}"
    files = {str(example.file_name): example.text.split("\n", 1)[1] for example in examples}
    assert len(files) == len(examples), "two examples name the same file"
    return files


def count_tests(files: dict[str, str]) -> int:
    return sum(len(re.findall(r"^def test_", text, re.MULTILINE)) for text in files.values())


def test_the_docs_hold_plugin_examples() -> None:
    files = project(tuple(docs.run_by(NODE)))
    assert "test_shipping_sync.py" in files
    assert "inprocess/conftest.py" in files
    assert count_tests(files) >= 8


@docs.examples(together=True)
@pytest.mark.parametrize("mode", ["live", "inprocess", "remote"])
def test_doc_examples_pass(pytester: pytest.Pytester, mode: str, examples: tuple[Block, ...]) -> None:
    files = project(examples)
    for name, text in files.items():
        target = pytester.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    if mode != "remote":
        result = pytester.runpytest("--omnitron-mode", mode, "-p", "no:cacheprovider")
        result.assert_outcomes(passed=count_tests(files))
        return
    # Remote: an emulator started apart from the test run, as a CI service would be.
    with serving_command([*CLI, "serve", "--port", "0"]) as (url, _banner):
        result = pytester.runpytest("--omnitron-mock-url", url, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=count_tests(files))
