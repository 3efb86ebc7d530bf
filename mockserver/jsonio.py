"""JSON in and out, rendered as DRF's JSONRenderer does (compact, UTF-8)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dumps(data: Any) -> str:
    return _encoder.encode(data)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(dumps(data), status=status, mimetype="application/json")
    if headers:
        response.headers.update(headers)
    return response
