"""The Dockerfile: lint clean, and the image it builds works from outside."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.helpers import in_ci
from tests.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[1]
HADOLINT = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")


def test_hadolint_reports_nothing() -> None:
    result = subprocess.run([HADOLINT, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_dockerignore_lets_through_exactly_what_the_image_copies() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in ignore, "the context must start from nothing"
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copies = [line.split()[1:-1] for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("COPY ")]
    copied = {source.rstrip("/") for sources in copies for source in sources}
    assert copied == allowed


def _docker_possible() -> bool:
    if shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
        return True
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


@pytest.mark.docker
def test_docker_smoke() -> None:
    """Builds and runs the image: login, bulk, error, restart keeping state (minutes on a new machine).

    Of the docker tier (tests/conftest.py): only CI=true or `-m docker` gets here."""
    if not in_ci() and not _docker_possible():
        pytest.skip("docker tier: no Docker engine, and starting one needs root and apt-get (CI always runs this)")
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "docker" / "smoke.py")], capture_output=True, text=True, timeout=3600
    )
    print(result.stdout[-5000:])
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    assert "all checks passed" in result.stdout


def _server_requirements() -> list[str]:
    """Runs the Dockerfile's own command that lists what the image installs beside the package."""
    line = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if "python3 -c '" in line)
    program = line.split("python3 -c '", 1)[1].rsplit("' >", 1)[0]
    result = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def _name(requirement: str) -> str:
    return requirement.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip().lower()


def test_the_image_installs_every_dependency_but_the_test_kit_and_its_extras() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    dependencies = {_name(requirement) for requirement in project["project"]["dependencies"]}
    ours = project["tool"]["omnitron-mock"]
    kit = set(ours["test-kit-dependencies"])
    assert kit <= dependencies, f"test-kit-dependencies names what is no dependency: {kit - dependencies}"
    # A container may keep its state in PostgreSQL (docs/shared-deployment.md).
    assert "postgres" in ours["image-extras"]
    optional = project["project"]["optional-dependencies"]
    extras = [requirement for extra in ours["image-extras"] for requirement in optional[extra]]
    installed = _server_requirements()
    assert {_name(requirement) for requirement in installed} == (dependencies - kit) | {_name(r) for r in extras}
    # As the extra words them: psycopg with its prebuilt libpq (no compiler or libpq in the image).
    assert set(extras) <= set(installed)
    assert "psycopg[binary]" in {requirement.split(">")[0] for requirement in installed}


BLOCK_TEST_KIT = """
import importlib.abc, sys
class TestKitBlocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {KIT}:
            raise ImportError(f"{name} is the test kit's, absent from the image")
sys.meta_path.insert(0, TestKitBlocked())
"""


def _serve_without_the_test_kit(db: str | None) -> subprocess.CompletedProcess[str]:
    """Every module imported, then a login and a bulk served from ``db``, with the test kit blocked."""
    kit = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["omnitron-mock"]["test-kit-dependencies"]
    program = BLOCK_TEST_KIT.replace("{KIT}", repr({*kit, "_pytest"})) + (
        "import pkgutil, importlib, omnitron_mock\n"
        "for module in pkgutil.walk_packages(omnitron_mock.__path__, 'omnitron_mock.'):\n"
        "    if not module.name.endswith('__main__'): importlib.import_module(module.name)\n"
        "from omnitron_mock import Settings\n"
        "from omnitron_mock.app import create_app\n"
        f"client = create_app(Settings(db={db!r})).test_client()\n"
        "from omnitron_mock.config import DEV_USERNAME, DEV_PASSWORD\n"
        "login = client.post('/api/i1/auth/login/', json={'username': DEV_USERNAME, 'password': DEV_PASSWORD})\n"
        "bulk = client.patch('/api/i1/order_items/bulk_status_update/',\n"
        "                    json={'orderitem_set': [{'id': 2, 'status': '500'}]},\n"
        "                    headers={'Authorization': 'Token ' + login.json['key']})\n"
        "print(login.status_code, bulk.status_code)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT / "mockserver", capture_output=True, text=True, timeout=120
    )


def test_the_server_runs_without_the_test_kit() -> None:
    """What the image leaves out is never imported by the server: every module loads and serves with it blocked."""
    result = _serve_without_the_test_kit(None)
    assert (result.returncode, result.stdout.strip()) == (0, "200 200"), result.stderr


def test_the_server_serves_from_postgresql_without_the_test_kit(postgres_server: PostgresServer) -> None:
    """What the image carries is enough for a postgresql:// OMNITRON_MOCK_DB."""
    result = _serve_without_the_test_kit(postgres_server.create_database("image_without_test_kit"))
    assert (result.returncode, result.stdout.strip()) == (0, "200 200"), result.stderr
