"""A request a fault answers is journalled with its body, however it was sent."""

from __future__ import annotations

import io
import json
from typing import Any

from omnitron_mock import DEV_TOKEN
from werkzeug.test import EnvironBuilder, run_wsgi_app

BULK = "/api/i1/order_items/bulk_status_update/"
DOCUMENT = {"orderitem_set": [{"id": 1, "status": "450"}]}
HEADERS = {"Authorization": f"Token {DEV_TOKEN}", "Content-Type": "application/json"}


def _send(app: Any, fault: str, *, chunked: bool) -> str:
    """PATCH the bulk endpoint with an ``X-Mock-Fault`` header; the response status."""
    text = json.dumps(DOCUMENT).encode()
    builder = EnvironBuilder(path=BULK, method="PATCH", headers={**HEADERS, "X-Mock-Fault": fault}, data=text)
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    if chunked:
        # As gunicorn passes a chunked body: no length, the input marked terminated.
        del environ["CONTENT_LENGTH"]
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input"] = io.BytesIO(text)
        environ["wsgi.input_terminated"] = True
    _, status, _ = run_wsgi_app(app, environ, buffered=True)
    return status


def test_a_chunked_body_reaches_the_emulator(app: Any) -> None:
    assert _send(app, "latency=0", chunked=True).startswith("200")
    [entry] = app.test_client().get("/_mock/requests").get_json()["requests"]
    assert entry["body"] == DOCUMENT


def test_a_faulted_request_is_journalled_with_its_chunked_body(app: Any) -> None:
    assert _send(app, "status=503", chunked=True).startswith("503")
    [entry] = app.test_client().get("/_mock/requests").get_json()["requests"]
    assert (entry["fault"], entry["body"]) == ("status 503", DOCUMENT)


def test_a_faulted_request_is_journalled_with_its_body(app: Any) -> None:
    assert _send(app, "status=503", chunked=False).startswith("503")
    [entry] = app.test_client().get("/_mock/requests").get_json()["requests"]
    assert (entry["fault"], entry["body"]) == ("status 503", DOCUMENT)
