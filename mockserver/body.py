"""Request bodies as DRF's JSONParser reads them."""

from __future__ import annotations

import codecs
import json
from typing import Any

from mockserver import errors

_JSON_TYPES = {("application", "json"), ("application", "*"), ("*", "*")}


def _media_type(content_type: str) -> tuple[tuple[str, str], dict[str, str]]:
    full, *raw_params = content_type.split(";")
    main, _, sub = full.strip().lower().partition("/")
    params = {}
    for raw in raw_params:
        key, _, value = raw.partition("=")
        params[key.strip().lower()] = value.strip().strip('"')
    return (main, sub), params


def _reject_constant(name: str) -> Any:
    raise ValueError(f"Out of range float values are not JSON compliant: {name!r}")


def parse_json_body(raw: bytes, content_type: str | None) -> Any:
    """Decode a write's body.

    An empty body reads as ``{}`` whatever its type (DRF parses nothing then);
    otherwise the media type must be JSON (415) and the text valid JSON (400).
    """
    if not raw:
        return {}
    content_type = content_type or ""
    media_type, params = _media_type(content_type)
    if media_type not in _JSON_TYPES:
        raise errors.unsupported_media_type(content_type)
    encoding = params.get("charset", "utf-8")
    try:
        codecs.lookup(encoding)
    except LookupError:
        # Django ignores a charset it does not know and falls back to UTF-8.
        encoding = "utf-8"
    try:
        return json.loads(raw.decode(encoding), parse_constant=_reject_constant)
    except ValueError as problem:
        raise errors.parse_error(str(problem)) from None
    except RecursionError:
        raise errors.parse_error("maximum nesting depth exceeded") from None
