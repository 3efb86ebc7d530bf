"""The request journal: what each client sent, what it got, what the contract says.

Entries are recorded cheaply (raw text); the contract verdict is worked out
only when someone reads the journal, so it costs the hot path nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from contracts import Contracts
from mockserver.auth import mask_authorization, mask_secret
from mockserver.store.base import Row

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
    carries_credentials: bool = False,
    fault: str | None = None,
) -> Row:
    """A journal entry in stored form (bodies as text, no verdict yet).

    The token in ``Authorization`` is masked; so are the password and the
    returned key of a login (``carries_credentials``).
    """
    headers = {name: _masked_header(name, value) for name, value in headers.items()}
    if carries_credentials:
        body = _masked(body, "password", lambda value: "********")
        response_body = _masked(response_body, "key", mask_secret)
    return {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "method": method,
        "path": path,
        "query": query,
        "headers": headers,
        "body": body.decode("utf-8", "replace"),
        "status": status,
        "response": response_body if isinstance(response_body, str) else response_body.decode("utf-8", "replace"),
        "duration_ms": round(duration_ms, 3),
        "request_contract": request_contract,
        "fault": fault,
    }


_SECRET_HEADERS = {"cookie", "proxy-authorization", "x-mock-admin-token"}


def _masked_header(name: str, value: str) -> str:
    lowered = name.lower()
    if lowered == "authorization":
        return mask_authorization(value)
    return mask_secret(value) if lowered in _SECRET_HEADERS else value


def _masked(raw: bytes, key: str, mask: Callable[[str], str]) -> bytes:
    try:
        document = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(document, dict) or not isinstance(document.get(key), str):
        return raw
    document[key] = mask(document[key])
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def _as_json(text: str) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def present(entry: Row, contracts: Contracts) -> Row:
    """The public form of an entry: bodies decoded, contract verdict added."""
    shown = dict(entry)
    shown["body"] = _as_json(entry["body"])
    shown["response"] = _as_json(entry["response"])
    contract = entry.get("request_contract")
    if contract and entry["method"] in ("POST", "PUT", "PATCH"):
        shown["verdict"] = dict(_verdict(contracts, contract, entry["body"]))
    else:
        shown["verdict"] = {"contract": contract, "schema_errors": [], "unknown_fields": [], "ok": True}
    return shown


@lru_cache(maxsize=4096)
def _verdict(contracts: Contracts, contract: str, body_text: str) -> Row:
    # Clients repeat the same bodies (test suites above all): a journal of
    # thousands of entries holds few distinct ones, and schema checks are slow.
    unknown: list[str] = []
    try:
        body = json.loads(body_text) if body_text else {}
    except ValueError:
        schema_errors: list[Row] = [{"path": "$", "message": "body is not valid JSON"}]
    else:
        schema_errors = [{"path": e.path, "message": e.message} for e in contracts.validate(contract, body)]
        unknown = contracts.unknown_fields(contract, body)
    return {
        "contract": contract,
        "schema_errors": schema_errors,
        "unknown_fields": unknown,
        "ok": not schema_errors and not unknown,
    }


def matches(entry: Row, method: str | None, path: str | None, status: int | None) -> bool:
    """Journal filter: exact method (any case), path substring, exact status."""
    return (
        (method is None or entry["method"] == method.upper())
        and (path is None or path in entry["path"])
        and (status is None or entry["status"] == status)
    )
