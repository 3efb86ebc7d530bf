"""The docs hold together (README.md and docs/*.md): every fenced code block is
run by a test or says why not, and every relative link lands on a file (and
an ``#anchor`` on a heading of it)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from tests import docs
from tests.docs import Block

ROOT = docs.ROOT
PAGES = docs.page_names()
HOW = "put <!-- run: tests/FILE.py::TEST --> or <!-- not-run: REASON --> on the line above it"


def test_there_are_pages_and_blocks() -> None:
    assert "docs/README.md" in PAGES
    assert len(docs.all_blocks()) >= 20


@pytest.mark.parametrize("block", docs.all_blocks(), ids=str)
def test_every_code_block_is_run_by_a_test_or_says_why_not(block: Block) -> None:
    assert block.marker is not None, f"{block.id}: {HOW}"
    kind, words = block.marker
    if kind == "not-run":
        assert len(words.split()) >= 3, f"{block.id}: say why the block is not run"
        return
    node = block.runner
    assert node and re.fullmatch(r"tests/test_\w+\.py::test_\w+", node), f"{block.id}: {node!r} is no test"
    path, name = node.split("::")
    assert (ROOT / path).is_file(), f"{block.id}: no {path}"
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    test = getattr(module, name, None)
    assert test is not None, f"{block.id}: {path} has no {name}"
    # Pytest makes a case of each parametrize value: the named test gets this block.
    assert block.id in docs.parametrized_blocks(test), f"{block.id}: {node} does not take it (use @docs.examples)"


@pytest.mark.parametrize("page", PAGES)
def test_markers_stand_right_above_a_fence(page: str) -> None:
    lines = docs.text(page).splitlines()
    for number, line in enumerate(lines, 1):
        if line.startswith("<!--") and re.search(r"\b(run|not-run|curl-session)\b", line):
            assert docs.MARKER.match(line.strip()), f"{page}:{number}: not a marker: {line!r}"
            assert number < len(lines) and docs.FENCE.match(lines[number]), f"{page}:{number}: no fence below"


def prose(page: str) -> str:
    """A page without its fenced blocks and code spans (links there are code, not links)."""
    lines = docs.text(page).splitlines()
    for block in docs.blocks(page):
        end = block.line + block.text.count("\n")
        lines[block.line - 1 : end + 1] = [""] * (end + 2 - block.line)
    return re.sub(r"`[^`]*`", "", "\n".join(lines))


def anchors(page: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", prose(page), re.MULTILINE):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in found:
            n += 1
            candidate = f"{slug}-{n}"
        found.add(candidate)
    return found


def links(page: str) -> list[str]:
    text = prose(page)
    inline = re.findall(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", text)
    defined = re.findall(r"^\s*\[[^\]]+\]:\s*(\S+)", text, re.MULTILINE)
    return inline + defined


@pytest.mark.parametrize("page", PAGES)
def test_every_relative_link_lands(page: str) -> None:
    broken = []
    for target in links(page):
        if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", target):  # https:, mailto: …
            continue
        path, _, anchor = target.partition("#")
        resolved = (ROOT / page).parent / path if path else ROOT / page
        if not resolved.exists():
            broken.append(f"{target}: no {resolved.relative_to(ROOT) if resolved.is_relative_to(ROOT) else resolved}")
        elif anchor and resolved.suffix == ".md":
            relative = Path(resolved).resolve().relative_to(ROOT).as_posix()
            if anchor not in anchors(relative):
                broken.append(f"{target}: no heading #{anchor} in {relative}")
    assert not broken, f"{page}: {broken}"


def test_the_link_check_sees_links() -> None:
    assert "docs/faults.md" in links("README.md")
    assert "../SECURITY.md" in links("docs/control-api.md")
    assert {"a-curl-session", "testing-your-client", "links"} <= anchors("README.md")
