"""The inspector page, read as HTML (the browser tests drive it for real)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from markupsafe import escape
from omnitron_mock import DEV_TOKEN, Settings, create_app, inspector
from omnitron_mock.service import Emulator

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
    assert html.count('<table class="order" id="order-') == 200
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
    real_present = Emulator.present

    def counting_present(self: Emulator, entry: Any) -> Any:
        presented.append(entry["path"])
        return real_present(self, entry)

    monkeypatch.setattr(Emulator, "present", counting_present)
    assert len(badges(client.get("/_mock/?path=orders/1").get_data(as_text=True))) == 1
    assert presented == ["/api/i1/orders/1/"]
    presented.clear()
    assert badges(client.get("/_mock/?status=4xx").get_data(as_text=True)) == []
    assert presented == []
    presented.clear()
    assert badges(client.get("/_mock/?verdict=fault").get_data(as_text=True)) == []
    assert presented == []


# -- previews: a refresh costs about the same whatever clients sent -----------------------------

HUGE_HEADERS = {f"X-H{number}": "v" * 8192 for number in range(30)}
# About 70 KB, and most of it grows when escaped for HTML.
HUGE_BODY = ('"<<‹' * 11_700).encode()


def entry_links(html: str) -> list[str]:
    return re.findall(r'<p class="whole-entry"><a href="([^"]+)">', html)


def test_a_refresh_of_huge_entries_stays_small(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inspector, "SHOWN_REQUESTS", 10)
    for _ in range(12):
        client.post("/api/i1/nothing/", data=HUGE_BODY, headers=HUGE_HEADERS)
    # Each entry shows at most three previews of PREVIEW_CHARS characters, each
    # character at most six bytes once escaped, and a few lines of markup.
    bound = inspector.SHOWN_REQUESTS * (3 * inspector.PREVIEW_CHARS * 6 + 4096)
    # Journal numbers go on across resets: the newest ten of the twelve, newest first.
    numbers = sorted((entry["id"] for entry in client.get("/_mock/requests").get_json()["requests"]), reverse=True)
    assert len(numbers) == 12
    for page in ("/_mock/ui/fragment", "/_mock/"):
        html = client.get(page).get_data(as_text=True)
        assert len(badges(html)) == 10, page
        assert len(html.encode()) < bound, (page, len(html.encode()))
        assert f"Preview: the first {inspector.PREVIEW_CHARS} of" in html
        assert entry_links(html) == [f"/_mock/ui/requests/{number}" for number in numbers[:10]]


def test_an_entry_page_shows_all_the_journal_kept(client: FlaskClient) -> None:
    client.post("/api/i1/nothing/?q=1", data=HUGE_BODY, headers=HUGE_HEADERS)
    [entry] = client.get("/_mock/requests").get_json()["requests"]
    assert entry["body_truncated"] and entry["headers_truncated"]
    [link] = entry_links(client.get("/_mock/").get_data(as_text=True))
    response = client.get(link)
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert str(escape(entry["body"])) in html, "the whole body the journal kept"
    for name, value in entry["headers"].items():
        assert str(escape(f"{name}: {value}")) in html
    assert "Preview:" not in html
    assert f"keeps the first 65536 of its {len(HUGE_BODY)} bytes" in html
    assert "/_mock/requests?method=POST&amp;path=/api/i1/nothing/&amp;status=404" in html


def test_long_verdicts_show_their_first_findings(client: FlaskClient, auth: dict[str, str]) -> None:
    document: dict[str, Any] = {"orderitem_set": [{"id": 1, "status": "450"}]}
    document.update({f"misspelt_{number:03d}": 1 for number in range(25)})
    client.patch(BULK, data=json.dumps(document), headers={**auth, "Content-Type": "application/json"})
    html = client.get("/_mock/").get_data(as_text=True)
    assert html.count("<li><code>$.misspelt_") == inspector.PREVIEW_FINDINGS
    assert f"And {25 - inspector.PREVIEW_FINDINGS} more" in html
    [link] = entry_links(html)
    assert client.get(link).get_data(as_text=True).count("<li><code>$.misspelt_") == 25


def test_short_entries_show_whole_in_the_list(busy: FlaskClient) -> None:
    html = busy.get("/_mock/").get_data(as_text=True)
    assert "Preview:" not in html
    assert "&#34;tracking_no&#34;: &#34;x&#34;" in html


def test_an_entry_page_of_an_entry_gone_says_so(client: FlaskClient, auth: dict[str, str]) -> None:
    client.get("/api/i1/orders/1/", headers=auth)
    for missing in ("/_mock/ui/requests/2", "/_mock/ui/requests/0", f"/_mock/ui/requests/{10**30}"):
        response = client.get(missing)
        assert response.status_code == 404, missing
        assert "The journal holds no request" in response.get_data(as_text=True)
    client.delete("/_mock/requests")
    assert client.get("/_mock/ui/requests/1").status_code == 404


def test_an_entry_page_asks_for_the_admin_token(guarded: FlaskClient) -> None:
    guarded.get("/api/i1/orders/1/", headers={"Authorization": f"Token {DEV_TOKEN}"})
    page: Any = guarded.get("/_mock/ui/requests/1")
    assert page.status_code == 401
    assert 'name="admin_token"' in page.get_data(as_text=True)
    submit(guarded, "/_mock/ui/login", admin_token="ui-secret")
    assert guarded.get("/_mock/ui/requests/1").status_code == 200


# -- the ERP loop: is_send, the last change, mappings and stock ---------------------------------


def mapping_url(item_id: int) -> str:
    return f"/api/i1/order_items/{item_id}/create_mapping/"


def caption(html: str, order_id: int) -> str:
    match = re.search(rf'<table class="order" id="order-{order_id}">\s*<caption>(.*?)</caption>', html, re.DOTALL)
    assert match, f"no order {order_id} on the page"
    return " ".join(match.group(1).split())


def item_cells(html: str, item_id: int) -> tuple[str, str]:
    """The ERP code and stock cells of an item's row."""
    match = re.search(
        rf'<tr id="item-{item_id}"[^>]*>.*?<td class="item-mapping">(.*?)</td>\s*<td class="item-stock">(.*?)</td>',
        html,
        re.DOTALL,
    )
    assert match, f"no item {item_id} on the page"
    return match.group(1), match.group(2)


def test_orders_show_is_send_and_their_last_change(client: FlaskClient, auth: dict[str, str]) -> None:
    client.post("/_mock/seed", json={"orders": [{"id": 9, "is_send": True, "modified_date": "2024-02-03T04:05:06Z"}]})
    assert client.patch("/api/i1/orders/1/", json={"is_send": True}, headers=auth).status_code == 200
    html = client.get("/_mock/").get_data(as_text=True)
    moved = client.get("/api/i1/orders/1/", headers=auth).get_json()["modified_date"]
    assert caption(html, 1) == (
        f'Order 1 · 1000000001 · 3 item(s) · <span class="order-sent sent-yes">is_send true</span> · '
        f'<span class="order-modified">last change {moved}</span> <span class="changed-note">changed</span>'
    )
    assert caption(html, 2).endswith(
        '<span class="order-sent sent-no">is_send false</span> · '
        '<span class="order-modified">last change 2021-07-13T09:00:00Z</span>'
    )
    assert "is_send true" in caption(html, 9) and "last change 2024-02-03T04:05:06Z" in caption(html, 9)


def test_items_show_their_erp_code_and_whether_their_stock_was_released(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    assert client.post(mapping_url(1), json={"code": "ERP-1"}, headers=auth).status_code == 201
    assert client.post(mapping_url(2), json={"code": "ERP-2", "update_stock": False}, headers=auth).status_code == 201
    html = client.get("/_mock/").get_data(as_text=True)
    assert item_cells(html, 1) == ("ERP-1", "released")
    assert item_cells(html, 2) == ("ERP-2", "reserved")
    assert item_cells(html, 3) == ("—", "reserved")
    assert submit(client, "/_mock/ui/reset").status_code == 303
    assert item_cells(client.get("/_mock/").get_data(as_text=True), 1) == ("—", "reserved")


def test_the_last_erp_write_is_highlighted(client: FlaskClient, auth: dict[str, str]) -> None:
    def highlighted() -> tuple[list[str], list[str]]:
        html = client.get("/_mock/").get_data(as_text=True)
        orders = [str(pk) for pk in (1, 2) if "changed-note" in caption(html, pk)]
        return re.findall(r'<tr id="item-(\d+)" class="changed">', html), orders

    client.patch("/api/i1/order_items/3/", json={"extra_field": {"erp": "x"}}, headers=auth)
    assert highlighted() == (["3"], [])
    client.post(mapping_url(4), json={"code": "ERP-4"}, headers=auth)
    assert highlighted() == (["4"], [])
    # The same mapping again changes nothing; a refused one neither.
    client.post(mapping_url(4), json={"code": "ERP-4"}, headers=auth)
    assert highlighted() == ([], [])
    client.post(mapping_url(4), json={"code": "ERP-other"}, headers=auth)
    assert highlighted() == ([], [])
    client.patch("/api/v1/orders/2/", json={"is_send": True}, headers=auth)
    assert highlighted() == ([], ["2"])
    client.patch("/api/i1/orders/2/", json={"is_send": "maybe"}, headers=auth)
    assert highlighted() == ([], [])


@pytest.mark.parametrize(
    "code",
    [
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "</td></tr></table><h1>x</h1>",
        "{{ 7 * 7 }} {% raw %}",
        "\u202eERP-1",
        "<" * 255,
        "&amp;" + "é<" * 125,
    ],
    ids=["script", "attribute", "markup", "template", "bidi-override", "longest-all-escaped", "entities"],
)
def test_a_mapping_code_renders_escaped(client: FlaskClient, auth: dict[str, str], code: str) -> None:
    assert client.post(mapping_url(1), json={"code": code}, headers=auth).status_code == 201
    response = client.get("/_mock/")
    assert response.status_code == 200
    html = response.data.decode("utf-8")
    assert item_cells(html, 1) == (str(escape(code)), "released")
    # Shown as sent: never markup, never evaluated as a template.
    assert "<script>alert" not in html and "<img" not in html and "<h1>x" not in html


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"code": "\\udc00"}', 400),
        (b'{"code": "ERP-\\ud800-1"}', 400),
        (b'{"code": "' + b"<" * 256 + b'"}', 400),
        (b'{"code": "' + b"<script>" * 200_000 + b'"}', 413),
    ],
    ids=["lone-surrogate", "surrogate-inside", "too-long", "huge"],
)
def test_a_refused_mapping_code_leaves_the_page_whole(
    client: FlaskClient, auth: dict[str, str], body: bytes, status: int
) -> None:
    sent = client.post(mapping_url(1), data=body, headers={**auth, "Content-Type": "application/json"})
    assert sent.status_code == status
    assert client.get("/_mock/state/mappings").get_json()["count"] == 0
    for page in ("/_mock/", "/_mock/ui/fragment"):
        response = client.get(page)
        assert response.status_code == 200, page
        html = response.data.decode("utf-8")  # strict: the page is UTF-8 whatever was sent
        assert item_cells(html, 1) == ("—", "reserved")
        assert "<script>" not in html
