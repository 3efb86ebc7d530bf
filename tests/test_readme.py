"""The README is the front page: its two commands on the first screen, the test
command the one CI runs, and short. Its examples are run with the docs' own
(tests/test_doc_examples.py, tests/test_plugin_docs.py)."""

from __future__ import annotations

from tests import docs
from tests.docs import Block

ROOT = docs.ROOT
README = docs.text("README.md")


def test_first_screen_has_the_serve_and_the_test_command() -> None:
    serve, test = [block for block in docs.blocks("README.md") if block.language == "sh"][:2]
    assert "omnitron-mock serve" in serve.text
    assert "pytest" in test.text
    assert test.runner == docs.node_of(test_ci_runs_the_readmes_test_command_verbatim)
    assert README.index(test.text) < 2500, "the test command must be on the README's first screen"


@docs.examples
def test_ci_runs_the_readmes_test_command_verbatim(example: Block) -> None:
    assert example.page == "README.md"
    assert example.text.strip() in (ROOT / ".ci" / "run").read_text("utf-8")


def test_the_readme_stays_a_front_page() -> None:
    """Reference belongs in docs/ (docs/README.md lists the pages)."""
    assert len(README.splitlines()) <= 250
    for page in docs.page_names()[1:]:
        if page != "docs/README.md":
            assert f"]({page})" in README, f"the README's contents do not link {page}"
