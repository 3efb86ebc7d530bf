"""Journal entries as objects, and contract violations as sentences."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from omnitron_mock.contracts import ContractError

_PATH_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_MISSING = object()
T = TypeVar("T")


def value_at(document: Any, path: str) -> Any:
    """The value a ``$.a[0].b`` path points at, or a sentinel when it points nowhere."""
    node = document
    for key, index in _PATH_STEP.findall(path.removeprefix("$")):
        try:
            node = node[int(index)] if index else node[key]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return node


def _shown(value: Any) -> str:
    return "(absent)" if value is _MISSING else repr(value)


class Findings(tuple[T, ...]):
    """An immutable list of findings that also equals a list of the same items
    (``entry.verdict.unknown_fields == ["$.orderitem_set[0].tracking_no"]``)."""

    def __eq__(self, other: object) -> bool:
        if isinstance(other, list):
            return list(self) == other
        return tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = tuple.__hash__


@dataclass(frozen=True)
class Verdict:
    """What the request contract says of one request."""

    contract: str | None
    schema_errors: Findings[ContractError]
    unknown_fields: Findings[str]

    @property
    def ok(self) -> bool:
        return not self.schema_errors and not self.unknown_fields


@dataclass(frozen=True)
class JournalEntry:
    """One request the emulator answered, as the journal recorded it."""

    id: int
    time: str
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    status: int
    response: Any
    duration_ms: float
    verdict: Verdict
    fault: str | None = None

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> JournalEntry:
        """Build from the control API's JSON form of an entry."""
        verdict = entry["verdict"]
        return cls(
            id=entry["id"],
            time=entry["time"],
            method=entry["method"],
            path=entry["path"],
            query=entry["query"],
            headers=entry["headers"],
            body=entry["body"],
            status=entry["status"],
            response=entry["response"],
            duration_ms=entry["duration_ms"],
            fault=entry.get("fault"),
            verdict=Verdict(
                contract=verdict["contract"],
                schema_errors=Findings(ContractError(e["path"], e["message"]) for e in verdict["schema_errors"]),
                unknown_fields=Findings(verdict["unknown_fields"]),
            ),
        )

    @property
    def params(self) -> dict[str, str]:
        """The query string decoded, one value per name (the last one sent, as
        DRF's ``query_params.get`` reads it)."""
        return dict(parse_qsl(self.query, keep_blank_values=True))

    def __repr__(self) -> str:
        findings = len(self.verdict.schema_errors) + len(self.verdict.unknown_fields)
        notes = [f"{findings} contract finding{'s' if findings != 1 else ''}"] if findings else []
        if self.fault:
            notes.append(f"fault: {self.fault}")
        query = f"?{self.query}" if self.query else ""
        extra = f" ({'; '.join(notes)})" if notes else ""
        return f"<JournalEntry #{self.id} {self.method} {self.path}{query} -> {self.status}{extra}>"

    def violations(self) -> list[str]:
        """One readable line per contract problem: where, what was sent, why."""
        lines = []
        where = f"{self.method} {self.path}"
        for field in self.verdict.unknown_fields:
            lines.append(
                f"{where}: {field} = {_shown(value_at(self.body, field))} is not a field of "
                f"{self.verdict.contract}; Omnitron ignores it silently"
            )
        for error in self.verdict.schema_errors:
            lines.append(f"{where}: {error.path} = {_shown(value_at(self.body, error.path))}: {error.message}")
        return lines
