"""DRF field semantics for the values a client sends.

Each parser takes the value as decoded from JSON and returns the internal
value, or raises :class:`Invalid` with DRF's message list.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, datetime, timedelta, timezone

from omnitron_mock.body import MAX_DEPTH, NotPlainJSON, OutOfRange, TooDeep, check_plain
from omnitron_mock.contracts import load_schema

NULL = "This field may not be null."
REQUIRED = "This field is required."
BLANK = "This field may not be blank."
NOT_A_STRING = "Not a valid string."
INVALID_INTEGER = "A valid integer is required."
INTEGER_TOO_LONG = "String value too large."
INVALID_URL = "Enter a valid URL."
DATETIME_FORMAT = (
    "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)
NUL_CHARACTER = "Null characters are not allowed."
DATETIME_OVERFLOW = "Datetime value out of range."

_MAX_INTEGER_STRING = 1000
_FORBIDDEN_CHARACTERS = re.compile("[\x00\ud800-\udfff]")
_INTEGER_TEXT = re.compile(r"\s*[-+]?[0-9]+(?:\.0*)?\s*")
# Django's parse_datetime pattern, which the DRF message above describes; it
# accepts exactly what the contract's datetime pattern does.
_DATETIME = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{1,2})-(?P<day>[0-9]{1,2})"
    r"[T ](?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{1,2})"
    r"(?::(?P<second>[0-9]{1,2})(?:[.,](?P<microsecond>[0-9]{1,6})[0-9]{0,6})?)?"
    r"\s*(?P<tzinfo>Z|[+-][0-9]{2}(?::?[0-9]{2})?)?$"
)
# One source: the request contract's own patterns, searched as jsonschema does.
_REQUEST_DEFS = load_schema("bulk-status-update-request")["$defs"]
_URL = re.compile(_REQUEST_DEFS["url"]["pattern"])
_DATETIME_CONTRACT = re.compile(_REQUEST_DEFS["datetime"]["pattern"])


class Invalid(Exception):
    """A value a field refuses; ``messages`` is what DRF would list."""

    def __init__(self, *messages: str) -> None:
        super().__init__(*messages)
        self.messages = list(messages)


def expect_dict(data: object) -> dict:
    """A serializer's input must be an object; DRF words the refusal so."""
    if data is None:
        raise Invalid("No data provided")
    if not isinstance(data, dict):
        raise Invalid(f"Invalid data. Expected a dictionary, but got {type(data).__name__}.")
    return data


def integer(value: object) -> int:
    """DRF IntegerField: ints, integral floats and numeric strings."""
    if value is None:
        raise Invalid(NULL)
    if isinstance(value, bool):
        raise Invalid(INVALID_INTEGER)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise Invalid(INVALID_INTEGER)
    if isinstance(value, str):
        if len(value) > _MAX_INTEGER_STRING:
            raise Invalid(INTEGER_TOO_LONG)
        if _INTEGER_TEXT.fullmatch(value):
            return int(value.strip().partition(".")[0])
    raise Invalid(INVALID_INTEGER)


def text(value: object, max_length: int = 255) -> str:
    """DRF CharField: strings trimmed, numbers coerced, blank refused."""
    if value is None:
        raise Invalid(NULL)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise Invalid(NOT_A_STRING)
    if isinstance(value, float) and value.is_integer():
        # JSON has no distinction between 12 and 12.0: both read as "12".
        value = int(value)
    stripped = str(value).strip()
    if not stripped:
        raise Invalid(BLANK)
    if len(stripped) > max_length or _FORBIDDEN_CHARACTERS.search(stripped):
        raise Invalid(*_text_problems(stripped, max_length))
    return stripped


def _text_problems(stripped: str, max_length: int) -> list[str]:
    problems = []
    if len(stripped) > max_length:
        problems.append(f"Ensure this field has no more than {max_length} characters.")
    if "\x00" in stripped:
        problems.append(NUL_CHARACTER)
    surrogate = re.search("[\ud800-\udfff]", stripped)
    if surrogate is not None:
        problems.append(f"Surrogate characters are not allowed: U+{ord(surrogate.group()):X}.")
    return problems


def choice(value: object, choices: Collection[str], not_found: str | None = None) -> str:
    """A code of ``choices``; ``not_found`` replaces DRF's invalid-choice message."""
    if value is None:
        raise Invalid(NULL)
    candidate = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if candidate in choices:
        return candidate
    raise Invalid(not_found or f'"{_printable(str(value))}" is not a valid choice.')


def _printable(echoed: str) -> str:
    """An echoed value that UTF-8 can carry: a lone surrogate is shown as its escape."""
    return echoed.encode("utf-8", "backslashreplace").decode("utf-8")


def status_code(value: object, codes: Collection[str]) -> str:
    """A status code: a CharField whose value must be in the status table."""
    code = text(value)
    if code not in codes:
        raise Invalid("No matching type.")
    return code


def url(value: object, max_length: int = 255) -> str:
    """DRF URLField limited to http and https."""
    candidate = text(value, max_length)
    if not _URL.search(candidate):
        raise Invalid(INVALID_URL)
    return candidate


def iso_datetime(value: object) -> datetime:
    """DRF DateTimeField with the ISO 8601 input format; naive values read as UTC."""
    if value is None:
        raise Invalid(NULL)
    match = _DATETIME.match(value) if isinstance(value, str) and _DATETIME_CONTRACT.search(value) else None
    if match is None:
        raise Invalid(DATETIME_FORMAT)
    parts = match.groupdict()
    offset = parts.pop("tzinfo")
    fraction = (parts.pop("microsecond") or "").ljust(6, "0")
    try:
        moment = datetime(
            **{k: int(v) for k, v in parts.items() if v is not None},
            microsecond=int(fraction),
            tzinfo=_zone(offset),
        )
    except ValueError:
        raise Invalid(DATETIME_FORMAT) from None
    try:
        # DRF converts to the server's zone on input; near year 1 or 9999 an
        # offset pushes the moment off the calendar, which DRF words so.
        return moment.astimezone(UTC)
    except OverflowError:
        raise Invalid(DATETIME_OVERFLOW) from None


def _zone(offset: str | None) -> timezone:
    if offset in (None, "Z"):
        return UTC
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:]) if len(digits) > 2 else 0)
    if minutes >= 24 * 60:
        raise ValueError("offset out of range")
    return timezone(sign * timedelta(minutes=minutes))


def render_datetime(moment: datetime) -> str:
    """DRF's output: UTC with ``Z``, fraction only when it is not zero."""
    rendered = moment.astimezone(UTC).isoformat()
    return rendered.removesuffix("+00:00") + "Z"


INVALID_BOOLEAN = "Must be a valid boolean."
# DRF BooleanField's accepted spellings (1.0 and 0.0 hash as 1 and 0).
_TRUE_VALUES = frozenset({"t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1", 1})
_FALSE_VALUES = frozenset(
    {"f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0", 0}
)


def boolean(value: object) -> bool:
    """DRF BooleanField: true and false, and the strings and numbers it reads as them."""
    if value is None:
        raise Invalid(NULL)
    # A list or an object cannot be looked up (unhashable): not a boolean either.
    if isinstance(value, (bool, int, float, str)):
        if value in _TRUE_VALUES:
            return True
        if value in _FALSE_VALUES:
            return False
    raise Invalid(INVALID_BOOLEAN)


INVALID_JSON = "Value must be valid JSON."
TOO_DEEP = f"Nesting deeper than {MAX_DEPTH} levels is not stored."


def dictionary(value: object) -> dict:
    """DRF DictField: a JSON object, which the emulator keeps and sends back
    out as JSON: a number that overflowed to infinity, a lone surrogate (both
    JSON's grammar lets through) or nesting deeper than the control API takes
    in seeds (every later read that encodes it would fail) is refused, never stored."""
    if value is None:
        raise Invalid(NULL)
    if not isinstance(value, dict):
        raise Invalid(f'Expected a dictionary of items but got type "{type(value).__name__}".')
    try:
        check_plain(value)
    except TooDeep:
        raise Invalid(TOO_DEEP) from None
    except OutOfRange:
        # DRF's JSONField message for a value json.dumps cannot write strictly.
        raise Invalid(INVALID_JSON) from None
    except NotPlainJSON as problem:
        # A lone surrogate: the message names it.
        raise Invalid(str(problem)) from None
    return value
