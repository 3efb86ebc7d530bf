"""Regenerate the README's screenshot of the inspector: ``python tests/browser/make_screenshot.py``.

Runs an emulator on a free loopback port, sends the documented example flow
(a good bulk, a line mapped and its order marked sent, a bad bulk, a
faulted read), opens ``/_mock/`` in headless
Chromium, expands the bad request and saves ``tests/browser/inspector.png``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from omnitron_mock import DEV_TOKEN, create_app  # noqa: E402
from omnitron_mock.serving import HTTPServer  # noqa: E402

from tests.browser.chromium import browser_page  # noqa: E402

TARGET = Path(__file__).resolve().parent / "inspector.png"


def documented_flow(url: str) -> None:
    headers = {"Authorization": f"Token {DEV_TOKEN}"}
    bulk = f"{url}/api/i1/order_items/bulk_status_update/"
    good = json.loads((ROOT / "tests" / "data" / "documented-request.json").read_text())
    requests.patch(bulk, json=good, headers=headers, timeout=10)
    # The ERP loop's acknowledgement: a line mapped, its order marked sent.
    mapping = {"code": "ERP-1-1", "update_stock": True}
    requests.post(f"{url}/api/i1/order_items/1/create_mapping/", json=mapping, headers=headers, timeout=10)
    requests.patch(f"{url}/api/i1/orders/1/", json={"is_send": True}, headers=headers, timeout=10)
    requests.patch(
        bulk, json={"orderitem_set": [{"id": 4, "status": "9", "tracking_no": "TR9"}]}, headers=headers, timeout=10
    )
    requests.get(f"{url}/api/i1/orders/1/", headers={**headers, "X-Mock-Fault": "status=503"}, timeout=10)


def main(target: Path = TARGET) -> Path:
    with HTTPServer(create_app(), port=0) as server:
        documented_flow(server.url)
        with browser_page(width=1280, height=1000) as page:
            page.goto(f"{server.url}/_mock/")
            page.locator(".entry details").nth(1).locator("summary").click()
            page.screenshot(path=str(target), full_page=False)
    return target


if __name__ == "__main__":
    print(main())
