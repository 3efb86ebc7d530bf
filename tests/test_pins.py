"""Private attributes of dependencies that the code relies on, and the version
pins in pyproject.toml that keep them: a new major version that drops one
fails here, not in a user's test run."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
import responses
from packaging.requirements import Requirement
from waitress.server import create_server

ROOT = Path(__file__).resolve().parents[1]


def _requirement(name: str, extra: str | None = None) -> Requirement:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    dependencies = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    [found] = [Requirement(line) for line in dependencies if Requirement(line).name == name]
    return found


@pytest.mark.parametrize("name", ["waitress", "responses"])
def test_the_installed_version_is_inside_the_pin(name: str) -> None:
    requirement = _requirement(name)
    assert any(spec.operator == "<" for spec in requirement.specifier), f"{name} needs an upper bound"
    assert requirement.specifier.contains(version(name))


def test_the_sdk_the_loop_is_checked_against_is_pinned_exactly() -> None:
    """tests/test_omnisdk_loop.py drives omnisdk's list iterator and endpoint
    base, which its 0.0.x releases may change: one version, the installed one."""
    [spec] = _requirement("omnisdk", extra="test").specifier
    assert spec.operator == "=="
    assert version("omnisdk") == spec.version


def test_waitress_servers_keep_their_socket_map() -> None:
    """serving.py runs waitress's loop over ``server._map`` and closes it through it."""
    server = create_server(lambda environ, start_response: [], host="127.0.0.1", port=0)
    try:
        assert isinstance(server._map, dict)
        assert server._map, "the listening socket is in the map"
    finally:
        server.close()


def test_responses_mocks_say_whether_they_patch() -> None:
    """In-process mode tells a mock it started from one a user started by ``_patcher``."""
    mock = responses.RequestsMock()
    assert mock._patcher is None
    mock.start()
    try:
        assert mock._patcher is not None
    finally:
        mock.stop(allow_assert=False)
    assert mock._patcher is None
