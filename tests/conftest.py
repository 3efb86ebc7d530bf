"""Shared fixtures: an emulator app per test, a client whose every emulated
response is checked against its contract, and helpers to read the state;
and the test tiers."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from hypothesis import settings
from omnitron_mock import DEV_TOKEN, Settings, create_app
from omnitron_mock.serving import HTTPServer

from tests.helpers import ARTIFACTS, FIGURES, ContractCheckedClient, checked_session, get_state, in_ci
from tests.postgres import PostgresServer, PostgresUnavailable, running_postgres

# The tiers a local run skips: a plain `pytest` stays quick and never starts a
# Docker engine, installs system packages or builds wheels on its own. CI
# (CI=true) runs every tier; elsewhere a tier runs when the -m expression names
# it, e.g. `pytest -m docker` or `pytest -m "browser or slow"`.
TIERS = ("docker", "browser", "slow")  # the markers, described in pyproject.toml

# Hypothesis, by profile: CI replays a fixed sequence of 400 examples per
# property, so that a landing never depends on luck; a local run explores 100
# new ones each time. HYPOTHESIS_PROFILE=ci runs CI's profile locally.
settings.register_profile("ci", max_examples=400, derandomize=True)
settings.register_profile("local", max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if in_ci() else "local"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if in_ci():
        return
    named = set(re.findall(r"\w+", config.getoption("markexpr") or ""))
    skips = {
        tier: pytest.mark.skip(reason=f"{tier} tier: runs with CI=true or -m {tier}")
        for tier in TIERS
        if tier not in named
    }
    for item in items:
        for tier, skip in skips.items():
            if item.get_closest_marker(tier) is not None:
                item.add_marker(skip)
                break


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole run (see tests/postgres.py). Without
    Debian's postgresql package a local run skips the tests that need it; CI
    (which installs it in .ci/run) fails them instead."""
    try:
        with running_postgres() as server:
            yield server
    except PostgresUnavailable as missing:
        if in_ci():
            raise
        pytest.skip(str(missing))


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of an empty database on the run's PostgreSQL server."""
    return postgres_server.url


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture(params=["memory", "sqlite"])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Every HTTP test runs once per store implementation."""
    return request.param


@pytest.fixture(scope="module")
def _module_apps() -> dict[str, Any]:
    """The apps of one test module, by store and settings (see ``make_app``)."""
    return {}


@pytest.fixture
def make_app(
    store_kind: str, _module_apps: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[Settings], Any]:
    """``make_app(settings)``: an emulator app with these settings, as it starts.

    The module's first test to ask for given settings and store gets a new app
    (with a database of its own for SQLite); later ones get the same app after
    ``POST /_mock/reset``: the startup seed back, the journal empty, no faults.
    Building an app (its routes, templates and database) takes tens of
    milliseconds; thousands of cases share a few apps instead.
    """

    def make(settings: Settings) -> Any:
        key = f"{store_kind}:{settings!r}"
        application = _module_apps.get(key)
        if application is not None:
            token = {"X-Mock-Admin-Token": settings.admin_token} if settings.admin_token else {}
            assert application.test_client().post("/_mock/reset", headers=token).status_code == 200
            return application
        if store_kind == "sqlite":
            settings = replace(settings, db=str(tmp_path_factory.mktemp("emulator") / "emulator.db"))
        application = create_app(settings)
        application.test_client_class = ContractCheckedClient
        _module_apps[key] = application
        return application

    return make


@pytest.fixture
def app(settings: Settings, make_app: Callable[[Settings], Any]) -> Any:
    """The emulator app with ``settings``, on the store of ``store_kind`` (see ``make_app``)."""
    return make_app(settings)


@pytest.fixture
def client(app: Any) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Token {DEV_TOKEN}"}


@pytest.fixture
def state(client: FlaskClient) -> Any:
    """Call ``state()`` for the current state snapshot."""
    return lambda: get_state(client)


@pytest.fixture
def live_server(app: Any) -> Iterator[HTTPServer]:
    """The same app served over real HTTP on a free loopback port."""
    with HTTPServer(app, host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A ``requests`` session whose every emulated response is contract-checked."""
    with checked_session() as session:
        yield session


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The robustness figures of this run: inputs tried, cases fuzzed, requests sent."""
    if FIGURES:
        terminalreporter.section("omnitron-mock robustness figures")
        for name, count in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{name}: {count}")
    if ARTIFACTS:
        terminalreporter.section("omnitron-mock artifacts")
        for path in ARTIFACTS:
            terminalreporter.write_line(path)
