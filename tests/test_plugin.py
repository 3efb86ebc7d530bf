"""The pytest plugin, exercised the way a user's project uses it (pytester)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests

from tests.helpers import printed_by

BULK = "/order_items/bulk_status_update/"

PATCH_HELPER = """
import requests

def patch(omnitron, *items):
    return requests.patch(
        omnitron.base_url + "/order_items/bulk_status_update/",
        json={"orderitem_set": list(items)},
        headers=omnitron.headers,
        timeout=10,
    )
"""


@pytest.fixture(params=["live", "inprocess"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


def run(pytester: pytest.Pytester, mode: str, *args: str) -> pytest.RunResult:
    return pytester.runpytest("--omnitron-mode", mode, "-p", "no:cacheprovider", *args)


def test_state_resets_between_tests(pytester: pytest.Pytester, mode: str) -> None:
    pytester.makepyfile(
        PATCH_HELPER
        + """
def test_a_changes_item_1(omnitron):
    assert patch(omnitron, {"id": 1, "status": "450"}).status_code == 200
    omnitron.assert_item(1, status="450")
    omnitron.seed(orders=[{"id": 9, "items": [{"id": 90}]}])
    omnitron.set_strict()

def test_b_sees_the_seed_again(omnitron):
    omnitron.assert_item(1, status="400")
    assert omnitron.requests() == []
    assert [o for o in (1, 2, 9) if o in {i["order"] for i in omnitron.items()}] == [1, 2]
    assert patch(omnitron, {"id": 1, "status": "500"}).status_code == 200, "strict mode is off again"
"""
    )
    run(pytester, mode).assert_outcomes(passed=2)


def test_contract_guard_fails_a_test_that_sends_an_unknown_field(pytester: pytest.Pytester, mode: str) -> None:
    pytester.makepyfile(
        PATCH_HELPER
        + """
def test_sends_tracking_no(omnitron):
    assert patch(omnitron, {"id": 1, "tracking_no": "TR1"}).status_code == 200
"""
    )
    result = run(pytester, mode)
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "the code under test sent requests that break the Omnitron request contract" in output
    assert (
        "  PATCH /api/i1/order_items/bulk_status_update/: $.orderitem_set[0].tracking_no = 'TR1' is not a field "
        "of bulk-status-update-request; Omnitron ignores it silently\n" in output
    )


def test_contract_guard_reports_schema_errors_with_the_value(pytester: pytest.Pytester, mode: str) -> None:
    pytester.makepyfile(
        PATCH_HELPER
        + """
def test_sends_a_numeric_status(omnitron):
    assert patch(omnitron, {"id": 1, "status": 450}).status_code == 200
"""
    )
    result = run(pytester, mode)
    result.assert_outcomes(failed=1)
    assert "$.orderitem_set[0].status = 450: 450 is not of type 'string'\n" in result.stdout.str()


def test_opt_out_marker_lets_bad_requests_through(pytester: pytest.Pytester, mode: str) -> None:
    pytester.makepyfile(
        PATCH_HELPER
        + """
import pytest

@pytest.mark.omnitron_allow_contract_violations
def test_sends_tracking_no_on_purpose(omnitron):
    assert patch(omnitron, {"id": 1, "tracking_no": "TR1"}).status_code == 200
    assert omnitron.last_request.verdict.unknown_fields == ("$.orderitem_set[0].tracking_no",)
"""
    )
    run(pytester, mode).assert_outcomes(passed=1)


def test_contract_guard_does_not_hide_the_tests_own_failure(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        PATCH_HELPER
        + """
def test_fails_on_its_own(omnitron):
    patch(omnitron, {"id": 1, "tracking_no": "TR1"})
    assert 1 == 2, "the test's own assertion"
"""
    )
    result = run(pytester, "live")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the test's own assertion*"])
    result.stdout.no_fnmatch_line("*break the Omnitron request contract*")


def test_seeding_by_marker_fixture_file_and_handle(pytester: pytest.Pytester, mode: str) -> None:
    pytester.path.joinpath("seed.json").write_text(json.dumps({"orders": [{"id": 30, "items": [{"id": 300}]}]}))
    pytester.makeconftest(
        """
import pytest

@pytest.fixture
def omnitron_seed():
    return {"orders": [{"id": 40, "items": [{"id": 400, "status": "450"}]}]}
"""
    )
    pytester.makepyfile(
        """
import pytest

@pytest.mark.omnitron(seed={"orders": [{"id": 20, "items": [{"id": 200, "status": "500"}]}]})
def test_marker_dict(omnitron):
    omnitron.assert_item(200, status="500")
    omnitron.assert_item(1, status="400")
    omnitron.assert_item(400, status="450")

@pytest.mark.omnitron(seed="seed.json", replace=True)
def test_marker_file_replacing(omnitron):
    assert [i["id"] for i in omnitron.items()] == [300]

def test_handle_with_file(omnitron):
    omnitron.seed("seed.json")
    assert omnitron.order(30)["orderitem_set"] == [300]

def test_bad_seed_names_the_path_and_loads_nothing(omnitron):
    from omnitron_mock.seed import SeedError
    with pytest.raises(SeedError, match=r"\\$\\.orders\\[0\\]\\.items\\[0\\]\\.status"):
        omnitron.seed(orders=[{"id": 50, "items": [{"id": 500, "status": "999"}]}])
    with pytest.raises(KeyError):
        omnitron.item(500)
"""
    )
    run(pytester, mode).assert_outcomes(passed=4)


def test_strict_by_marker_and_by_fixture(pytester: pytest.Pytester, mode: str) -> None:
    pytester.makepyfile(
        PATCH_HELPER
        + """
import pytest

@pytest.mark.omnitron(strict=True)
def test_strict_marker(omnitron):
    assert patch(omnitron, {"id": 1, "status": "500"}).status_code == 400

class TestStrictFixture:
    @pytest.fixture
    def omnitron_strict(self):
        return True

    def test_strict_fixture(self, omnitron):
        assert patch(omnitron, {"id": 1, "status": "500"}).status_code == 400

    @pytest.mark.omnitron(strict=False)
    def test_marker_beats_fixture(self, omnitron):
        assert patch(omnitron, {"id": 1, "status": "500"}).status_code == 200

def test_lenient_by_default(omnitron):
    assert patch(omnitron, {"id": 1, "status": "500"}).status_code == 200
"""
    )
    run(pytester, mode).assert_outcomes(passed=4)


def test_session_settings_and_credentials_are_overridable(pytester: pytest.Pytester, mode: str) -> None:
    pytester.makeconftest(
        """
import pytest
from omnitron_mock import Settings
from omnitron_mock_pytest import Credentials

@pytest.fixture(scope="session")
def omnitron_settings():
    return Settings(max_items=2, extra_shipping_companies=("fedex",))

@pytest.fixture(scope="session")
def omnitron_credentials():
    return Credentials("erp", "erp-password", "erp-token")
"""
    )
    pytester.makepyfile(
        PATCH_HELPER
        + """
import pytest
import requests

# The over-long bulk breaks the request contract on purpose.
@pytest.mark.omnitron_allow_contract_violations
def test_user_and_limits(omnitron):
    assert (omnitron.username, omnitron.token) == ("erp", "erp-token")
    login = requests.post(
        omnitron.base_url + "/auth/login/", json={"username": "erp", "password": "erp-password"}, timeout=10
    )
    assert login.json() == {"key": "erp-token"}
    assert patch(omnitron, {"id": 1, "shipping_company": "fedex"}).status_code == 200
    too_many = patch(omnitron, {"id": 1}, {"id": 2}, {"id": 3})
    assert too_many.json() == {"orderitem_set": ["Ensure this field has no more than 2 elements."]}
"""
    )
    run(pytester, mode).assert_outcomes(passed=1)


def test_in_tenant_mode_the_handle_acts_on_the_test_users_tenant(pytester: pytest.Pytester, mode: str) -> None:
    pytester.makeconftest(
        """
import pytest
from omnitron_mock import Settings

@pytest.fixture(scope="session")
def omnitron_settings():
    return Settings(tenant_per_user=True)
"""
    )
    pytester.makepyfile(
        PATCH_HELPER
        + """
def test_seed_fault_and_journal_reach_the_users_world(omnitron):
    omnitron.seed(orders=[{"id": 7, "items": [{"id": 70, "status": "400"}]}])
    omnitron.fail_next(1, status=503)
    assert patch(omnitron, {"id": 70, "status": "450"}).status_code == 503
    assert patch(omnitron, {"id": 70, "status": "450"}).status_code == 200
    omnitron.assert_item(70, status="450")
    assert [entry.status for entry in omnitron.requests()] == [503, 200]
"""
    )
    run(pytester, mode).assert_outcomes(passed=1)


def test_journal_queries_and_readable_assertions(pytester: pytest.Pytester, mode: str) -> None:
    pytester.makepyfile(
        PATCH_HELPER
        + """
import pytest
import requests

def test_journal(omnitron):
    omnitron.assert_not_called(method="PATCH")
    patch(omnitron, {"id": 1, "status": "450"})
    requests.get(omnitron.sdk_base_url + "/orders/1/", headers=omnitron.headers, timeout=10)
    assert [e.method for e in omnitron.requests()] == ["PATCH", "GET"]
    assert [e.path for e in omnitron.requests(method="GET")] == ["/api/v1/orders/1/"]
    assert omnitron.requests(status=200)[0].response[0]["status"] == "450"
    [entry] = omnitron.assert_called(path_contains="bulk_status_update", method="PATCH", times=1)
    assert entry.body == {"orderitem_set": [{"id": 1, "status": "450"}]}
    assert entry.verdict.ok
    with pytest.raises(AssertionError, match=r"expected 2 request\\(s\\) to PATCH any path, got 1; journal: "
                       r"PATCH /api/i1/order_items/bulk_status_update/ -> 200, GET /api/v1/orders/1/ -> 200"):
        omnitron.assert_called(method="PATCH", times=2)
    with pytest.raises(AssertionError, match=r"order item 1: status is '450', expected '500'; "
                       r"tracking_number is None, expected 'TR1'"):
        omnitron.assert_item(1, status="500", tracking_number="TR1")
    with pytest.raises(AssertionError, match=r"order item 2: status is '400', expected '450'"):
        omnitron.assert_items([1, 2], status="450")
    omnitron.clear_requests()
    with pytest.raises(AssertionError, match="no request yet"):
        omnitron.last_request
"""
    )
    run(pytester, mode).assert_outcomes(passed=1)


# The ERP loop's helpers, run in every mode (test_plugin_remote.py runs them against a running emulator).
ERP_LOOP_TESTS = """
import pytest
import requests


def call(omnitron, method, path, body=None):
    response = requests.request(method, f"{omnitron.base_url}/{path}", json=body, headers=omnitron.headers, timeout=10)
    assert response.status_code in (200, 201), response.text
    return response.json()


def map_item(omnitron, item_id, code, update_stock=True):
    call(omnitron, "POST", f"order_items/{item_id}/create_mapping/", {"code": code, "update_stock": update_stock})


def mark_sent(omnitron, order_id, is_send=True):
    call(omnitron, "PATCH", f"orders/{order_id}/", {"is_send": is_send})


SEED = {
    "orders": [
        {
            "id": 30,
            "number": "ERP-30",
            "is_send": True,
            "customer": {"pk": 301, "email": "ayse@example.com", "first_name": "Ayşe", "last_name": "Yılmaz"},
            "shipping_address": {"pk": 302, "line": "Alsancak Mah. 1", "city": {"pk": 35, "name": "İzmir"}},
            "billing_address": {"pk": 303, "company_name": "Acme A.Ş.", "tax_no": "1234567890"},
            "items": [{"id": 300}, {"id": 301}],
        },
        {"id": 31, "shipping_address": {"pk": 311, "line": "Kızılay 5"}, "items": [{"id": 310}]},
    ]
}


def test_seeded_orders_carry_is_send_customer_and_addresses(omnitron):
    omnitron.seed(SEED)
    order = omnitron.order(30)
    assert order == call(omnitron, "GET", "orders/30/")
    assert order["is_send"] is True
    assert {name: order["customer"][name] for name in ("pk", "email", "first_name", "last_name")} == {
        "pk": 301, "email": "ayse@example.com", "first_name": "Ayşe", "last_name": "Yılmaz"
    }
    shipping, billing = order["shipping_address"], order["billing_address"]
    assert (shipping["pk"], shipping["line"], shipping["city"]) == (302, "Alsancak Mah. 1", {"pk": 35, "name": "İzmir"})
    # The billing address is the shipping one with what the seed gave.
    assert (billing["pk"], billing["line"], billing["company_name"], billing["tax_no"]) == (
        303, "Alsancak Mah. 1", "Acme A.Ş.", "1234567890"
    )
    other = omnitron.order(31)
    assert other["billing_address"] == other["shipping_address"] and other["billing_address"]["pk"] == 311
    assert [o["pk"] for o in omnitron.orders(is_send=True)] == [30]
    assert [o["pk"] for o in omnitron.orders(is_send=False)] == [1, 2, 31]
    assert omnitron.orders() == [call(omnitron, "GET", f"orders/{pk}/") for pk in (1, 2, 30, 31)]


@pytest.mark.omnitron(seed={"orders": [{"id": 40, "is_send": True, "customer": {"email": "m@example.com"}}]})
def test_the_marker_seeds_them_too(omnitron):
    [order] = omnitron.orders(is_send=True)
    assert (order["pk"], order["customer"]["email"]) == (40, "m@example.com")


def test_orders_and_mappings_read_what_the_connector_did(omnitron):
    assert omnitron.mappings() == []
    seeded = omnitron.order(1)["modified_date"]
    map_item(omnitron, 1, "ERP-1")
    map_item(omnitron, 3, "ERP-3", update_stock=False)
    mark_sent(omnitron, 1)
    orders = omnitron.orders()
    assert [(o["pk"], o["is_send"]) for o in orders] == [(1, True), (2, False)]
    assert orders[0] == call(omnitron, "GET", "orders/1/")
    assert orders[0]["modified_date"] != seeded
    mappings = omnitron.mappings()
    assert [(m["pk"], m["object_id"], m["code"], m["update_stock"]) for m in mappings] == [
        (1, 1, "ERP-1", True), (2, 3, "ERP-3", False)
    ]
    assert {(m["content_type"], m["integration_type"]) for m in mappings} == {(38, "external_company")}
    assert omnitron.mappings(item=3) == mappings[1:]
    assert omnitron.mappings(item=2) == omnitron.mappings(item=-1) == omnitron.mappings(item=10**20) == []
    with pytest.raises(TypeError, match="is_send must be True, False or None"):
        omnitron.orders(is_send="yes")


def test_each_test_starts_unsent_and_unmapped(omnitron):
    assert omnitron.mappings() == []
    assert omnitron.orders(is_send=True) == []


def test_the_assertions_pass_when_the_connector_did_its_job(omnitron):
    for item_id in (1, 2, 3):
        map_item(omnitron, item_id, f"ERP-{item_id}")
    mark_sent(omnitron, 1)
    omnitron.assert_orders_sent([1])
    omnitron.assert_mapped([1, 2, 3], codes={1: "ERP-1", 2: "ERP-2", 3: "ERP-3"}, stock_released=True)
    map_item(omnitron, 4, "ERP-4", update_stock=False)
    map_item(omnitron, 5, "ERP-5", update_stock=False)
    mark_sent(omnitron, 2)
    omnitron.assert_orders_sent()
    omnitron.assert_mapped()
    omnitron.assert_mapped((4, 5), stock_released=False)


def test_assert_orders_sent_lists_every_order_not_sent(omnitron):
    omnitron.seed(orders=[{"id": 5, "items": [{"id": 50}]}, {"id": 6, "is_send": True, "items": [{"id": 60}]}])
    mark_sent(omnitron, 1)
    with pytest.raises(AssertionError) as raised:
        omnitron.assert_orders_sent()
    assert str(raised.value) == "orders not marked sent: 2, 5"
    with pytest.raises(AssertionError) as raised:
        omnitron.assert_orders_sent([6, 5, 99, 1, 2, 5])
    assert str(raised.value).splitlines() == ["orders not marked sent: 2, 5", "no such orders: 99"]
    omnitron.assert_orders_sent([1, 6])
    mark_sent(omnitron, 1, is_send=False)
    with pytest.raises(AssertionError, match="^orders not marked sent: 1$"):
        omnitron.assert_orders_sent(iter([1, 6]))


def test_queries_are_read_and_matched(omnitron):
    params = {"is_send": False, "status": "400", "limit": 10}
    requests.get(f"{omnitron.base_url}/orders/", params=params, headers=omnitron.headers, timeout=10)
    assert omnitron.last_request.params == {"is_send": "False", "status": "400", "limit": "10"}
    omnitron.assert_called("orders/", method="GET", query={"is_send": False}, times=1)
    omnitron.assert_not_called("orders/", query={"is_send": True})
    with pytest.raises(AssertionError, match=r"with query \\{'status': '500'\\}, got none"):
        omnitron.assert_called("orders/", query={"status": 500})


def test_a_misspelt_field_is_named_not_read_as_none(omnitron):
    with pytest.raises(AssertionError, match=r"^order item 1 has no field 'tracking_no'; its fields: id, order, "):
        omnitron.assert_item(1, tracking_no=None)
    with pytest.raises(AssertionError, match=r"order item 2 has no field 'tracking_no'"):
        omnitron.assert_items([1, 2], status="400", tracking_no=None)


def test_assert_mapped_lists_every_problem(omnitron):
    map_item(omnitron, 1, "ERP-1")
    map_item(omnitron, 2, "ERP-X", update_stock=False)
    with pytest.raises(AssertionError) as raised:
        omnitron.assert_mapped([99, 3, 2, 1], codes={1: "ERP-1", 2: "ERP-2"}, stock_released=True)
    assert str(raised.value).splitlines() == [
        "order item 2: code is 'ERP-X', expected 'ERP-2'",
        "order item 2: stock not released (update_stock false), expected released",
        "order item 3: no mapping",
        "order item 99: no such item",
    ]
    # codes= alone names the items it checks.
    with pytest.raises(AssertionError) as raised:
        omnitron.assert_mapped(codes={7: "ERP-7", 1: "ERP-1"}, stock_released=False)
    assert str(raised.value).splitlines() == [
        "order item 1: stock released (update_stock true), expected not released",
        "order item 7: no such item",
    ]
    omnitron.assert_mapped(codes={1: "ERP-1"})
    # Nothing named: every stored item.
    with pytest.raises(AssertionError) as raised:
        omnitron.assert_mapped(stock_released=False)
    assert str(raised.value).splitlines() == [
        "order item 1: stock released (update_stock true), expected not released",
        "order item 3: no mapping",
        "order item 4: no mapping",
        "order item 5: no mapping",
    ]
    omnitron.assert_mapped([1], codes={1: "ERP-1"}, stock_released=True)
    omnitron.assert_mapped([2], stock_released=False)

"""


def test_the_erp_loop_helpers(pytester: pytest.Pytester, mode: str) -> None:
    pytester.makepyfile(test_erp=ERP_LOOP_TESTS)
    run(pytester, mode).assert_outcomes(passed=9)


def test_inprocess_intercepts_only_its_base_url(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests
import responses


class Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"hello from a real socket")

    def log_message(self, *args):
        pass


def test_base_url_is_served_without_a_socket(omnitron):
    assert omnitron.url == "http://omnitron.test"
    response = requests.get(omnitron.base_url + "/order_items/1/", headers=omnitron.headers, timeout=10)
    assert response.json()["id"] == 1

def test_other_urls_are_refused_unless_registered(omnitron):
    with pytest.raises(requests.ConnectionError, match="Connection refused by Responses"):
        requests.get("http://elsewhere.test/x", timeout=10)
    responses.add(responses.GET, "http://elsewhere.test/x", json={"stub": True})
    assert requests.get("http://elsewhere.test/x", timeout=10).json() == {"stub": True}

def test_passthru_reaches_a_real_server(omnitron):
    server = HTTPServer(("127.0.0.1", 0), Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/"
        responses.add_passthru(url)
        assert requests.get(url, timeout=10).text == "hello from a real socket"
    finally:
        server.shutdown()
        server.server_close()

@responses.activate
def test_works_inside_responses_activate(omnitron):
    responses.add(responses.GET, "http://elsewhere.test/y", body="y")
    assert requests.get("http://elsewhere.test/y", timeout=10).text == "y"
    assert requests.get(omnitron.base_url + "/orders/1/", headers=omnitron.headers, timeout=10).status_code == 200

def test_a_later_test_is_intercepted_again(omnitron):
    assert requests.get(omnitron.base_url + "/orders/2/", headers=omnitron.headers, timeout=10).status_code == 200
"""
    )
    run(pytester, "inprocess").assert_outcomes(passed=5)


def test_inprocess_answers_like_the_live_server(pytester: pytest.Pytester) -> None:
    """The same calls give the same status, headers that matter, and bodies in both modes."""
    pytester.makepyfile(
        """
import json
import pytest
import requests

CALLS = [
    ("PATCH", "/order_items/bulk_status_update/", {"orderitem_set": [{"id": 1, "status": "450"}]}, True),
    ("PATCH", "/order_items/bulk_status_update/", {"orderitem_set": [{"id": 1, "status": "bad"}, {"id": 4}]}, True),
    ("GET", "/order_items/bulk_status_update/", None, True),
    ("GET", "/order_items/?order=1&page_size=2", None, True),
    ("GET", "/orders/1/", None, False),
    ("HEAD", "/order_items/1/", None, True),
    ("OPTIONS", "/active_user/", None, True),
    ("GET", "/order_items/1", None, True),
]

@pytest.mark.omnitron_allow_contract_violations
def test_record(omnitron, request):
    seen = []
    for method, path, body, auth in CALLS:
        response = requests.request(
            method, omnitron.base_url + path, json=body, headers=omnitron.headers if auth else {},
            timeout=10, allow_redirects=False,
        )
        text = response.text.replace(omnitron.url, "URL")
        location = response.headers.get("Location", "").replace(omnitron.url, "URL")
        seen.append([response.status_code, response.headers.get("Content-Type"), response.headers.get("Allow"),
                     response.headers.get("WWW-Authenticate"), location, text])
    out = request.config.rootpath / f"calls-{request.config.getoption('omnitron_mode')}.json"
    out.write_text(json.dumps(seen, indent=1))
"""
    )
    run(pytester, "live").assert_outcomes(passed=1)
    run(pytester, "inprocess").assert_outcomes(passed=1)
    live = json.loads(pytester.path.joinpath("calls-live.json").read_text())
    inprocess = json.loads(pytester.path.joinpath("calls-inprocess.json").read_text())
    assert live == inprocess
    assert [call[0] for call in live] == [200, 400, 405, 200, 401, 200, 200, 301]


def test_plugin_can_be_disabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_uses_it(omnitron):\n    pass\n")
    result = pytester.runpytest("-p", "no:omnitron")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'omnitron' not found*"])


def test_fixtures_are_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--fixtures")
    text = result.stdout.str()
    for name in (
        "omnitron",
        "omnitron_session",
        "omnitron_mode",
        "omnitron_settings",
        "omnitron_credentials",
        "omnitron_inprocess_url",
        "omnitron_mock_url",
        "omnitron_strict",
        "omnitron_seed",
    ):
        match = re.search(rf"^{name}( \[session scope\])? -- .*\n    (\S.*)$", text, re.MULTILINE)
        assert match, f"{name} is not listed with a docstring"


def test_markers_are_registered(pytester: pytest.Pytester) -> None:
    text = pytester.runpytest("--markers").stdout.str()
    for marker in (
        "@pytest.mark.omnitron(",
        "@pytest.mark.omnitron_allow_contract_violations",
        "@pytest.mark.omnitron_readonly",
    ):
        assert marker in text


def test_bad_mode_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        'import pytest\n\n@pytest.fixture(scope="session")\ndef omnitron_mode():\n    return "docker"\n'
    )
    pytester.makepyfile("def test_uses_it(omnitron):\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*omnitron_mode must be one of ('live', 'inprocess', 'remote'), got 'docker'*"])


# -- provider verification: a second emulator process stands in for the real Omnitron ------------------


@pytest.fixture(scope="module")
def omnitron_stand_in() -> Iterator[str]:
    """One stand-in process for the module's provider tests (see ``real_omnitron``)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "omnitron_mock", "serve", "--port", "0", "--user", "verifier:secret:verifier-token"],
        stdout=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("OMNITRON_MOCK_")},
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    match = re.match(r"omnitron-mock listening on (\S+)", first)
    assert match, first
    try:
        yield match.group(1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


@pytest.fixture
def real_omnitron(omnitron_stand_in: str) -> str:
    """The stand-in as it started: its users, orders and items, and an empty journal."""
    assert requests.post(f"{omnitron_stand_in}/_mock/reset", timeout=10).status_code == 200
    return omnitron_stand_in


PROVIDER_TESTS = (
    PATCH_HELPER
    + """
import pytest

@pytest.mark.omnitron_readonly
def test_reads(omnitron):
    assert omnitron.token == "verifier-token"
    assert omnitron.item(1)["product_sku"] == "1185185001"
    omnitron.assert_item(2, price="86.00")

def test_writes(omnitron):
    assert patch(omnitron, {"id": 3, "status": "450"}).status_code == 200
    omnitron.assert_item(3, status="450")

@pytest.mark.omnitron(seed={"orders": []})
def test_seeds(omnitron):
    pass

@pytest.mark.omnitron_readonly
def test_journal_is_emulator_only(omnitron):
    from omnitron_mock_pytest import EmulatorOnly
    with pytest.raises(EmulatorOnly, match="needs the emulator"):
        omnitron.requests()
"""
)


def test_provider_mode_runs_readonly_tests_only(pytester: pytest.Pytester, real_omnitron: str) -> None:
    pytester.makepyfile(PROVIDER_TESTS)
    result = pytester.runpytest(
        "--omnitron-url", real_omnitron, "--omnitron-username", "verifier", "--omnitron-password", "secret", "-rs"
    )
    result.assert_outcomes(passed=2, skipped=2)
    result.stdout.fnmatch_lines(["*may change data on the real Omnitron*", "*a real Omnitron cannot be seeded*"])


def test_provider_mode_runs_writes_when_allowed(pytester: pytest.Pytester, real_omnitron: str) -> None:
    pytester.makepyfile(PROVIDER_TESTS)
    result = pytester.runpytest(
        "--omnitron-url",
        real_omnitron,
        "--omnitron-username",
        "verifier",
        "--omnitron-password",
        "secret",
        "--omnitron-allow-writes",
    )
    result.assert_outcomes(passed=3, skipped=1)


def test_provider_mode_with_bad_credentials_errors(pytester: pytest.Pytester, real_omnitron: str) -> None:
    pytester.makepyfile(PROVIDER_TESTS)
    result = pytester.runpytest(
        "--omnitron-url", real_omnitron, "--omnitron-username", "verifier", "--omnitron-password", "wrong"
    )
    result.assert_outcomes(errors=4)
    result.stdout.fnmatch_lines(["*login to http://127.0.0.1:* failed with 400*"])


def test_the_core_never_imports_pytest() -> None:
    """Only omnitron_mock_pytest.plugin may import pytest; the rest serves any test runner."""
    script = (
        "import sys; sys.modules['pytest'] = None\n"
        "import omnitron_mock, omnitron_mock.contracts, omnitron_mock_pytest\n"
        "from omnitron_mock_pytest import LiveEmulator, Credentials\n"
        "from omnitron_mock import Settings, DEV_USERNAME, DEV_PASSWORD, DEV_TOKEN\n"
        "emulator = LiveEmulator.start(Settings(), Credentials(DEV_USERNAME, DEV_PASSWORD, DEV_TOKEN))\n"
        "emulator.handle().assert_item(1, status='400')\n"
        "emulator.stop()\n"
        "print('core ok')\n"
    )
    assert printed_by(script) == "core ok"


# What loading the plugin must not import: pytest loads it in every run of every
# project that has omnitron-mock installed, most of which never ask for a fixture.
HEAVY_MODULES = (
    "flask",
    "jsonschema",
    "referencing",
    "waitress",
    "werkzeug",
    "requests",
    "responses",
    "omnitron_mock.app",
    "omnitron_mock.contracts",
)


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    """The entry point's module imports pytest and the standard library only;
    the package's exports still load, on first use."""
    script = (
        "import sys, pytest\n"
        "import omnitron_mock_pytest.plugin\n"
        f"heavy = [name for name in {HEAVY_MODULES!r} if name in sys.modules]\n"
        "assert not heavy, heavy\n"
        "from omnitron_mock_pytest import Credentials, assert_matches_contract\n"
        "assert 'flask' in sys.modules and Credentials.__name__ == 'Credentials'\n"
        "print('light')\n"
    )
    assert printed_by(script) == "light"


def test_the_fixtures_import_the_emulator_when_a_test_asks(pytester: pytest.Pytester) -> None:
    """A run whose tests use no fixture imports no emulator; the first
    ``omnitron`` fixture does. A subprocess, so this process's imports don't count."""
    pytester.makepyfile(
        f"""
import sys

HEAVY = {HEAVY_MODULES!r}

def test_a_without_the_fixture(request):
    assert request.config.pluginmanager.has_plugin("omnitron")
    assert [name for name in HEAVY if name in sys.modules] == []

def test_b_with_the_fixture(omnitron):
    assert "flask" in sys.modules
    omnitron.assert_item(1, status="400")
"""
    )
    # Only this plugin: the other plugins of this venv (schemathesis, hypothesis, ...) import what they import.
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--omnitron-mode", "inprocess", "-v", *_other_plugins_off()
    )
    result.assert_outcomes(passed=2)


def _other_plugins_off() -> list[str]:
    from importlib.metadata import entry_points

    names = {entry.name for entry in entry_points(group="pytest11")} - {"omnitron"}
    return [option for name in sorted(names) for option in ("-p", f"no:{name}")]


def test_faults_clear_between_tests(pytester: pytest.Pytester, mode: str) -> None:
    pytester.makepyfile(
        PATCH_HELPER
        + """
def test_a_leaves_faults_behind(omnitron):
    omnitron.fail_next(100, status=503)
    omnitron.delay(1)
    assert patch(omnitron, {"id": 1, "status": "450"}).status_code == 503

def test_b_starts_without_them(omnitron):
    assert omnitron.faults() == []
    assert patch(omnitron, {"id": 1, "status": "450"}).status_code == 200
"""
    )
    run(pytester, mode).assert_outcomes(passed=2)


FOLDER_TEST = """
import requests


def test_mode(omnitron, omnitron_mode):
    assert omnitron_mode == "{mode}"
    assert omnitron.url.startswith("{url_start}"), omnitron.url
    response = requests.get(f"{{omnitron.base_url}}/active_user/", headers=omnitron.headers, timeout=10)
    assert response.status_code == 200
    omnitron.assert_called(path="active_user/", times=1)
"""


@pytest.mark.parametrize("order", [("inproc", "live"), ("live", "inproc")], ids=["inprocess-first", "live-first"])
def test_each_folder_runs_in_its_own_mode(pytester: pytest.Pytester, order: tuple[str, str]) -> None:
    """A folder's conftest choosing a mode gets an emulator of that mode,
    whichever folder ran first (each mode has its own session emulator)."""
    modes = {"inproc": ("inprocess", "http://omnitron.test"), "live": ("live", "http://127.0.0.1:")}
    for folder, (mode, url_start) in modes.items():
        pytester.mkpydir(folder)
        (pytester.path / folder / "conftest.py").write_text(
            f'import pytest\n\n\n@pytest.fixture(scope="session")\ndef omnitron_mode():\n    return "{mode}"\n'
        )
        (pytester.path / folder / f"test_{folder}.py").write_text(FOLDER_TEST.format(mode=mode, url_start=url_start))
    result = pytester.runpytest(*order, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_a_failing_test_shows_the_guards_findings_too(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import requests

        def test_ships(omnitron):
            body = {"orderitem_set": [{"id": 1, "tracking_no": "TR1"}]}
            requests.patch(f"{omnitron.base_url}/order_items/bulk_status_update/", json=body,
                           headers=omnitron.headers, timeout=10)
            omnitron.assert_item(1, tracking_number="TR1")
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*tracking_number is None, expected 'TR1'*",
            "*Captured omnitron contract call*",
            "*$.orderitem_set[[]0[]].tracking_no = 'TR1' is not a field of bulk-status-update-request*",
        ]
    )


def test_assertions_report_every_mismatch_and_match_paths_exactly(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        import requests

        def test_assertions(omnitron):
            body = {"orderitem_set": [{"id": 1, "status": "450", "tracking_no": "x"}]}
            requests.patch(f"{omnitron.base_url}/order_items/bulk_status_update/", json=body,
                           headers=omnitron.headers, timeout=10)
            requests.get(f"{omnitron.sdk_base_url}/order_items/1/", headers=omnitron.headers, timeout=10)
            with pytest.raises(AssertionError) as raised:
                omnitron.assert_items([1, 2, 99], status="450")
            assert str(raised.value).splitlines() == [
                "order item 2: status is '400', expected '450'",
                "order item 99: no such item",
            ]
            # Exact paths after either prefix; the loose match is path_contains.
            omnitron.assert_not_called("order_items/")
            omnitron.assert_called("order_items/1/", method="GET", times=1)
            omnitron.assert_called(path_contains="order_items/", times=2)
            omnitron.assert_called("/api/i1/order_items/bulk_status_update/", json=body, times=1)
            omnitron.assert_not_called("order_items/bulk_status_update/", json={"orderitem_set": []})
            [entry] = omnitron.assert_called("order_items/bulk_status_update/")
            assert entry.verdict.unknown_fields == ["$.orderitem_set[0].tracking_no"]
            assert entry.verdict.schema_errors == []
            assert repr(entry).startswith("<JournalEntry #")
            assert "PATCH /api/i1/order_items/bulk_status_update/ -> 200 (1 contract finding)" in repr(entry)
            fault = omnitron.fail_next(2, status=503, path="bulk_status_update")
            shown = "kind='status', times=2, status=503, path='bulk_status_update'"
            assert repr(fault) == f"<FaultHandle {fault.id} {shown}>"
            with pytest.raises(AssertionError, match="expected 3 request[(]s[)] to any method order_items/1/"):
                omnitron.assert_called("order_items/1/", times=3)
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly")
    # The test sends tracking_no on purpose; the guard fails it after it passed.
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the code under test sent requests that break the Omnitron request contract*"])
    result.stdout.no_fnmatch_line("*AssertionError*")


def test_helpers_hide_themselves_from_the_traceback(pytester: pytest.Pytester, mode: str) -> None:
    pytester.makepyfile(
        """
        def test_item(omnitron):
            omnitron.assert_item(1, status='999')

        def test_sent(omnitron):
            omnitron.assert_orders_sent([2, 1])

        def test_mapped(omnitron):
            omnitron.assert_mapped([4], codes={5: "ERP-5"})
        """
    )
    result = run(pytester, mode)
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [
            "*omnitron.assert_item(1, status='999')*",
            "*order item 1: status is*",
            "*omnitron.assert_orders_sent([[]2, 1[]])*",
            "*AssertionError: orders not marked sent: 1, 2*",
            '*omnitron.assert_mapped([[]4[]], codes={5: "ERP-5"})*',
            "*AssertionError: order item 4: no mapping*",
            "*order item 5: no mapping*",
        ]
    )
    result.stdout.no_fnmatch_line("*handle.py*")


def test_a_live_emulator_passes_through_responses(pytester: pytest.Pytester) -> None:
    """A test stubbing the ERP side with @responses.activate still reaches the live emulator."""
    pytester.makepyfile(
        """
        import requests
        import responses

        @responses.activate
        def test_both(omnitron):
            responses.add(responses.GET, "https://erp.example/orders", json={"orders": []})
            assert requests.get("https://erp.example/orders", timeout=10).json() == {"orders": []}
            user = requests.get(f"{omnitron.base_url}/active_user/", headers=omnitron.headers, timeout=10)
            assert user.status_code == 200

        @responses.activate
        def test_again_after_responses_reset(omnitron):
            user = requests.get(f"{omnitron.base_url}/active_user/", headers=omnitron.headers, timeout=10)
            assert user.status_code == 200
        """
    )
    pytester.runpytest("--omnitron-mode", "live", "-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_provider_mode_skips_a_test_that_needs_the_emulator(pytester: pytest.Pytester, real_omnitron: str) -> None:
    """Seeding, faults or the journal against a real Omnitron skip the test with the reason,
    whichever way the test asked; the handle still answers hasattr() and copy."""
    pytester.makepyfile(
        """
        import copy
        import pytest

        @pytest.mark.omnitron_readonly
        def test_adds_a_fault(omnitron):
            omnitron.fail_next(1)

        @pytest.mark.omnitron_readonly
        def test_reads_the_journal(omnitron):
            omnitron.last_request

        @pytest.mark.omnitron_readonly
        def test_reads_orders(omnitron):
            omnitron.orders(is_send=False)

        @pytest.mark.omnitron_readonly
        def test_reads_mappings(omnitron):
            omnitron.mappings(item=1)

        @pytest.mark.omnitron_readonly
        def test_asserts_orders_sent(omnitron):
            omnitron.assert_orders_sent([1])

        @pytest.mark.omnitron_readonly
        def test_asserts_mapped(omnitron):
            omnitron.assert_mapped([1], codes={1: "ERP-1"})

        @pytest.mark.omnitron_readonly
        def test_handle_is_an_ordinary_object(omnitron):
            assert hasattr(omnitron, "seed") and hasattr(omnitron, "item")
            assert not hasattr(omnitron, "no_such_thing")
            assert copy.copy(omnitron).url == omnitron.url
            assert copy.deepcopy(omnitron.credentials) == omnitron.credentials
        """
    )
    result = pytester.runpytest(
        "--omnitron-url", real_omnitron, "--omnitron-username", "verifier", "--omnitron-password", "secret", "-rs"
    )
    result.assert_outcomes(passed=1, skipped=6)
    result.stdout.fnmatch_lines(
        [
            "*fail_next() needs the emulator; this run targets the real Omnitron at http://127.0.0.1:*",
            "*last_request() needs the emulator*",
        ]
    )
    for name in ("orders", "mappings", "assert_orders_sent", "assert_mapped"):
        result.stdout.fnmatch_lines([f"*{name}() needs the emulator; this run targets the real Omnitron at *"])


def test_provider_mode_takes_the_user_from_the_environment(
    pytester: pytest.Pytester, real_omnitron: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNITRON_USERNAME", "verifier")
    monkeypatch.setenv("OMNITRON_PASSWORD", "secret")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.omnitron_readonly
        def test_reads(omnitron):
            assert omnitron.token == "verifier-token"
        """
    )
    pytester.runpytest("--omnitron-url", real_omnitron, "-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_path_that_can_match_nothing_is_refused(pytester: pytest.Pytester) -> None:
    """An old-style substring in path= would let assert_not_called pass whatever was sent."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("path", ["bulk_status_update", "order_items/?order=1", "/order_items/"])
        def test_refused(omnitron, path):
            with pytest.raises(AssertionError, match="can match no request.*path_contains="):
                omnitron.assert_not_called(path)
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_a_refused_login_is_tried_once_for_the_run(pytester: pytest.Pytester, real_omnitron: str) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("n", range(4))
        @pytest.mark.omnitron_readonly
        def test_reads(omnitron, n):
            pass
        """
    )
    result = pytester.runpytest(
        "--omnitron-url", real_omnitron, "--omnitron-username", "verifier", "--omnitron-password", "wrong"
    )
    result.assert_outcomes(errors=4)
    logins = requests.get(f"{real_omnitron}/_mock/requests", params={"path": "auth/login/"}, timeout=10).json()
    assert logins["count"] == 1


def test_marker_strict_none_follows_the_fixture(pytester: pytest.Pytester, mode: str) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.omnitron(strict=None)
        def test_default(omnitron):
            assert omnitron._emulator.strict is False
        """
    )
    run(pytester, mode).assert_outcomes(passed=1)
