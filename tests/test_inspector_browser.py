"""The inspector in a real headless Chromium: journal, badges, expand, filter, reset, refresh."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import requests
from omnitron_mock import DEV_TOKEN, create_app
from omnitron_mock.serving import HTTPServer

from tests.browser.chromium import BROWSER_TIER, browser_page
from tests.helpers import ARTIFACTS, documented

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the test extra brings it
    expect = None

pytestmark = BROWSER_TIER
HEADERS = {"Authorization": f"Token {DEV_TOKEN}"}


def artifact_path(name: str) -> Path:
    folder = Path(os.environ.get("OMNITRON_MOCK_ARTIFACTS") or tempfile.mkdtemp(prefix="omnitron-mock-artifacts-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


@pytest.fixture
def server() -> Any:
    with HTTPServer(create_app(), port=0) as running:
        yield running


def test_inspector_shows_the_documented_flow_filters_and_resets(server: HTTPServer) -> None:
    bulk = f"{server.url}/api/i1/order_items/bulk_status_update/"
    good = documented("request")  # the documented example flow
    bad = {"orderitem_set": [{"id": 4, "status": "9"}]}
    assert requests.patch(bulk, json=good, headers=HEADERS, timeout=10).status_code == 200
    assert requests.patch(bulk, json=bad, headers=HEADERS, timeout=10).status_code == 400

    with browser_page() as page:
        console_errors: list[str] = []
        fetched: list[str] = []
        page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: console_errors.append(str(error)))
        page.on("request", lambda request: fetched.append(request.url))

        page.goto(f"{server.url}/_mock/")
        entries = page.locator(".journal .entry")
        expect(entries).to_have_count(2)
        expect(entries.locator(".badge")).to_have_text(["schema errors", "ok"])
        expect(entries.locator(".status")).to_have_text(["400", "200"])
        expect(page.get_by_role("heading", name="Orders and items")).to_be_visible()
        # the state after the documented request: each item as the request made it
        expect(page.locator("#item-1 .item-status")).to_have_text("450 preparing")
        expect(page.locator("#item-2 td")).to_have_text(
            [
                "1185185002",
                "500 shipped",
                "TR123123",
                "ups",
                "SEP123123",
                "2021-07-14T00:00:00Z",
                "http://e.archive.url/SEP123123",
                # The ERP loop's columns: not mapped yet, so its stock is still reserved.
                "—",
                "reserved",
            ]
        )
        expect(page.locator("#item-3 .item-status")).to_have_text("500 shipped")
        expect(page.locator("#item-4 .item-status")).to_have_text("400 approved")

        # expand the bad request: its answer is right there
        entries.first.locator("summary").click()
        expect(entries.first.locator("pre.body").last).to_contain_text("No matching type.")

        screenshot = artifact_path("inspector.png")
        page.screenshot(path=str(screenshot), full_page=True)
        ARTIFACTS.append(f"inspector screenshot: {screenshot}")

        # the page refreshes itself while open
        requests.get(f"{server.url}/api/i1/orders/1/", headers={**HEADERS, "X-Mock-Fault": "status=503"}, timeout=10)
        expect(entries).to_have_count(3, timeout=15_000)
        expect(entries.first.locator(".badge")).to_have_text("fault injected")

        # filter: 4xx only
        page.get_by_label("Status").select_option("4xx")
        page.get_by_role("button", name="Filter").click()
        expect(page.locator(".journal .entry")).to_have_count(1)
        expect(page.locator(".journal .entry .badge")).to_have_text("schema errors")

        # reset: the state returns to the seed, the journal empties
        page.get_by_role("button", name="Reset to the seed").click()
        for item_id in (1, 2, 3):
            expect(page.locator(f"#item-{item_id} .item-status")).to_have_text("400 approved")
        expect(page.locator(".journal .entry")).to_have_count(0)

    assert console_errors == []
    outside = [url for url in fetched if not url.startswith((server.url, "data:"))]
    assert outside == [], "the page fetched something from outside the emulator"


def test_inspector_works_without_javascript(server: HTTPServer) -> None:
    requests.patch(
        f"{server.url}/api/i1/order_items/bulk_status_update/",
        json={"orderitem_set": [{"id": 1, "tracking_no": "x"}]},
        headers=HEADERS,
        timeout=10,
    )
    with browser_page() as page:
        page.route("**/*.js", lambda route: route.abort())
        page.goto(f"{server.url}/_mock/")
        entry = page.locator(".journal .entry")
        expect(entry.locator(".badge")).to_have_text("unknown fields")
        entry.locator("summary").click()
        expect(entry.get_by_text("$.orderitem_set[0].tracking_no")).to_be_visible()


# Holds every fetch of the page's fragment until the test answers or fails it.
HOLD_FRAGMENT_FETCHES = """
(() => {
  const realFetch = window.fetch.bind(window);
  const held = [];
  window.fragmentFetches = 0;
  window.fetch = (url, options) => {
    if (!String(url).includes("/ui/fragment")) { return realFetch(url, options); }
    window.fragmentFetches += 1;
    return new Promise((resolve, reject) => { held.push({ resolve, reject, url, options }); });
  };
  window.answerFragment = () => { const fetch = held.shift(); fetch.resolve(realFetch(fetch.url, fetch.options)); };
  window.failFragment = () => { held.shift().reject(new TypeError("the emulator is restarting")); };
})();
"""


def test_a_slow_refresh_delays_the_next_one(server: HTTPServer) -> None:
    """The next refresh is scheduled when the current one ends: a slow
    answer never has others piling up behind it (the page's clock is Playwright's)."""
    with browser_page() as page:
        page.add_init_script(script=HOLD_FRAGMENT_FETCHES)
        page.clock.install(time=1_000_000)
        page.clock.pause_at(1_001_000)
        page.goto(f"{server.url}/_mock/")
        entries = page.locator(".journal .entry")
        expect(entries).to_have_count(0)

        def fetches() -> int:
            return page.evaluate("window.fragmentFetches")

        page.clock.run_for(2_000)
        assert fetches() == 1
        page.clock.run_for(20_000)
        assert fetches() == 1, "no refresh starts while one is still waiting for its answer"

        # The answer comes: the page shows it, and the next refresh follows two seconds later.
        requests.get(f"{server.url}/api/i1/orders/1/", headers=HEADERS, timeout=10)
        page.evaluate("window.answerFragment()")
        expect(entries).to_have_count(1)
        page.clock.run_for(1_999)
        assert fetches() == 1
        page.clock.run_for(1)
        assert fetches() == 2

        # A failed refresh is tried again too, once.
        page.evaluate("window.failFragment()")
        page.clock.run_for(2_000)
        assert fetches() == 3
        page.clock.run_for(20_000)
        assert fetches() == 3
