"""The framework ceiling: a bare Flask endpoint answering the emulator's own
response to the documented bulk, as static bytes. Served by gunicorn exactly
like the emulator, so the two differ only in what the emulator does."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask, Response

_REQUEST = json.loads((Path(__file__).resolve().parents[1] / "tests/data/documented-request.json").read_text())


def _emulator_answer() -> bytes:
    from omnitron_mock import DEV_TOKEN, create_app

    client = create_app().test_client()
    response = client.patch(
        "/api/i1/order_items/bulk_status_update/", json=_REQUEST, headers={"Authorization": f"Token {DEV_TOKEN}"}
    )
    assert response.status_code == 200
    return response.get_data()


BODY = _emulator_answer()
app = Flask(__name__)


@app.patch("/api/i1/order_items/bulk_status_update/")
def bulk_status_update() -> Response:
    return Response(BODY, mimetype="application/json")
