"""The inspector's forms in a real headless Chromium whose requests carry no
Origin and no Sec-Fetch-Site (an old browser, or one told to hide them): the
token each form carries is what lets them post, and nothing else does."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from omnitron_mock import DEV_TOKEN, create_app
from omnitron_mock.serving import HTTPServer

from tests.browser.chromium import BROWSER_TIER, browser_page

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the test extra brings it
    expect = None

pytestmark = BROWSER_TIER
HEADERS = {"Authorization": f"Token {DEV_TOKEN}"}
HIDDEN = ("origin", "sec-fetch-site")


@pytest.fixture
def server() -> Any:
    with HTTPServer(create_app(), port=0) as running:
        yield running


def _without_origin(posted: list[dict[str, str]], token: str | None = None) -> Any:
    """A route handler that sends the browser's form post itself, less the
    headers Chromium would add back, and hands the answer to the browser."""

    def handle(route: Any) -> None:
        request = route.request
        headers = {name: value for name, value in request.headers.items() if name.lower() not in HIDDEN}
        body = request.post_data or ""
        if token is not None:
            body = "&".join(f"csrf_token={token}" if p.startswith("csrf_token=") else p for p in body.split("&"))
        posted.append({"body": body, **headers})
        route.fulfill(response=route.fetch(headers=headers, post_data=body, max_redirects=0))

    return handle


def test_forms_post_through_their_token_alone(server: HTTPServer) -> None:
    bulk = f"{server.url}/api/i1/order_items/bulk_status_update/"
    assert requests.patch(bulk, json={"orderitem_set": [{"id": 1, "status": "450"}]}, headers=HEADERS).ok
    requests.post(f"{server.url}/_mock/faults", json={"kind": "status", "status": 500, "path": "/x/"}, timeout=10)
    posted: list[dict[str, str]] = []
    with browser_page() as page:
        page.route("**/_mock/ui/**", _without_origin(posted))
        page.goto(f"{server.url}/_mock/")
        expect(page.locator("#item-1 .item-status")).to_have_text("450 preparing")
        page.get_by_role("button", name="Clear faults").click()
        expect(page.get_by_role("heading", name="Active faults").locator("xpath=..")).to_contain_text("None.")
        page.get_by_role("button", name="Reset to the seed").click()
        expect(page.locator("#item-1 .item-status")).to_have_text("400 approved")
    assert len(posted) == 2 and not any(name.lower() in HIDDEN for headers in posted for name in headers)
    assert all(headers["body"].startswith("csrf_token=") for headers in posted), "the form sent its token"
    assert requests.get(f"{server.url}/_mock/faults", timeout=10).json() == {"faults": []}


def test_a_form_with_another_token_is_refused(server: HTTPServer) -> None:
    requests.post(f"{server.url}/_mock/faults", json={"kind": "status", "status": 500, "path": "/x/"}, timeout=10)
    posted: list[dict[str, str]] = []
    with browser_page() as page:
        page.route("**/_mock/ui/**", _without_origin(posted, token="forged"))
        page.goto(f"{server.url}/_mock/")
        page.get_by_role("button", name="Clear faults").click()
        expect(page.locator("body")).to_contain_text("Inspector form refused")
    assert len(posted) == 1
    assert len(requests.get(f"{server.url}/_mock/faults", timeout=10).json()["faults"]) == 1
