"""Faults as data: what to inject into which requests, decided in one place.

A fault is a JSON object (contract ``fault``). :func:`plan_request` walks the
active faults in order for one request: every matching ``latency`` adds its
delay and the walk goes on; the first matching fault of any other kind
answers the request instead of the emulator, and the walk stops. A fault
counts the requests it affected and retires after ``times`` of them.
"""

from __future__ import annotations

import fnmatch
import json
import math
import random
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from omnitron_mock.body import NotPlainJSON, check_plain, loads_strict
from omnitron_mock.contracts import Contracts

Row = dict[str, Any]
HEADER = "X-Mock-Fault"
FLAKY_STATUSES = (500, 502, 503, 429)
DEFAULT_RETRY_AFTER = 1
MALFORMED_BODY = '{"detail": "A server error occurred."'
TERMINAL_DEFAULT_STATUS = {"status": 503, "malformed": 200, "truncate": 200}

_DETAILS = {
    500: "A server error occurred.",
    502: "Bad gateway.",
    503: "Service temporarily unavailable, try again later.",
    504: "Gateway timeout.",
}


class FaultError(ValueError):
    """A fault spec that breaks the ``fault`` contract; ``errors`` are (path, message)."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{path}: {message}" for path, message in errors))


def normalise(spec: object, contracts: Contracts) -> Row:
    """A checked fault with an id and a use counter."""
    try:
        check_plain(spec)
    except NotPlainJSON as problem:
        raise FaultError([("$", str(problem))]) from None
    errors = contracts.validate("fault", spec)
    if errors:
        raise FaultError([(e.path, e.message) for e in errors])
    assert isinstance(spec, dict)
    return {"id": uuid.uuid4().hex[:12], "used": 0, **spec}


def normalise_all(specs: object, contracts: Contracts) -> list[Row]:
    """One spec or a list of them (a fault profile); all or none."""
    items = specs if isinstance(specs, list) else [specs]
    faults, errors = [], []
    for index, spec in enumerate(items):
        try:
            faults.append(normalise(spec, contracts))
        except FaultError as problem:
            prefix = f"$[{index}]" if isinstance(specs, list) else "$"
            errors += [(prefix + path[1:], message) for path, message in problem.errors]
    if errors:
        raise FaultError(errors)
    return faults


def read_fault_profile(path: str | Path) -> Any:
    """The JSON in a fault profile file: one fault or a list of them."""
    try:
        return loads_strict(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as problem:
        raise FaultError([("$", f"cannot read fault profile {str(path)!r}: {problem}")]) from None


def parse_header(value: str, contracts: Contracts) -> Row:
    """``X-Mock-Fault: status=503; retry_after=2`` -> a one-off fault.

    The first part names the kind, optionally with its main value
    (``status=503``, ``latency=200`` or ``latency=100-300``, ``flaky=0.5``);
    the other parts are ``key=value`` fields of the fault contract.
    """
    parts = [part.strip() for part in value.split(";") if part.strip()]
    if not parts:
        raise FaultError([("$", "empty fault header")])
    kind, _, main = parts[0].partition("=")
    spec: Row = {"kind": kind.strip(), "times": 1}
    if main:
        spec.update(_main_value(spec["kind"], main.strip()))
    for part in parts[1:]:
        key, _, raw = part.partition("=")
        spec[key.strip()] = _scalar(raw.strip())
    return normalise(spec, contracts)


def _main_value(kind: str, raw: str) -> Row:
    if kind == "latency":
        low, dash, high = raw.partition("-")
        return {"delay_ms": [_scalar(low), _scalar(high)] if dash else _scalar(raw)}
    if kind == "flaky":
        return {"rate": _scalar(raw)}
    return {"status": _scalar(raw)}


def _scalar(raw: str) -> Any:
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        number = float(raw)
    except ValueError:
        return raw
    # "nan" and "inf" stay text: the contract then names the field they break.
    return number if math.isfinite(number) else raw


def remove_fault(faults: list[Row], fault_id: str) -> bool:
    """Drop the fault with ``fault_id`` from ``faults`` in place; whether it was there."""
    kept = [fault for fault in faults if fault["id"] != fault_id]
    found = len(kept) != len(faults)
    faults[:] = kept
    return found


def _matches(fault: Row, method: str, path: str) -> bool:
    wanted_method = fault.get("method")
    if wanted_method and wanted_method.upper() != method:
        return False
    pattern = fault.get("path")
    if not pattern:
        return True
    if any(char in pattern for char in "*?["):
        return fnmatch.fnmatchcase(path, pattern)
    return pattern in path


@dataclass
class Answer:
    """How a fault answers a request in the emulator's place."""

    kind: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    description: str = ""


@dataclass
class Plan:
    """What the faults do to one request: a delay, then maybe an answer."""

    delay_seconds: float = 0.0
    answer: Answer | None = None
    applied: list[str] = field(default_factory=list)

    @property
    def description(self) -> str | None:
        return ", ".join(self.applied) or None


def plan_request(faults: list[Row], method: str, path: str) -> Plan:
    """Decide for one request and update the faults' counters in place;
    faults that are used up are removed from ``faults``."""
    plan = Plan()
    for fault in list(faults):
        if not _matches(fault, method, path):
            continue
        draw = random.Random(f"{fault.get('seed')}:{fault['used']}") if "seed" in fault else random.Random()
        fault["used"] += 1
        if fault.get("times") is not None and fault["used"] >= fault["times"]:
            faults.remove(fault)
        if fault["kind"] == "latency":
            seconds = _delay_ms(fault["delay_ms"], draw) / 1000
            plan.delay_seconds += seconds
            plan.applied.append(f"latency {seconds * 1000:.0f} ms")
            continue
        if fault["kind"] == "flaky":
            if draw.random() >= fault["rate"]:
                continue
            status = draw.choice(fault.get("statuses") or FLAKY_STATUSES)
            plan.answer = status_answer(status, fault.get("retry_after"), None, f"flaky {status}")
        else:
            plan.answer = answer_for(fault)
        plan.applied.append(plan.answer.description)
        return plan
    return plan


def _delay_ms(delay: float | list[float], draw: random.Random) -> float:
    if isinstance(delay, list):
        low, high = sorted(delay)
        return draw.uniform(low, high)
    return float(delay)


def answer_for(fault: Row) -> Answer:
    kind = fault["kind"]
    status = fault.get("status", TERMINAL_DEFAULT_STATUS.get(kind, 200))
    if kind == "status":
        return status_answer(status, fault.get("retry_after"), fault.get("body"), f"status {status}")
    if kind == "drop":
        return Answer("drop", description="dropped connection")
    if kind == "malformed":
        body = fault.get("body", MALFORMED_BODY).encode("utf-8")
        return Answer("malformed", status, {"Content-Type": "application/json"}, body, "malformed body")
    body = fault.get("body", '[{"id": 1, "order": 1, "product_sku": "1185185001", "status": "').encode("utf-8")
    return Answer("truncate", status, {"Content-Type": "application/json"}, body, "truncated body")


def status_answer(status: int, retry_after: int | None, body: str | None, description: str) -> Answer:
    """A DRF-style error answer; 429 is DRF's throttled answer with Retry-After."""
    headers = {"Content-Type": "application/json"}
    if status == 429:
        retry_after = DEFAULT_RETRY_AFTER if retry_after is None else retry_after
        unit = "second" if retry_after == 1 else "seconds"
        detail = f"Request was throttled. Expected available in {retry_after} {unit}."
    else:
        detail = _DETAILS.get(status) or _reason(status)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    payload = body.encode("utf-8") if body is not None else json.dumps({"detail": detail}).encode("utf-8")
    return Answer("status", status, headers, payload, description)


def _reason(status: int) -> str:
    try:
        return f"{HTTPStatus(status).phrase}."
    except ValueError:
        return "Error."
