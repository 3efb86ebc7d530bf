"""Request bodies as DRF's JSONParser reads them."""

from __future__ import annotations

import codecs
import json
from typing import Any

from omnitron_mock import errors

_JSON_TYPES = {("application", "json"), ("application", "*"), ("*", "*")}


def media_type_of(content_type: str) -> tuple[tuple[str, str], dict[str, str]]:
    full, *raw_params = content_type.split(";")
    main, _, sub = full.strip().lower().partition("/")
    params = {}
    for raw in raw_params:
        key, _, value = raw.partition("=")
        params[key.strip().lower()] = value.strip().strip('"')
    return (main, sub), params


def is_json_media_type(content_type: str | None) -> bool:
    """Whether a ``Content-Type`` names JSON (``application/json``, ``*+json``)."""
    (main, sub), _ = media_type_of(content_type or "")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


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
    media_type, params = media_type_of(content_type)
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


# Deeper documents are refused by the control API and shown as text in the
# journal: the inspector renders nested values recursively.
MAX_DEPTH = 64


class NotPlainJSON(ValueError):
    """A document JSON's grammar allows but that JSON cannot carry back out."""


class TooDeep(NotPlainJSON):
    """A document nested deeper than :data:`MAX_DEPTH` levels."""


class OutOfRange(NotPlainJSON):
    """A number JSON cannot write back strictly (NaN, an infinity)."""


def _reject_overflow(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise NotPlainJSON(f"Number out of range: {text[:40]!r}")
    return value


def loads_strict(text: str) -> Any:
    """JSON that survives a round trip: no ``NaN``/``Infinity``, no number
    beyond a float's range, no lone surrogate, at most :data:`MAX_DEPTH` levels.

    Raises ``ValueError`` saying which rule the text breaks.
    """
    try:
        document = json.loads(text, parse_constant=_reject_constant, parse_float=_reject_overflow)
    except RecursionError:
        raise NotPlainJSON("maximum nesting depth exceeded") from None
    check_plain(document)
    return document


def check_plain(document: Any) -> None:
    """Raise :class:`NotPlainJSON` for values a strict JSON encoder refuses."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise OutOfRange(f"Out of range float values are not JSON compliant: {value!r}")
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise TooDeep(f"nesting deeper than {MAX_DEPTH} levels")
            if isinstance(value, dict):
                for key, item in value.items():
                    _check_text(key)
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in value)


def nesting_depth(document: Any) -> int:
    """How many arrays and objects deep ``document`` goes (without recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            stack.extend((item, depth + 1) for item in (value.values() if isinstance(value, dict) else value))
    return deepest


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as problem:
        code = ord(text[problem.start])
        raise NotPlainJSON(f"Surrogate characters are not allowed: U+{code:X}.") from None
