"""JSON in and out, rendered as DRF's JSONRenderer does (compact, UTF-8)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def utf8_safe(text: str) -> str:
    """``text`` as UTF-8 can carry it: a lone surrogate (which a JSON ``\\udc00``
    escape gives) becomes its escape text, ``\\udc00``; anything else is kept.

    Inside a JSON string that text is the same escape again, so a JSON
    document stays valid and reads back the same.
    """
    if text.isascii():  # constant time: most texts end here
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def dumps(data: Any) -> str:
    """Compact JSON text that always encodes as UTF-8, whatever strings ``data`` holds."""
    return utf8_safe(_encoder.encode(data))


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(dumps(data), status=status, mimetype="application/json")
    if headers:
        response.headers.update(headers)
    return response
