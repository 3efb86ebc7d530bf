"""CONTRIBUTING.md's walk is the code: each block is in the file it names,
the walk's table lists exactly the files its blocks touch, and a copy of the
repository with every block taken out again is a project whose own tests
pass without the endpoint: the endpoint lives in those blocks and nowhere else."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests import docs
from tests.docs import ROOT, Block

WALK = "tests/test_contributing.py::test_the_walk_is_in_the_code"
# What a copy of the repository needs to run the tests below.
COPIED = ("mockserver", "contracts", "pytest_plugin", "tests", "docs", "pyproject.toml")
ROUTE = "order_number/{number}/"


def _target(block: Block) -> str:
    """The file a walk block belongs in: the word after the test in its marker."""
    assert block.marker is not None
    return block.marker[1].split()[1]


@docs.examples
def test_the_walk_is_in_the_code(example: Block) -> None:
    path = ROOT / _target(example)
    if example.language == "json":
        documented_paths = json.loads(path.read_text("utf-8"))["paths"]
        for template, operations in json.loads(example.text).items():
            assert documented_paths.get(template) == operations, f"{template} differs in {path.name}"
    else:
        found = path.read_text("utf-8").count(example.text)
        assert found == 1, f"the block at CONTRIBUTING.md:{example.line} is in {_target(example)} {found} times"


def test_the_walks_table_lists_the_files_its_blocks_touch() -> None:
    text = (ROOT / "CONTRIBUTING.md").read_text("utf-8")
    table = text[text.index("## Adding an endpoint") : text.index("### 1.")]
    listed = re.findall(r"^\| `([^`]+)` \|", table, re.MULTILINE)
    assert len(listed) == len(set(listed))
    assert set(listed) == {_target(block) for block in docs.run_by(WALK)}


def _without_the_walk(copy: Path) -> None:
    for block in docs.run_by(WALK):
        path = copy / _target(block)
        text = path.read_text("utf-8")
        if block.language == "json":
            document = json.loads(text)
            for template in json.loads(block.text):
                del document["paths"][template]
            path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
        else:
            assert text.count(block.text) == 1
            path.write_text(text.replace(block.text, ""), "utf-8")


def test_without_the_walks_blocks_the_project_passes_without_the_endpoint(tmp_path: Path) -> None:
    copy = tmp_path / "repository"
    ignored = shutil.ignore_patterns("__pycache__", "*.egg-info", ".pytest_cache")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=ignored)
        else:
            shutil.copy2(source, copy / name)
    (copy / "CHANGELOG.md").write_text((ROOT / "CHANGELOG.md").read_text("utf-8"), "utf-8")
    _without_the_walk(copy)
    # The copy's packages first on the path, ahead of the installed (this checkout's) ones.
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(copy / part) for part in ("mockserver", "pytest_plugin", ".")),
    }
    probe = (
        "import omnitron_mock, sys\n"
        "from omnitron_mock import DEV_TOKEN, create_app\n"
        "client = create_app().test_client()\n"
        "auth = {'Authorization': f'Token {DEV_TOKEN}'}\n"
        f"assert omnitron_mock.__file__.startswith({str(copy)!r}), omnitron_mock.__file__\n"
        "number = client.get('/api/i1/orders/1/', headers=auth).get_json()['number']\n"
        "print(client.get(f'/api/i1/order_number/{number}/', headers=auth).status_code)\n"
    )
    probed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=environment, cwd=copy, timeout=120
    )
    assert probed.returncode == 0, probed.stderr
    assert probed.stdout.split() == ["404"], "the endpoint still answers without the walk's blocks"
    tests = ["tests/test_read_back.py", "tests/test_openapi_document.py"]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:omnitron", "-p", "no:cacheprovider", *tests],
        capture_output=True,
        text=True,
        env=environment,
        cwd=copy,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert ROUTE not in (copy / "contracts" / "openapi.json").read_text("utf-8")
