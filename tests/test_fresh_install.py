"""A new project with nothing but ``pip install omnitron-mock`` gets working fixtures.

Builds this checkout's wheel, installs it into an empty virtual environment
(dependencies from the package index) and runs a user's test file there, in
both modes. Slow (a real install), and the truest check of the packaging.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text("utf-8")
USER_TEST = re.search(r"```python\n# file: test_shipping_sync.py\n(.*?)```", README, re.DOTALL)


def run(*command: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("fresh-install")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", workdir / "dist", ROOT)
    [wheel] = (workdir / "dist").glob("omnitron_mock-*.whl")
    run(sys.executable, "-m", "venv", workdir / "venv")
    python = workdir / "venv" / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", wheel)
    return python


@pytest.mark.parametrize("mode", ["live", "inprocess"])
def test_a_new_project_passes_with_only_the_package_installed(fresh_venv: Path, tmp_path: Path, mode: str) -> None:
    assert USER_TEST, "the README's first plugin example is missing"
    (tmp_path / "test_shipping_sync.py").write_text(USER_TEST.group(1))
    result = run(fresh_venv, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--omnitron-mode", mode, cwd=tmp_path)
    assert re.search(r"^2 passed", result.stdout, re.MULTILINE), result.stdout


def test_the_installed_package_brings_contracts_and_cli(fresh_venv: Path, tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text('{"orderitem_set": [{"id": 1, "status": "450"}]}')
    cli = fresh_venv.parent / "omnitron-mock"
    assert "valid bulk-status-update-request" in run(cli, "validate", "bulk-status-update-request", body).stdout
    listed = run(fresh_venv, "-m", "pytest", "--fixtures", "-p", "no:cacheprovider", cwd=tmp_path).stdout
    assert "omnitron -- " in listed
