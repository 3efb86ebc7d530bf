"""The request journal: what each client sent, what it got, what the contract says.

Entries are recorded cheaply (raw text); the contract verdict is worked out
only when someone reads the journal, so it costs the hot path nothing.
Reading never fails: whatever a client sent is shown, as JSON when JSON can
carry it and as text otherwise.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from omnitron_mock.body import MAX_DEPTH, loads_strict, nesting_depth
from omnitron_mock.contracts import Contracts
from omnitron_mock.jsonio import utf8_safe
from omnitron_mock.masking import masked_bodies, masked_headers, masked_query, masked_url
from omnitron_mock.store.base import Row, utf8_length, verdict_size

# The journal keeps each header's name and value up to HEADER_BYTES bytes and
# all of an entry's headers up to HEADERS_BYTES (names and values in UTF-8):
# a client may send hundreds of kilobytes of headers with every request.
HEADER_BYTES = 4 * 1024
HEADERS_BYTES = 16 * 1024

_HEADER_NAMES: dict[str, str] = {}
# Clients choose header names: remember only so many, or the cache grows without end.
_MAX_HEADER_NAMES = 1024


def request_headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request's headers as werkzeug's ``EnvironHeaders`` names them."""
    headers = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            if key in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                continue
        elif key not in ("CONTENT_TYPE", "CONTENT_LENGTH") or not value:
            continue
        name = _HEADER_NAMES.get(key)
        if name is None:
            name = key.removeprefix("HTTP_").replace("_", "-").title()
            if len(_HEADER_NAMES) < _MAX_HEADER_NAMES:
                _HEADER_NAMES[key] = name
        headers[name] = value
    return headers


def record(
    *,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    status: int,
    response_body: bytes | str,
    duration_ms: float,
    request_contract: str | None,
    contracts: Contracts,
    body_limit: int,
    fault: str | None = None,
) -> Row:
    """A journal entry in stored form (bodies as text, no verdict yet).

    Secrets are masked (:mod:`omnitron_mock.masking`). Bodies longer than
    ``body_limit`` bytes keep their first ``body_limit`` bytes and say how
    long they were; the verdict of a cut body is worked out now, from all of it.
    Headers are masked first and then cut (:func:`cut_headers`).
    Every text is one UTF-8 can carry (:func:`~omnitron_mock.jsonio.utf8_safe`),
    so no store and no reader of the journal fails on it.
    """
    response = response_body if isinstance(response_body, str) else response_body.decode("utf-8", "replace")
    content_type = headers.get("Content-Type")
    body, response = masked_bodies(path, content_type, body, response)
    # An answer may echo a lone surrogate the client sent as a JSON escape.
    response = utf8_safe(response)
    kept_headers, headers_length, headers_omitted = cut_headers(_safe_headers(masked_headers(headers)))
    entry: Row = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "method": method,
        "path": utf8_safe(masked_url(path) if "?" in path else path),
        "query": utf8_safe(masked_query(query)),
        "headers": kept_headers,
        "body": body[:body_limit].decode("utf-8", "replace"),
        "status": status,
        "response": response,
        "duration_ms": round(duration_ms, 3),
        # A read of a route that also takes writes (orders/{pk}/) sends no body to judge.
        "request_contract": request_contract if _has_verdict(request_contract, method) else None,
        "fault": fault,
    }
    if headers_length is not None:
        entry["headers_length"] = headers_length
        if headers_omitted:
            entry["headers_omitted"] = headers_omitted
    if len(body) > body_limit:
        entry["body_length"] = len(body)
        if _has_verdict(request_contract, method):
            entry["verdict"] = _verdict(contracts, str(request_contract), body.decode("utf-8", "replace"))
    if len(response) > body_limit:
        encoded = response.encode("utf-8")
        if len(encoded) > body_limit:
            entry["response"] = encoded[:body_limit].decode("utf-8", "ignore")
            entry["response_length"] = len(encoded)
    return entry


def _safe_headers(headers: dict[str, str]) -> dict[str, str]:
    # One check for all of them: utf8_safe gives back the very text it was given when that is safe.
    everything = "".join([*headers, *headers.values()])
    if utf8_safe(everything) is everything:
        return headers
    return {utf8_safe(name): utf8_safe(value) for name, value in headers.items()}


def cut_headers(headers: dict[str, str]) -> tuple[dict[str, str], int | None, int]:
    """``headers`` as the journal keeps them: (headers, bytes sent, headers left out).

    Each name and each value keeps its first :data:`HEADER_BYTES` bytes, and
    all of them together their first :data:`HEADERS_BYTES`, in the order
    sent: a header past that is left out. A cut text ends with
    ``…[cut: N bytes]`` (N its length as sent). ``headers`` come masked, and
    lengths count them so (a secret's length does not show); the bytes sent
    (all names and values in UTF-8) are None when nothing was cut.
    """
    sizes = [(utf8_length(name), utf8_length(value)) for name, value in headers.items()]
    total = sum(name + value for name, value in sizes)
    if total <= HEADERS_BYTES and all(name <= HEADER_BYTES and value <= HEADER_BYTES for name, value in sizes):
        return headers, None, 0
    kept: dict[str, str] = {}
    room = HEADERS_BYTES
    omitted = 0
    for (name, value), (name_size, value_size) in zip(headers.items(), sizes, strict=True):
        shown_name = _cut_text(name, name_size, min(HEADER_BYTES, room))
        if room <= 0 or shown_name in kept:
            # No room left, or its cut name is that of a header kept already.
            omitted += 1
            continue
        room -= min(name_size, HEADER_BYTES, room)
        kept[shown_name] = _cut_text(value, value_size, min(HEADER_BYTES, room))
        room -= min(value_size, HEADER_BYTES, room)
    return kept, total, omitted


def _cut_text(text: str, size: int, limit: int) -> str:
    """``text`` (``size`` bytes in UTF-8) as its first ``limit`` bytes and a
    mark saying how long it was, or whole when it fits."""
    if size <= limit:
        return text
    head = text.encode("utf-8", "surrogatepass")[:limit].decode("utf-8", "ignore")
    return f"{head}…[cut: {size} bytes]"


def _has_verdict(contract: str | None, method: str) -> bool:
    return bool(contract) and method in ("POST", "PUT", "PATCH")


def _as_json(text: str) -> Any:
    """A body as a JSON value, or as its text when JSON cannot carry it back
    out (not JSON, NaN, huge numbers, lone surrogates, deep nesting)."""
    if not text:
        return None
    try:
        return loads_strict(text)
    except ValueError:
        return utf8_safe(text)


def present(entry: Row, contracts: Contracts) -> Row:
    """The public form of an entry: bodies decoded, contract verdict added.

    Whatever a client sent, the result encodes as strict JSON.
    """
    shown = dict(entry)
    shown["body"] = _as_json(entry["body"])
    shown["response"] = _as_json(entry["response"])
    for name in ("path", "query"):
        if isinstance(entry.get(name), str):
            shown[name] = utf8_safe(entry[name])
    if isinstance(entry.get("headers"), dict):
        shown["headers"] = _safe_headers(entry["headers"])
    shown["headers_truncated"] = "headers_length" in entry
    shown["body_truncated"] = "body_length" in entry
    shown["response_truncated"] = "response_length" in entry
    contract = entry.get("request_contract")
    if "verdict" in entry:
        shown["verdict"] = dict(entry["verdict"])
    elif _has_verdict(contract, entry["method"]):
        shown["verdict"] = dict(_verdict(contracts, str(contract), entry["body"]))
    else:
        shown["verdict"] = {"contract": contract, "schema_errors": [], "unknown_fields": [], "ok": True}
    return shown


# Clients repeat the same bodies (test suites above all): a journal of
# thousands of entries holds few distinct ones, and schema checks are slow.
# Keyed by the body's digest, so the cache holds verdicts, not bodies: each
# with its size (base.verdict_size), bounded in count and in bytes.
_VERDICTS: OrderedDict[tuple[int, str, bytes], tuple[Row, int]] = OrderedDict()
_VERDICTS_LOCK = threading.Lock()
_MAX_VERDICTS = 4096
_MAX_VERDICT_BYTES = 16 * 1024 * 1024
_verdict_bytes = 0
# A body full of mistakes would make a verdict as large as the body: at most
# so many findings, and each text at most so long (instance values quoted in
# messages and client-chosen field names are cut with "…").
_MAX_REPORTED = 100
_MAX_QUOTED = 200
_MAX_TEXT = 400


def clear_verdicts() -> None:
    """Forget every cached verdict (a reset and a cleared journal do)."""
    global _verdict_bytes
    with _VERDICTS_LOCK:
        _VERDICTS.clear()
        _verdict_bytes = 0


def verdict_cache_usage() -> tuple[int, int]:
    """(verdicts cached, about how many bytes they hold)."""
    with _VERDICTS_LOCK:
        return len(_VERDICTS), _verdict_bytes


def _verdict(contracts: Contracts, contract: str, body_text: str) -> Row:
    global _verdict_bytes
    key = (id(contracts), contract, hashlib.sha256(body_text.encode("utf-8", "surrogatepass")).digest())
    with _VERDICTS_LOCK:
        found = _VERDICTS.get(key)
        if found is not None:
            _VERDICTS.move_to_end(key)
            return found[0]
    verdict = _work_out_verdict(contracts, contract, body_text)
    size = verdict_size(verdict)
    with _VERDICTS_LOCK:
        previous = _VERDICTS.pop(key, None)
        if previous is not None:
            _verdict_bytes -= previous[1]
        _VERDICTS[key] = (verdict, size)
        _verdict_bytes += size
        # The newest stays even when it alone is over the byte bound.
        while len(_VERDICTS) > 1 and (len(_VERDICTS) > _MAX_VERDICTS or _verdict_bytes > _MAX_VERDICT_BYTES):
            _verdict_bytes -= _VERDICTS.popitem(last=False)[1][1]
    return verdict


def _work_out_verdict(contracts: Contracts, contract: str, body_text: str) -> Row:
    unknown: list[str] = []
    try:
        body = json.loads(body_text, parse_constant=_refuse) if body_text else {}
    except (ValueError, RecursionError):
        schema_errors: list[Row] = [{"path": "$", "message": "body is not valid JSON"}]
    else:
        if nesting_depth(body) > MAX_DEPTH:
            message = f"body nests deeper than {MAX_DEPTH} levels; not checked further"
            return {
                "contract": contract,
                "schema_errors": [{"path": "$", "message": message}],
                "unknown_fields": [],
                "ok": False,
            }
        schema_errors = [
            {"path": _shown(e.path), "message": _shown(_short_instance(e.message))}
            for e in contracts.validate(contract, body)[:_MAX_REPORTED]
        ]
        unknown = [_shown(name) for name in contracts.unknown_fields(contract, body)[:_MAX_REPORTED]]
    return {
        "contract": contract,
        "schema_errors": schema_errors,
        "unknown_fields": unknown,
        "ok": not schema_errors and not unknown,
    }


def _refuse(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _shown(text: str) -> str:
    """A verdict's text, at most :data:`_MAX_TEXT` characters (the middle
    cut), that UTF-8 can carry (a lone surrogate in a field name shows as its escape)."""
    if len(text) > _MAX_TEXT:
        tail = _MAX_TEXT // 4
        text = f"{text[: _MAX_TEXT - tail - 1]}…{text[-tail:]}"
    return utf8_safe(text)


def _short_instance(message: str) -> str:
    """``message`` with the instance it starts with cut to :data:`_MAX_QUOTED`
    characters: jsonschema quotes the value it refuses (``'xxx…' is too long``)."""
    if len(message) <= _MAX_QUOTED or message[0] not in "'\"":
        return message
    quote = message[0]
    position = 1
    while (end := message.find(quote, position)) >= 0:
        backslashes = 0
        while message[end - 1 - backslashes] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            break
        position = end + 1
    else:
        return message
    if end < _MAX_QUOTED:
        return message
    return f"{message[:_MAX_QUOTED]}…{quote}{message[end + 1 :]}"


def matches(entry: Row, method: str | None, path: str | None, status: int | None) -> bool:
    """Journal filter: exact method (any case), path substring, exact status."""
    return (
        (method is None or entry["method"] == method.upper())
        and (path is None or path in entry["path"])
        and (status is None or entry["status"] == status)
    )
