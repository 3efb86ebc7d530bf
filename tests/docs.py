"""The documentation as test data: README.md and docs/*.md, their fenced code
blocks, and the markers that say which test runs each block.

Every fenced block carries an HTML comment on the line above it:

- ``<!-- run: tests/FILE.py::TEST -->`` (any words may follow the name): that
  test runs the block. It gets it through :func:`examples`, which parametrizes
  the test over the blocks whose marker names it;
- ``<!-- not-run: REASON -->``: no test can run the block here, and why.

tests/test_docs.py holds every block to this, and checks that each test a
marker names exists and is parametrized over that block.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import pytest

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^\s*(```|~~~)\s*([\w+-]*)")
MARKER = re.compile(r"^<!-- (run|not-run): (.*?)\s*-->$")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Block:
    """One fenced code block: where it is, its language, its text and its marker."""

    page: str  # relative to the repository root, e.g. "docs/faults.md"
    line: int  # of the opening fence, 1-based
    language: str
    text: str
    marker: tuple[str, str] | None  # ("run", "tests/x.py::test_y ...") or ("not-run", reason)

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def runner(self) -> str | None:
        """The ``tests/FILE.py::TEST`` its run marker names, if any."""
        if self.marker is None or self.marker[0] != "run" or not self.marker[1]:
            return None
        return self.marker[1].split()[0]

    @property
    def file_name(self) -> str | None:
        """The name a ``# file: NAME`` first line gives the block."""
        match = re.match(r"# file: (\S+)\n", self.text)
        return match.group(1) if match else None

    def __str__(self) -> str:
        return self.id


def page_names() -> list[str]:
    """The README, CONTRIBUTING.md and every page in docs/, as paths relative to the root."""
    pages = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md"))
    return ["README.md", "CONTRIBUTING.md", *pages]


@cache
def text(page: str) -> str:
    return (ROOT / page).read_text("utf-8")


@cache
def blocks(page: str) -> tuple[Block, ...]:
    """The fenced blocks of one page, in order."""
    lines = text(page).splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        fence, language = opening.groups()
        end = next((i for i in range(index + 1, len(lines)) if lines[i].strip() == fence), None)
        assert end is not None, f"{page}:{index + 1}: a fence that never closes"
        above = MARKER.match(lines[index - 1].strip()) if index else None
        found.append(
            Block(
                page=page,
                line=index + 1,
                language=language,
                text="".join(line + "\n" for line in lines[index + 1 : end]),
                marker=(above.group(1), above.group(2)) if above else None,
            )
        )
        index = end + 1
    return tuple(found)


def all_blocks() -> list[Block]:
    return [block for page in page_names() for block in blocks(page)]


def run_by(node: str) -> list[Block]:
    """The blocks whose run marker names ``node`` (``tests/FILE.py::TEST``)."""
    return [block for block in all_blocks() if block.runner == node]


def node_of(function: Callable[..., Any]) -> str:
    source = Path(inspect.getsourcefile(function) or "").resolve()
    return f"{source.relative_to(ROOT).as_posix()}::{function.__name__}"


def examples(function: F | None = None, *, together: bool = False) -> Any:
    """Parametrize a test over the doc blocks whose marker names it.

    Each block is one case, as ``example``; with ``together=True`` the test
    gets all of them at once, as the tuple ``examples`` (one case). A test
    that no marker names fails at collection: a test that runs no example is
    a mistake, not a pass."""

    def decorate(test: F) -> F:
        found = run_by(node_of(test))
        assert found, f"no block in README.md or docs/ is marked <!-- run: {node_of(test)} -->"
        if together:
            return pytest.mark.parametrize("examples", [tuple(found)], ids=[f"{len(found)}-blocks"])(test)
        return pytest.mark.parametrize("example", found, ids=str)(test)

    return decorate(function) if function is not None else decorate


def parametrized_blocks(test: Callable[..., Any]) -> set[str]:
    """Ids of the doc blocks among a test's parametrize values."""
    ids: set[str] = set()
    for mark in getattr(test, "pytestmark", []):
        if mark.name != "parametrize":
            continue
        for value in mark.args[1]:
            for item in value if isinstance(value, tuple) else (value,):
                if isinstance(item, Block):
                    ids.add(item.id)
    return ids
