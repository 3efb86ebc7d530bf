"""Shared fixtures: an emulator app per test, a client whose every emulated
response is checked against its contract, and helpers to read the state;
and the test tiers."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from hypothesis import settings
from omnitron_mock import DEV_TOKEN, Settings, create_app, emulator_of
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


# The HTTP tests run on every store. On PostgreSQL a local run takes only
# these modules, whose answers rest most on what each store implements apart
# (bulk writes, order filters and sorts, mappings, dates, seeds, resets, the
# journal's trimming, fault counters, concurrency); CI=true, or -m postgres,
# runs all of them there. The whole HTTP suite on PostgreSQL would add about
# 90% to a local run; these add about 20%.
POSTGRES_LOCAL_MODULES = frozenset(
    {
        "test_bulk_update.py",
        "test_concurrency.py",
        "test_control_api.py",
        "test_create_mapping.py",
        "test_fault_delays.py",
        "test_fault_journal.py",
        "test_journal_budget.py",
        "test_modified_date.py",
        "test_order_list.py",
        "test_order_seeds.py",
        "test_order_update.py",
        "test_out_of_range.py",
        "test_read_back.py",
        "test_service.py",
    }
)
# How many PostgreSQL runs of HTTP tests a local run left out (said in its summary).
_LEFT_OUT: list[int] = [0]


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
    if "postgres" not in named:
        # Left out, not skipped: a skip would list every test function in the summary.
        left_out = [
            item
            for item in items
            if item.get_closest_marker("postgres") is not None and item.path.name not in POSTGRES_LOCAL_MODULES
        ]
        if left_out:
            config.hook.pytest_deselected(items=left_out)
            kept = set(map(id, left_out))
            items[:] = [item for item in items if id(item) not in kept]
            _LEFT_OUT[0] = len(left_out)


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


# PostgreSQL's runs carry the marker `postgres` (see POSTGRES_LOCAL_MODULES).
STORE_KINDS = ("memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres))
# Databases made for apps on the PostgreSQL store, numbered within the run.
_DATABASE_NUMBERS = itertools.count(1)


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    """Every HTTP test runs once per store implementation (PostgreSQL's skip,
    saying why, where its binaries are missing; they fail in CI)."""
    return request.param


def new_app(
    store_kind: str, settings: Settings, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Any, Callable[[], None]]:
    """A new app with ``settings`` on a new, empty database of ``store_kind``
    (a SQLite file of its own, a database of its own on the run's PostgreSQL
    server, or none: memory), and what releases it: closing its store's
    connections and dropping its PostgreSQL database. Open pools left behind
    would reach the server's max_connections."""
    if store_kind == "sqlite":
        settings = replace(settings, db=str(tmp_path_factory.mktemp("emulator") / "emulator.db"))
    if store_kind != "postgres":
        return create_app(settings), lambda: None
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"app_{next(_DATABASE_NUMBERS)}"
    application = create_app(replace(settings, db=server.create_database(name)))

    def release() -> None:
        emulator_of(application).store.close()
        server.drop_database(name)

    return application, release


@dataclass
class ModuleApps:
    """The apps of one test module, by store and settings, and what releases them."""

    by_key: dict[str, Any] = field(default_factory=dict)
    releases: list[Callable[[], None]] = field(default_factory=list)


@pytest.fixture(scope="module")
def _module_apps() -> Iterator[ModuleApps]:
    """The apps of one test module (see ``make_app``), released when the module ends."""
    apps = ModuleApps()
    yield apps
    for release in apps.releases:
        release()


@pytest.fixture
def make_app(
    store_kind: str,
    _module_apps: ModuleApps,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[Settings], Any]:
    """``make_app(settings)``: an emulator app with these settings, as it starts.

    The module's first test to ask for given settings and store gets a new app
    (with a database of its own for SQLite and PostgreSQL); later ones get the
    same app after ``POST /_mock/reset``: the startup seed back, the journal
    empty, no faults. Building an app (its routes, templates and database)
    takes tens of milliseconds; thousands of cases share a few apps instead.
    """

    def make(settings: Settings) -> Any:
        key = f"{store_kind}:{settings!r}"
        application = _module_apps.by_key.get(key)
        if application is not None:
            token = {"X-Mock-Admin-Token": settings.admin_token} if settings.admin_token else {}
            assert application.test_client().post("/_mock/reset", headers=token).status_code == 200
            return application
        application, release = new_app(store_kind, settings, request, tmp_path_factory)
        _module_apps.releases.append(release)
        application.test_client_class = ContractCheckedClient
        _module_apps.by_key[key] = application
        return application

    return make


@pytest.fixture
def fresh_app(
    store_kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[Settings], Any]]:
    """``fresh_app(settings)``: a new emulator app of this test's own, on a new
    database of ``store_kind``, released when the test ends. For tests that
    need an emulator no earlier test has touched (``make_app`` shares one per
    module)."""
    releases: list[Callable[[], None]] = []

    def make(settings: Settings) -> Any:
        application, release = new_app(store_kind, settings, request, tmp_path_factory)
        releases.append(release)
        return application

    yield make
    for release in releases:
        release()


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
    if _LEFT_OUT[0]:
        terminalreporter.section("omnitron-mock store runs left out")
        terminalreporter.write_line(
            f"{_LEFT_OUT[0]} HTTP test runs on PostgreSQL outside POSTGRES_LOCAL_MODULES (tests/conftest.py) "
            "were left out: CI=true or -m postgres runs them"
        )
    if ARTIFACTS:
        terminalreporter.section("omnitron-mock artifacts")
        for path in ARTIFACTS:
            terminalreporter.write_line(path)
