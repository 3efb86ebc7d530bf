"""A new project with nothing but ``pip install omnitron-mock`` gets working fixtures.

Builds this checkout's wheel, installs it into an empty virtual environment
(dependencies from the package index) and runs a user's test file there, in
both modes. Slow (a real install), and the truest check of the packaging.

The same wheel then goes into a crowded project: one with packages of its own
named ``contracts``, ``mockserver`` and ``pytest_plugin`` (the generic names
the wheel once installed), beside MockServer's official client
``mockserver-client`` (import name ``mockserver``) in the same environment.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests import docs

ROOT = Path(__file__).resolve().parents[1]
# The first plugin example of docs/plugin.md, a user's test file.
USER_TEST = next((block for block in docs.all_blocks() if block.file_name == "test_shipping_sync.py"), None)
# Every top-level name the wheel installs: distinctive, so no project's own package is shadowed.
IMPORT_NAMES = {"omnitron_mock", "omnitron_mock_pytest"}
PROJECT_PACKAGES = ("contracts", "mockserver", "pytest_plugin")
# Modules that loading the plugin must not import (tests/test_plugin.py has the same list).
HEAVY_MODULES = ("flask", "jsonschema", "referencing", "waitress", "werkzeug", "requests", "responses")
# Builds the wheel and pip-installs it into new virtual environments.
pytestmark = pytest.mark.slow


def run(
    *command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout's wheel, built once for the module."""
    folder = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", folder, ROOT)
    [built] = folder.glob("omnitron_mock-*.whl")
    return built


def new_venv(folder: Path, *requirements: str | Path) -> Path:
    run(sys.executable, "-m", "venv", folder)
    python = folder / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", *requirements)
    return python


@pytest.fixture(scope="module")
def fresh_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return new_venv(tmp_path_factory.mktemp("fresh-install") / "venv", wheel)


@pytest.fixture(scope="module")
def crowded_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel beside ``mockserver-client`` (from the package index)."""
    return new_venv(tmp_path_factory.mktemp("crowded-install") / "venv", wheel, "mockserver-client")


@pytest.mark.parametrize("mode", ["live", "inprocess"])
def test_a_new_project_passes_with_only_the_package_installed(fresh_venv: Path, tmp_path: Path, mode: str) -> None:
    assert USER_TEST, "docs/plugin.md's first example (test_shipping_sync.py) is missing"
    (tmp_path / "test_shipping_sync.py").write_text(USER_TEST.text.split("\n", 1)[1])
    result = run(fresh_venv, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--omnitron-mode", mode, cwd=tmp_path)
    assert re.search(r"^2 passed", result.stdout, re.MULTILINE), result.stdout


def test_the_installed_package_brings_contracts_and_cli(fresh_venv: Path, tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text('{"orderitem_set": [{"id": 1, "status": "450"}]}')
    cli = fresh_venv.parent / "omnitron-mock"
    assert "valid bulk-status-update-request" in run(cli, "validate", "bulk-status-update-request", body).stdout
    listed = run(fresh_venv, "-m", "pytest", "--fixtures", "-p", "no:cacheprovider", cwd=tmp_path).stdout
    assert "omnitron -- " in listed
    # The contracts come from the wheel (omnitron_mock/contract_data), not from any checkout.
    where = run(fresh_venv, "-c", "from omnitron_mock import contracts; print(contracts.data_root())", cwd=tmp_path)
    assert Path(where.stdout.strip()).parts[-2:] == ("omnitron_mock", "contract_data")
    assert "site-packages" in Path(where.stdout.strip()).parts
    # The generated bundles and types ship beside their sources, and match them.
    check = run(fresh_venv, "-m", "omnitron_mock.contracts.build", "--check", cwd=tmp_path)
    assert "generated files in contract_data/ are up to date" in check.stdout


def test_the_wheel_installs_only_distinctive_import_names(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    top_level = {name.split("/", 1)[0] for name in names}
    assert {name for name in top_level if not name.endswith(".dist-info")} == IMPORT_NAMES
    # contracts/ ships as data inside the server package, its Python beside it.
    assert "omnitron_mock/contract_data/openapi.json" in names
    assert "omnitron_mock/contract_data/schemas/bulk-status-update-request.json" in names
    assert "omnitron_mock/contract_data/bundles/omnitron-mock.schema.json" in names
    assert "omnitron_mock/contract_data/bundles/strict/bulk-status-update-request.json" in names
    assert "omnitron_mock/contract_data/types/index.d.ts" in names
    assert not [name for name in names if name.startswith("omnitron_mock/contract_data/") and name.endswith(".py")]
    assert {"omnitron_mock/py.typed", "omnitron_mock_pytest/py.typed"} <= set(names)
    dist_info = next(name.split("/", 1)[0] for name in names if name.endswith(".dist-info/METADATA"))
    assert f"{dist_info}/licenses/LICENSE" in names or f"{dist_info}/LICENSE" in names
    with zipfile.ZipFile(wheel) as archive:
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
    assert "omnitron = omnitron_mock_pytest.plugin" in entry_points
    assert "omnitron-mock = omnitron_mock.cli:main" in entry_points


# -- a project with packages of its own under the generic names ------------------------------------

OWN_PACKAGES_TEST = """
import sys
from pathlib import Path

import contracts
import mockserver
import pytest_plugin
import requests

HERE = Path(__file__).resolve().parent


def test_its_own_packages_stay_its_own():
    for package in (contracts, mockserver, pytest_plugin):
        assert package.MARK == f"the project-owned {package.__name__}"
        assert Path(package.__file__).resolve().parent.parent == HERE


def test_the_emulator_answers_through_the_fixture(omnitron):
    login = requests.post(
        f"{omnitron.base_url}/auth/login/",
        json={"username": omnitron.username, "password": omnitron.password},
        timeout=10,
    )
    assert login.status_code == 200, login.text
    answer = requests.patch(
        f"{omnitron.base_url}/order_items/bulk_status_update/",
        json={"orderitem_set": [{"id": 1, "status": "450"}]},
        headers={"Authorization": f"Token {login.json()['key']}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    omnitron.assert_item(1, status="450")


def test_and_its_packages_are_still_its_own_afterwards():
    test_its_own_packages_stay_its_own()
    assert sys.modules["contracts"] is contracts
"""

# Stands in for a platform without fcntl (Windows): loaded at interpreter start
# (PYTHONPATH), so it is in effect before pytest loads any plugin.
NO_FCNTL_SITECUSTOMIZE = '''
import sys


class _NoFcntl:
    """A meta path finder that makes ``import fcntl`` fail, as on Windows."""

    def find_spec(self, name, path=None, target=None):
        if name == "fcntl":
            raise ModuleNotFoundError("No module named 'fcntl' (blocked: no POSIX locking here)", name=name)
        return None


assert "fcntl" not in sys.modules and "omnitron_mock_pytest" not in sys.modules
sys.meta_path.insert(0, _NoFcntl())
'''

NO_FCNTL_TEST = """
import sys

import pytest


def test_fcntl_is_unimportable_here():
    with pytest.raises(ImportError):
        import fcntl  # noqa: F401
    assert "omnitron_mock.store.sqlite" not in sys.modules


def test_the_sqlite_store_says_it_is_posix_only(tmp_path):
    from omnitron_mock import Settings, create_app

    with pytest.raises(RuntimeError, match="multi-process SQLite locking is POSIX-only"):
        create_app(Settings(db=str(tmp_path / "state.db")))
"""


def crowded_project(folder: Path) -> Path:
    for name in PROJECT_PACKAGES:
        (folder / name).mkdir(parents=True)
        (folder / name / "__init__.py").write_text(f'MARK = "the project-owned {name}"\n')
    (folder / "test_own_packages.py").write_text(OWN_PACKAGES_TEST)
    return folder


def run_pytest(python: Path, project: Path, *args: str, env: dict[str, str] | None = None) -> str:
    # mockserver-client's own pytest plugin (``mockserver.pytest_plugin``) cannot load in a
    # project whose own ``mockserver`` package shadows the client's: a clash between those
    # two that omnitron-mock has no part in, so this project turns that plugin off.
    command = (python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:mockserver", *args)
    return run(*command, cwd=project, env=env).stdout


@pytest.mark.parametrize("mode", ["live", "inprocess"])
def test_a_project_with_its_own_generic_packages_passes(crowded_venv: Path, tmp_path: Path, mode: str) -> None:
    project = crowded_project(tmp_path)
    output = run_pytest(crowded_venv, project, "--omnitron-mode", mode)
    assert re.search(r"^3 passed", output, re.MULTILINE), output


BOTH_PLUGINS_TEST = '''
import base64
import hashlib
from importlib.metadata import distribution

import mockserver
from mockserver import MockServerClient


def changed_files(name):
    """Installed files of a distribution whose bytes differ from its RECORD (overwritten by another)."""
    changed = []
    for file in distribution(name).files:
        if file.hash is not None:
            digest = hashlib.new(file.hash.mode, file.locate().read_bytes()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != file.hash.value:
                changed.append(str(file))
    return changed


def test_neither_distribution_overwrote_the_other():
    assert changed_files("mockserver-client") == []
    assert changed_files("omnitron-mock") == []
    assert "site-packages" in mockserver.__file__ and MockServerClient.__module__.startswith("mockserver")


def test_both_plugins_load(request, omnitron):
    assert request.config.pluginmanager.has_plugin("mockserver")
    assert request.config.pluginmanager.has_plugin("omnitron")
    omnitron.assert_item(1, status="400")
'''


def test_mockserver_client_keeps_its_package_and_plugin(crowded_venv: Path, tmp_path: Path) -> None:
    """Installed together, neither distribution overwrites a file of the other,
    and both pytest plugins load in one run (a project without a ``mockserver`` of its own)."""
    (tmp_path / "test_both.py").write_text(BOTH_PLUGINS_TEST)
    output = run(crowded_venv, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=tmp_path).stdout
    assert re.search(r"^2 passed", output, re.MULTILINE), output


def test_the_crowded_project_passes_in_process_without_fcntl(crowded_venv: Path, tmp_path: Path) -> None:
    project = crowded_project(tmp_path / "project")
    (project / "test_no_fcntl.py").write_text(NO_FCNTL_TEST)
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_FCNTL_SITECUSTOMIZE)
    env = {**_environment(), "PYTHONPATH": str(site)}
    output = run_pytest(crowded_venv, project, "--omnitron-mode", "inprocess", env=env)
    assert re.search(r"^5 passed", output, re.MULTILINE), output


def test_loading_the_installed_plugin_imports_nothing_heavy(fresh_venv: Path, tmp_path: Path) -> None:
    """A run whose tests never ask for the fixture pays for no emulator import."""
    (tmp_path / "test_unrelated.py").write_text(
        "import sys\n\n"
        "def test_nothing_heavy_was_imported(request):\n"
        "    assert request.config.pluginmanager.has_plugin('omnitron')\n"
        f"    heavy = [name for name in {HEAVY_MODULES!r} if name in sys.modules]\n"
        "    assert heavy == []\n"
        "    assert [name for name in sys.modules if name.startswith('omnitron_mock.')] == []\n"
    )
    output = run(fresh_venv, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=tmp_path).stdout
    assert re.search(r"^1 passed", output, re.MULTILINE), output


def _environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
