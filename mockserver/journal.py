"""The request journal: what each client sent, what it got, what the contract says.

Entries are recorded cheaply (raw text); the contract verdict is worked out
only when someone reads the journal, so it costs the hot path nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from contracts import Contracts
from mockserver.auth import mask_authorization
from mockserver.store.base import Row


def record(
    *,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    status: int,
    response_body: bytes,
    duration_ms: float,
    request_contract: str | None,
) -> Row:
    """A journal entry in stored form (bodies as text, no verdict yet)."""
    if "Authorization" in headers:
        headers = {**headers, "Authorization": mask_authorization(headers["Authorization"])}
    return {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "method": method,
        "path": path,
        "query": query,
        "headers": headers,
        "body": body.decode("utf-8", "replace"),
        "status": status,
        "response": response_body.decode("utf-8", "replace"),
        "duration_ms": round(duration_ms, 3),
        "request_contract": request_contract,
    }


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
    body = _as_json(entry["body"])
    shown["body"] = body
    shown["response"] = _as_json(entry["response"])
    contract = entry.get("request_contract")
    verdict: Row = {"contract": contract, "schema_errors": [], "unknown_fields": [], "ok": True}
    writes = entry["method"] in ("POST", "PUT", "PATCH")
    if contract and writes:
        if isinstance(body, str):
            verdict["schema_errors"] = [{"path": "$", "message": "body is not valid JSON"}]
        else:
            verdict["schema_errors"] = [
                {"path": e.path, "message": e.message} for e in contracts.validate(contract, body)
            ]
            verdict["unknown_fields"] = contracts.unknown_fields(contract, body)
        verdict["ok"] = not verdict["schema_errors"] and not verdict["unknown_fields"]
    shown["verdict"] = verdict
    return shown


def matches(entry: Row, method: str | None, path: str | None, status: int | None) -> bool:
    """Journal filter: exact method (any case), path substring, exact status."""
    return (
        (method is None or entry["method"] == method.upper())
        and (path is None or path in entry["path"])
        and (status is None or entry["status"] == status)
    )
