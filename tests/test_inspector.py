"""The inspector page, read as HTML (the browser tests drive it for real)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from omnitron_mock import DEV_TOKEN, Settings, create_app, inspector

BULK = "/api/i1/order_items/bulk_status_update/"


def form_token(html: str) -> str:
    """The hidden token the inspector's forms post back."""
    match = re.search(r'<input type="hidden" name="csrf_token" value="([^"]+)">', html)
    assert match, "the page's forms carry no token"
    return match.group(1)


def submit(client: FlaskClient, path: str, **fields: str) -> Any:
    """Post one of the inspector's forms as the page does (its token in a hidden field)."""
    token = form_token(client.get("/_mock/").get_data(as_text=True))
    return client.post(path, data={**fields, "csrf_token": token})


@pytest.fixture
def busy(client: FlaskClient, auth: dict[str, str]) -> FlaskClient:
    """A good bulk with a typo, a bad bulk, and a faulted read."""
    client.patch(BULK, json={"orderitem_set": [{"id": 1, "status": "450", "tracking_no": "x"}]}, headers=auth)
    client.patch(BULK, json={"orderitem_set": [{"id": 2, "status": "9"}]}, headers=auth)
    client.get("/api/i1/orders/1/", headers={**auth, "X-Mock-Fault": "status=503"})
    client.patch(BULK, json={"orderitem_set": [{"id": 3, "tracking_number": "TR3"}]}, headers=auth)
    return client


def badges(html: str) -> list[str]:
    return re.findall(r'class="badge badge-(\w+)"', html)


def test_page_lists_requests_newest_first_with_verdict_badges(busy: FlaskClient) -> None:
    response = busy.get("/_mock/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert badges(html) == ["ok", "fault", "schema", "unknown"]
    assert "$.orderitem_set[0].tracking_no" in html
    assert DEV_TOKEN not in html, "tokens stay masked"
    assert "No matching type." in html


def test_state_shows_status_names_and_highlights_the_last_change(busy: FlaskClient) -> None:
    html = busy.get("/_mock/").get_data(as_text=True)
    assert re.search(r'<tr id="item-3" class="changed">', html)
    assert not re.search(r'<tr id="item-1" class="changed">', html)
    assert re.search(r'id="item-1".*?<td class="item-status">450 preparing</td>', html, re.DOTALL)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=4xx", ["schema"]),
        ("status=5xx", ["fault"]),
        ("verdict=unknown", ["unknown"]),
        ("path=orders", ["fault"]),
    ],
)
def test_filters(busy: FlaskClient, query: str, expected: list[str]) -> None:
    html = busy.get(f"/_mock/?{query}").get_data(as_text=True)
    assert badges(html) == expected
    fragment = busy.get(f"/_mock/ui/fragment?{query}").get_data(as_text=True)
    assert badges(fragment) == expected
    assert "<html" not in fragment


def test_unknown_filter_values_are_ignored(busy: FlaskClient) -> None:
    assert len(badges(busy.get("/_mock/?status=9xx&verdict=bogus").get_data(as_text=True))) == 4


def test_reset_and_clear_faults_buttons(client: FlaskClient, auth: dict[str, str]) -> None:
    client.patch(BULK, json={"orderitem_set": [{"id": 1, "status": "450"}]}, headers=auth)
    client.post("/_mock/faults", json={"kind": "status", "status": 500})
    assert "<strong>status</strong> 500" in client.get("/_mock/").get_data(as_text=True)
    cleared = submit(client, "/_mock/ui/clear-faults")
    assert (cleared.status_code, cleared.headers["Location"]) == (303, "/_mock/")
    assert client.get("/_mock/faults").get_json() == {"faults": []}
    assert submit(client, "/_mock/ui/reset").status_code == 303
    assert client.get("/api/i1/order_items/1/", headers=auth).get_json()["status"] == "400"


def test_assets_are_served_locally(client: FlaskClient) -> None:
    html = client.get("/_mock/").get_data(as_text=True)
    assets = re.findall(r'(?:href|src)="([^"]+)"', html)
    assert all(asset.startswith(("/", "data:")) for asset in assets), assets
    for asset in ("/_mock/static/inspector.css", "/_mock/static/inspector.js"):
        assert client.get(asset).status_code == 200


def test_page_structure_is_accessible(client: FlaskClient) -> None:
    html = client.get("/_mock/").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert html.count("<h1>") == 1 and "<h2" in html
    for control in ("filter-path", "filter-status", "filter-verdict"):
        assert f'<label for="{control}">' in html and f'id="{control}"' in html
    assert '<th scope="col">' in html and "<caption>" in html


@pytest.fixture
def guarded() -> FlaskClient:
    return create_app(Settings(admin_token="ui-secret")).test_client()


def test_admin_token_guards_the_page_and_its_buttons(guarded: FlaskClient) -> None:
    page: Any = guarded.get("/_mock/")
    assert page.status_code == 401
    assert 'name="admin_token"' in page.get_data(as_text=True)
    assert submit(guarded, "/_mock/ui/reset").status_code == 401
    wrong = submit(guarded, "/_mock/ui/login", admin_token="guess")
    assert wrong.status_code == 303
    assert guarded.get("/_mock/").status_code == 403
    submit(guarded, "/_mock/ui/login", admin_token="ui-secret")
    assert guarded.get("/_mock/").status_code == 200
    assert submit(guarded, "/_mock/ui/reset").status_code == 303
    assert guarded.get("/_mock/state").status_code == 200, "the cookie opens the control API too"


def test_big_stores_show_the_first_orders_only(auth: dict[str, str]) -> None:
    from omnitron_mock.seed import generate_seed_document

    client = create_app(seed=generate_seed_document(205, 1)).test_client()
    html = client.get("/_mock/").get_data(as_text=True)
    assert html.count('<table class="order">') == 200
    assert "Only the first 200 orders are shown" in html


@pytest.fixture
def small_scan(monkeypatch: pytest.MonkeyPatch) -> int:
    """The inspector shows 10 entries and searches the newest 30 per refresh (200 and 1,000 in earnest)."""
    monkeypatch.setattr(inspector, "SHOWN_REQUESTS", 10)
    monkeypatch.setattr(inspector, "SEARCHED_REQUESTS", 30)
    return 30


NOTE = "searched the newest 30 requests only"


def test_a_filtered_refresh_searches_the_newest_requests_only(
    client: FlaskClient, auth: dict[str, str], small_scan: int
) -> None:
    client.get("/api/i1/orders/1/", headers={**auth, "X-Mock-Fault": "status=503"})  # older than the search reaches
    for _ in range(small_scan):
        client.get("/api/i1/orders/2/", headers=auth)
    for page in (
        "/_mock/?status=5xx",
        "/_mock/ui/fragment?status=5xx",
        "/_mock/?verdict=fault",
        "/_mock/?path=orders/1",
    ):
        html = client.get(page).get_data(as_text=True)
        assert badges(html) == [], page
        assert NOTE in html, page
    # A page filled before the search ends needs no note.
    for page in ("/_mock/", "/_mock/?status=2xx"):
        html = client.get(page).get_data(as_text=True)
        assert len(badges(html)) == 10 and NOTE not in html, page
    # Nor does a search that reached the oldest entry.
    client.delete("/_mock/requests")
    client.get("/api/i1/orders/1/", headers={**auth, "X-Mock-Fault": "status=503"})
    for _ in range(small_scan - 1):
        client.get("/api/i1/orders/2/", headers=auth)
    html = client.get("/_mock/?status=5xx").get_data(as_text=True)
    assert badges(html) == ["fault"] and NOTE not in html


def test_filters_drop_entries_before_working_out_their_verdicts(
    client: FlaskClient, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(5):
        client.patch(BULK, json={"orderitem_set": [{"id": 1, "status": "450"}]}, headers=auth)
    client.get("/api/i1/orders/1/", headers=auth)
    presented: list[str] = []
    real_present = inspector.present

    def counting_present(entry: Any, contracts: Any) -> Any:
        presented.append(entry["path"])
        return real_present(entry, contracts)

    monkeypatch.setattr(inspector, "present", counting_present)
    assert len(badges(client.get("/_mock/?path=orders/1").get_data(as_text=True))) == 1
    assert presented == ["/api/i1/orders/1/"]
    presented.clear()
    assert badges(client.get("/_mock/?status=4xx").get_data(as_text=True)) == []
    assert presented == []
    presented.clear()
    assert badges(client.get("/_mock/?verdict=fault").get_data(as_text=True)) == []
    assert presented == []
