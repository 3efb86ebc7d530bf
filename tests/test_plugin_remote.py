"""Remote mode: the plugin drives an emulator it did not start (a CI service
container, a shared emulator) over the control API, with the same handle."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from omnitron_mock.seed import DEFAULT_SEED_DOCUMENT

from tests.helpers import serving_command
from tests.test_plugin import ERP_LOOP_TESTS

CLI = [sys.executable, "-m", "omnitron_mock"]
ADMIN_TOKEN = "remote-admin-token"

USER_TESTS = """
import pytest
import requests

BULK = "order_items/bulk_status_update/"


def ship(omnitron, item_id, status="450"):
    body = {"orderitem_set": [{"id": item_id, "status": status}]}
    return requests.patch(f"{omnitron.base_url}/{BULK}", json=body, headers=omnitron.headers, timeout=10)


def test_seed_bulk_and_read_back(omnitron):
    omnitron.seed(orders=[{"id": 7, "number": "N7", "items": [{"id": 70, "status": "400"}]}])
    assert ship(omnitron, 70).status_code == 200
    omnitron.assert_item(70, status="450")
    assert omnitron.order(7)["orderitem_set"] == [70]
    assert [item["id"] for item in omnitron.items(order=7)] == [70]
    [entry] = omnitron.assert_called(path=BULK, method="PATCH", times=1)
    assert entry.status == 200
    with pytest.raises(KeyError):
        omnitron.item(999)


def test_each_test_starts_from_the_session_seed(omnitron):
    with pytest.raises(KeyError):
        omnitron.item(70)
    assert omnitron.requests() == []
    assert omnitron.faults() == []


def test_faults(omnitron):
    fault = omnitron.fail_next(1, status=503, path=BULK)
    assert fault.active
    assert ship(omnitron, 1).status_code == 503
    assert not fault.active
    assert ship(omnitron, 1).status_code == 200
    with omnitron.delay(1, path=BULK) as delayed:
        assert ship(omnitron, 1).status_code == 200
        assert delayed.used == 1
    assert omnitron.faults() == []


@pytest.mark.omnitron(strict=True)
def test_strict_mode_from_the_marker(omnitron):
    assert ship(omnitron, 1, "550").status_code == 200
    assert ship(omnitron, 1, "400").status_code == 400


def test_bad_seed_and_bad_fault_raise_as_in_the_other_modes(omnitron):
    from omnitron_mock.faults import FaultError
    from omnitron_mock.seed import SeedError

    with pytest.raises(SeedError):
        omnitron.seed(orders=[{"id": "seven"}])
    with pytest.raises(FaultError):
        omnitron.add_fault("status", status="x")


def test_the_contract_guard(omnitron):
    body = {"orderitem_set": [{"id": 1, "tracking_no": "TR1"}]}
    requests.patch(f"{omnitron.base_url}/{BULK}", json=body, headers=omnitron.headers, timeout=10)
"""


@pytest.fixture(scope="module")
def remote_url() -> Iterator[str]:
    """An emulator started apart from the tests, with an admin token, as a CI service runs."""
    with serving_command([*CLI, "serve", "--port", "0", "--admin-token", ADMIN_TOKEN]) as (url, _banner):
        yield url


def test_a_project_drives_a_running_emulator(
    pytester: pytest.Pytester, remote_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNITRON_MOCK_ADMIN_TOKEN", ADMIN_TOKEN)
    pytester.makepyfile(test_remote=USER_TESTS)
    result = pytester.runpytest("--omnitron-mock-url", remote_url, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(["*test_the_contract_guard*", "*orderitem_set[[]0[]].tracking_no*"])
    # The requests reached the running emulator: its own journal holds the last test's call.
    journal = requests.get(
        f"{remote_url}/_mock/requests", headers={"X-Mock-Admin-Token": ADMIN_TOKEN}, timeout=10
    ).json()["requests"]
    assert [entry["path"] for entry in journal] == ["/api/i1/order_items/bulk_status_update/"]


def test_the_erp_loop_helpers_read_a_running_emulator(
    pytester: pytest.Pytester, remote_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seeding orders with is_send, customers and addresses, reading orders and
    mappings and asserting on them, as in the other modes."""
    monkeypatch.setenv("OMNITRON_MOCK_ADMIN_TOKEN", ADMIN_TOKEN)
    pytester.makepyfile(test_erp=ERP_LOOP_TESTS)
    result = pytester.runpytest("--omnitron-mock-url", remote_url, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=9)
    # The running emulator holds what the last test's connector calls made.
    mappings = requests.get(
        f"{remote_url}/_mock/state/mappings", headers={"X-Mock-Admin-Token": ADMIN_TOKEN}, timeout=10
    ).json()["mappings"]
    assert [(mapping["object_id"], mapping["code"]) for mapping in mappings] == [(1, "ERP-1"), (2, "ERP-X")]


def test_the_url_comes_from_the_environment_too(
    pytester: pytest.Pytester, remote_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNITRON_MOCK_URL", remote_url)
    monkeypatch.setenv("OMNITRON_MOCK_ADMIN_TOKEN", ADMIN_TOKEN)
    pytester.makepyfile(
        test_env="""
        def test_remote(omnitron, omnitron_mode):
            assert omnitron_mode == "remote"
            assert omnitron.app is None
            omnitron.assert_item(1, id=1)
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_without_the_admin_token_the_error_says_which_variable(
    pytester: pytest.Pytester, remote_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OMNITRON_MOCK_ADMIN_TOKEN", raising=False)
    pytester.makepyfile(test_token="def test_it(omnitron):\n    pass\n")
    result = pytester.runpytest("--omnitron-mock-url", remote_url, "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*refused POST /_mock/reset (401)*OMNITRON_MOCK_ADMIN_TOKEN*"])


def test_remote_mode_without_a_url_is_a_usage_error(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMNITRON_MOCK_URL", raising=False)
    pytester.makepyfile(test_nourl="def test_it(omnitron):\n    pass\n")
    result = pytester.runpytest("--omnitron-mode", "remote", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*remote mode needs the emulator's URL: --omnitron-mock-url or OMNITRON_MOCK_URL*"])


def test_an_unreachable_emulator_is_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gone="def test_it(omnitron):\n    pass\n")
    # A port bound and never listened on: connecting is refused, and no other process can take it meanwhile.
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound.getsockname()[1]}"
        result = pytester.runpytest("--omnitron-mock-url", url, "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*the emulator at {url} did not answer GET /_mock/health*"])


def test_settings_cannot_reach_a_remote_emulator_and_say_so(pytester: pytest.Pytester, remote_url: str) -> None:
    pytester.makeconftest(
        """
        import pytest
        from omnitron_mock import Settings

        @pytest.fixture(scope="session")
        def omnitron_settings():
            return Settings(strict=True)
        """
    )
    pytester.makepyfile(test_settings="def test_it(omnitron):\n    pass\n")
    result = pytester.runpytest("--omnitron-mock-url", remote_url, "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*omnitron_settings cannot reach a remote emulator: configure it where it runs*"])


def test_responses_activate_tests_reach_a_remote_emulator(
    pytester: pytest.Pytester, remote_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNITRON_MOCK_ADMIN_TOKEN", ADMIN_TOKEN)
    pytester.makepyfile(
        test_stubbed="""
        import requests
        import responses

        @responses.activate
        def test_both(omnitron):
            responses.add(responses.GET, "https://erp.example/orders", json=[])
            assert requests.get("https://erp.example/orders", timeout=10).json() == []
            assert requests.get(f"{omnitron.base_url}/active_user/", headers=omnitron.headers, timeout=10).ok
            omnitron.assert_item(1, id=1)
        """
    )
    pytester.runpytest("--omnitron-mock-url", remote_url, "-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_url_that_is_no_emulator_is_named(pytester: pytest.Pytester, tmp_path: Any) -> None:
    """Something else answering at the URL (here: a plain HTTP file server) is a clear error."""
    (tmp_path / "_mock").mkdir()
    (tmp_path / "_mock" / "health").write_text("<html>not an emulator</html>")
    pytester.makepyfile(test_other="def test_it(omnitron):\n    pass\n")
    with subprocess.Popen(
        [sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as server:
        try:
            assert server.stdout is not None
            port = re.search(r"port (\d+)", server.stdout.readline())
            assert port, "the file server printed no port"
            result = pytester.runpytest("--omnitron-mock-url", f"http://127.0.0.1:{port.group(1)}")
        finally:
            server.terminate()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*GET http://127.0.0.1:*/_mock/health answered 200 with no JSON*omnitron-mock*"])


def test_the_api_prefix_given_as_the_url_gets_a_hint(pytester: pytest.Pytester, remote_url: str) -> None:
    """``omnitron.base_url`` ends in /api/i1, so it is the URL people pass by mistake."""
    pytester.makepyfile(test_prefix="def test_it(omnitron):\n    pass\n")
    result = pytester.runpytest("--omnitron-mock-url", f"{remote_url}/api/i1", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [f"*/api/i1/_mock/health answered 404*the emulator's URL is its root ({remote_url}), not the API prefix*"]
    )


TENANT_SEED = {
    "users": [
        {"username": "team-a", "password": "pw-a", "token": "team-a-token"},
        {"username": "team-b", "password": "pw-b", "token": "team-b-token"},
    ],
    "orders": DEFAULT_SEED_DOCUMENT["orders"],
}


def test_projects_of_two_teams_share_a_tenant_mode_emulator(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """On a shared emulator in tenant mode, each project's handle acts on its
    user's tenant alone: resets, seeds, faults and journal reads."""
    seed = tmp_path / "tenants.json"
    seed.write_text(json.dumps(TENANT_SEED))
    monkeypatch.delenv("OMNITRON_MOCK_ADMIN_TOKEN", raising=False)
    command = [*CLI, "serve", "--port", "0", "--tenant-per-user", "--seed", str(seed), "--admin-token", ADMIN_TOKEN]
    admin = {"X-Mock-Admin-Token": ADMIN_TOKEN}
    with serving_command(command) as (url, _banner):
        journals = {}
        for team in ("team-a", "team-b"):
            pytester.makeconftest(
                f"""
                import pytest
                from omnitron_mock_pytest.handle import Credentials

                @pytest.fixture(scope="session")
                def omnitron_credentials():
                    return Credentials("{team}", "pw-{team[-1]}", "{team}-token")
                """
            )
            pytester.makepyfile(test_remote=USER_TESTS)
            result = pytester.runpytest("--omnitron-mock-url", url, "-p", "no:cacheprovider")
            result.assert_outcomes(passed=5, failed=1)
            journals[team] = requests.get(f"{url}/_mock/requests?tenant={team}", headers=admin, timeout=10).json()
        # Each tenant's journal holds its last test's call; team B's run (resets included) left team A's alone.
        for journal in journals.values():
            assert [entry["path"] for entry in journal["requests"]] == ["/api/i1/order_items/bulk_status_update/"]
        assert (
            requests.get(f"{url}/_mock/requests?tenant=team-a", headers=admin, timeout=10).json() == journals["team-a"]
        )
        assert journals["team-a"]["requests"][0]["time"] < journals["team-b"]["requests"][0]["time"]
        root = requests.get(f"{url}/_mock/requests", headers=admin, timeout=10)
        assert root.json()["requests"] == []
