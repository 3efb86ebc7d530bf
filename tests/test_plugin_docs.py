"""The README's "Testing your client" examples, run as a user's project would run them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
SECTION = README[README.index("## Testing your client") : README.index("## Python API")]
FILES = dict(re.findall(r"```python\n# file: (\S+)\n(.*?)```", SECTION, re.DOTALL))
TEST_COUNT = sum(len(re.findall(r"^def test_", text, re.MULTILINE)) for text in FILES.values())


def write_examples(pytester: pytest.Pytester) -> None:
    for name, text in FILES.items():
        target = pytester.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def test_the_section_holds_examples() -> None:
    assert "test_shipping_sync.py" in FILES
    assert "inprocess/conftest.py" in FILES
    assert TEST_COUNT >= 8


@pytest.mark.parametrize("mode", ["live", "inprocess"])
def test_readme_examples_pass(pytester: pytest.Pytester, mode: str) -> None:
    write_examples(pytester)
    result = pytester.runpytest("--omnitron-mode", mode, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=TEST_COUNT)
