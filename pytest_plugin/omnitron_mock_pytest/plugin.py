"""pytest plugin ``omnitron``: fixtures over the emulator core.

Registered through the ``pytest11`` entry point; ``-p no:omnitron`` turns it off.

pytest loads this module in every run of every project that has omnitron-mock
installed, so it imports pytest and the standard library only: the emulator
(Flask, jsonschema, waitress, werkzeug, the schemas) is imported by the
fixtures, when a test first asks for one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from omnitron_mock.config import Settings

    from omnitron_mock_pytest.handle import Credentials, EmulatorHandle, SeedSource

MODES = ("live", "inprocess", "remote")
# Remote mode: where the emulator runs, and the admin token its control API wants.
URL_VARIABLE = "OMNITRON_MOCK_URL"
ADMIN_TOKEN_VARIABLE = "OMNITRON_MOCK_ADMIN_TOKEN"
# --omnitron-url (a real Omnitron): the user, from the environment when not on the command line.
REAL_USERNAME_VARIABLE = "OMNITRON_USERNAME"
REAL_PASSWORD_VARIABLE = "OMNITRON_PASSWORD"
_HANDLE: pytest.StashKey[EmulatorHandle] = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("omnitron", "omnitron-mock: test Omnitron clients against the emulator")
    group.addoption(
        "--omnitron-mode",
        choices=MODES,
        default=None,
        help="live: a real HTTP server on 127.0.0.1 (default); inprocess: requests served through responses; "
        "remote: an emulator running elsewhere (--omnitron-mock-url); remote is the default when a URL is given",
    )
    group.addoption(
        "--omnitron-mock-url",
        metavar="URL",
        help=f"drive the emulator running at URL over its control API (or {URL_VARIABLE}); "
        f"its admin token, if it has one, from {ADMIN_TOKEN_VARIABLE}",
    )
    group.addoption("--omnitron-url", metavar="URL", help="run the omnitron tests against this real Omnitron instead")
    group.addoption(
        "--omnitron-username", metavar="NAME", help=f"user for --omnitron-url (or {REAL_USERNAME_VARIABLE})"
    )
    group.addoption(
        "--omnitron-password",
        metavar="PASSWORD",
        help=f"password for --omnitron-url; prefer {REAL_PASSWORD_VARIABLE}: command lines show in ps and CI logs",
    )
    group.addoption(
        "--omnitron-allow-writes",
        action="store_true",
        help="with --omnitron-url, also run tests not marked omnitron_readonly (they may change real data)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "omnitron(seed=None, replace=False, strict=None): seed the emulator for this test "
        "(a seed document or a JSON file path; replace=True drops the default orders first) "
        "and switch strict status rules on or off",
    )
    config.addinivalue_line(
        "markers",
        "omnitron_allow_contract_violations: this test sends requests that break the contract on purpose; "
        "do not fail it for them",
    )
    config.addinivalue_line(
        "markers", "omnitron_readonly: this test changes no data, so it also runs against a real Omnitron"
    )


# -- settings: small fixtures to override in a conftest.py ---------------------------------------


@pytest.fixture(scope="session")
def omnitron_mock_url(pytestconfig: pytest.Config) -> str | None:
    """The running emulator remote mode drives: ``--omnitron-mock-url`` or ``OMNITRON_MOCK_URL``."""
    return pytestconfig.getoption("omnitron_mock_url") or os.environ.get(URL_VARIABLE) or None


@pytest.fixture(scope="session")
def omnitron_mode(pytestconfig: pytest.Config, omnitron_mock_url: str | None) -> str:
    """``"live"``, ``"inprocess"`` or ``"remote"``; from ``--omnitron-mode``,
    else ``"remote"`` when an emulator URL is given, else ``"live"``.
    Override to fix a project's mode."""
    return pytestconfig.getoption("omnitron_mode") or ("remote" if omnitron_mock_url else "live")


@pytest.fixture(scope="session")
def omnitron_settings() -> Settings:
    """Emulator settings for the session (limits, enum extensions, default strictness)."""
    from omnitron_mock.config import Settings

    return Settings()


@pytest.fixture(scope="session")
def omnitron_credentials() -> Credentials:
    """The user the emulator knows and tests log in as; the development user by default."""
    from omnitron_mock.config import DEV_PASSWORD, DEV_TOKEN, DEV_USERNAME

    from omnitron_mock_pytest.handle import Credentials

    return Credentials(DEV_USERNAME, DEV_PASSWORD, DEV_TOKEN)


@pytest.fixture(scope="session")
def omnitron_inprocess_url() -> str:
    """Base URL intercepted in in-process mode (default ``http://omnitron.test``)."""
    from omnitron_mock_pytest.inprocess import DEFAULT_URL

    return DEFAULT_URL


@pytest.fixture
def omnitron_strict() -> bool:
    """Strict status rules for each test (default off); the ``omnitron`` marker overrides it."""
    return False


@pytest.fixture
def omnitron_seed() -> SeedSource | None:
    """A seed loaded before each test on top of the default seed (a document or a file path)."""
    return None


# -- the emulator -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _omnitron_emulators() -> Iterator[dict[tuple[Any, ...], Any]]:
    """The session's emulators, one per mode and configuration the tests asked
    for (a folder's conftest may choose its own mode); all stopped at the end."""
    running: dict[tuple[Any, ...], Any] = {}
    try:
        yield running
    finally:
        if running:
            from omnitron_mock_pytest.remote import RemoteOmnitron

            problems = []
            for emulator in running.values():
                # A real Omnitron is left as it is.
                if isinstance(emulator, RemoteOmnitron):
                    continue
                try:
                    emulator.stop()
                except Exception as problem:
                    # Stop the others all the same; the first failure is reported.
                    problems.append(problem)
            if problems:
                raise problems[0]


@pytest.fixture
def omnitron_session(
    pytestconfig: pytest.Config,
    omnitron_mode: str,
    omnitron_settings: Settings,
    omnitron_credentials: Credentials,
    omnitron_inprocess_url: str,
    omnitron_mock_url: str | None,
    _omnitron_emulators: dict[tuple[Any, ...], Any],
) -> Any:
    """The emulator of this test's mode: a live server on 127.0.0.1 (port 0,
    background thread), an in-process app, or an emulator running elsewhere
    (remote); with ``--omnitron-url``, the real Omnitron. Each one starts when a
    test first needs it and serves the rest of the session: tests whose
    folders choose different modes (or settings) each get their own."""
    url = pytestconfig.getoption("omnitron_url")
    if url:
        key: tuple[Any, ...] = ("real", url)
    else:
        if omnitron_mode not in MODES:
            raise pytest.UsageError(f"omnitron_mode must be one of {MODES}, got {omnitron_mode!r}")
        key = (omnitron_mode, repr(omnitron_settings), omnitron_credentials, omnitron_inprocess_url, omnitron_mock_url)
    emulator = _omnitron_emulators.get(key)
    if emulator is None:
        try:
            emulator = _start(
                pytestconfig,
                url,
                omnitron_mode,
                omnitron_settings,
                omnitron_credentials,
                omnitron_inprocess_url,
                omnitron_mock_url,
            )
        except Exception as problem:
            # Kept: the next test gets the same error at once, without another
            # login (a real Omnitron may lock the account) or another timeout.
            emulator = _Failed(problem)
        _omnitron_emulators[key] = emulator
    if isinstance(emulator, _Failed):
        raise emulator.problem
    return emulator


class _Failed:
    """An emulator that could not be started, and why."""

    def __init__(self, problem: Exception) -> None:
        self.problem = problem

    def stop(self) -> None:
        """Nothing runs."""


def _start(
    pytestconfig: pytest.Config,
    url: str | None,
    mode: str,
    settings: Settings,
    credentials: Credentials,
    inprocess_url: str,
    mock_url: str | None,
) -> Any:
    from omnitron_mock_pytest.remote import RemoteOmnitron
    from omnitron_mock_pytest.sessions import InProcessEmulator, LiveEmulator, RemoteEmulator

    if url:
        username = pytestconfig.getoption("omnitron_username") or os.environ.get(REAL_USERNAME_VARIABLE, "")
        password = pytestconfig.getoption("omnitron_password") or os.environ.get(REAL_PASSWORD_VARIABLE, "")
        return RemoteOmnitron(url, username, password)
    if mode == "remote":
        if not mock_url:
            raise pytest.UsageError(f"remote mode needs the emulator's URL: --omnitron-mock-url or {URL_VARIABLE}")
        from omnitron_mock.config import Settings as DefaultSettings

        if settings != DefaultSettings():
            raise pytest.UsageError(
                "omnitron_settings cannot reach a remote emulator: configure it where it runs "
                "(omnitron-mock serve flags or OMNITRON_MOCK_* variables), and leave the fixture at its default"
            )
        return RemoteEmulator.start(mock_url, credentials, os.environ.get(ADMIN_TOKEN_VARIABLE) or None)
    if mode == "live":
        return LiveEmulator.start(settings, credentials)
    return InProcessEmulator.start(settings, credentials, inprocess_url)


@pytest.fixture
def omnitron(
    request: pytest.FixtureRequest, omnitron_session: Any, omnitron_strict: bool, omnitron_seed: SeedSource | None
) -> Iterator[EmulatorHandle]:
    """The emulator for one test, reset to the session's seed before it starts.

    Gives ``base_url`` (``…/api/i1``), ``sdk_base_url``, ``token``, ``headers``,
    ``username``/``password``; ``seed(...)``, ``item(id)``, ``order(id)``,
    ``items(order=...)``; the journal (``requests(...)``, ``last_request``);
    assertions (``assert_item``, ``assert_called``, ``assert_not_called``,
    ``assert_contract_clean``). The test fails when the code under test sent
    a request that breaks the contract, unless marked
    ``omnitron_allow_contract_violations``.
    """
    from omnitron_mock_pytest.remote import RemoteOmnitron
    from omnitron_mock_pytest.sessions import InProcessEmulator, LiveEmulator, RemoteEmulator

    marker = request.node.get_closest_marker("omnitron")
    options = dict(marker.kwargs) if marker else {}
    if isinstance(omnitron_session, RemoteOmnitron):
        _check_remote_allowed(request, options)
        # The real-Omnitron stand-in offers the handle's read-only part.
        yield omnitron_session  # type: ignore[misc]
        return
    handle = omnitron_session.handle()
    handle.reset()
    # strict=None in the marker means "as the omnitron_strict fixture says".
    marked = options.get("strict")
    handle.set_strict(bool(omnitron_strict if marked is None else marked))
    if omnitron_seed is not None:
        handle.seed(_resolve(request, omnitron_seed))
    if options.get("seed") is not None:
        handle.seed(_resolve(request, options["seed"]), replace=options.get("replace", False))
    transport = omnitron_session.transport().start() if isinstance(omnitron_session, InProcessEmulator) else None
    if isinstance(omnitron_session, (LiveEmulator, RemoteEmulator)):
        _let_through_responses(handle.url)
    request.node.stash[_HANDLE] = handle
    try:
        yield handle
    finally:
        if transport is not None:
            transport.stop()


def _let_through_responses(url: str) -> None:
    """Calls to the live emulator pass ``responses``' default mock, so a test
    under ``@responses.activate`` (stubbing other services) still reaches it.
    ``responses`` empties its pass-through list when such a test ends; each
    test adds the emulator again."""
    import responses

    if url not in responses.mock.passthru_prefixes:
        responses.mock.add_passthru(url)


def _resolve(request: pytest.FixtureRequest, source: SeedSource) -> SeedSource:
    # A relative seed path reads from the test file's folder, as fixtures files do.
    if isinstance(source, (str, Path)) and not Path(source).is_absolute():
        return request.path.parent / source
    return source


def _check_remote_allowed(request: pytest.FixtureRequest, options: dict[str, Any]) -> None:
    if options.get("seed") is not None:
        pytest.skip("seeds the emulator; a real Omnitron cannot be seeded")
    readonly = request.node.get_closest_marker("omnitron_readonly") is not None
    if not readonly and not request.config.getoption("omnitron_allow_writes"):
        pytest.skip("may change data on the real Omnitron: mark it omnitron_readonly or pass --omnitron-allow-writes")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    try:
        result = yield
    except BaseException as error:
        remote = sys.modules.get("omnitron_mock_pytest.remote")
        if remote is not None and isinstance(error, remote.EmulatorOnly):
            # Against a real Omnitron, a test that needs the emulator is skipped, whatever it called.
            pytest.skip(str(error))
        # The test failed on its own: the guard's findings may explain why.
        try:
            lines = _guard_findings(item)
        except Exception:
            # The test's own failure is the one to report (a remote emulator may be gone).
            lines = []
        if lines:
            item.add_report_section("call", "omnitron contract", "\n".join(lines))
        raise
    lines = _guard_findings(item)
    if lines:
        report = "\n".join(f"  {line}" for line in lines)
        pytest.fail(
            "the code under test sent requests that break the Omnitron request contract "
            f"(mark the test omnitron_allow_contract_violations if that is on purpose):\n{report}",
            pytrace=False,
        )
    return result


def _guard_findings(item: pytest.Item) -> list[str]:
    """The contract guard's lines for this test's requests (none when it is off)."""
    handle = item.stash.get(_HANDLE, None)
    if handle is None or item.get_closest_marker("omnitron_allow_contract_violations") is not None:
        return []
    return handle.contract_violations()
