"""Readable contract errors: a JSON path and a message a person can act on."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from jsonschema.exceptions import ValidationError, best_match


@dataclass(frozen=True)
class ContractError:
    """One way an instance breaks a contract."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ContractViolation(AssertionError):
    """Raised by ``assert_valid``; its text lists every error on its own line."""

    def __init__(self, schema_name: str, errors: list[ContractError]) -> None:
        self.schema_name = schema_name
        self.errors = errors
        lines = "\n".join(f"  {error}" for error in errors)
        super().__init__(f"does not match contract {schema_name!r}:\n{lines}")


def json_path(parts: Iterable[object]) -> str:
    """``["orderitem_set", 0, "status"]`` -> ``$.orderitem_set[0].status``."""
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _explain(error: ValidationError) -> ValidationError:
    # anyOf/oneOf report "not valid under any of the given schemas"; the
    # closest branch's own error says what is actually wrong.
    while error.context and error.validator in ("anyOf", "oneOf"):
        # A schema with anyOf/oneOf is an object, never a boolean schema.
        if _is_const_choice(cast(Mapping[str, Any], error.schema).get(error.validator, [])):
            break
        error = best_match(_branches_worth_naming(error))
    return error


def _branches_worth_naming(error: ValidationError) -> list[ValidationError]:
    """The branch errors that explain a choice: a value that is not null is not
    wrong for failing the null branch of an optional field."""
    if error.instance is None:
        return list(error.context or [])
    named = [e for e in error.context or [] if not (e.validator == "type" and e.validator_value == "null")]
    return named or list(error.context or [])


def _is_const_choice(branches: list[object]) -> bool:
    return bool(branches) and all(isinstance(b, dict) and "const" in b for b in branches)


def _message(error: ValidationError) -> str:
    branches = error.schema.get(error.validator, []) if isinstance(error.schema, dict) else []
    if error.validator in ("anyOf", "oneOf") and _is_const_choice(branches):
        choices = ", ".join(json.dumps(b["const"]) for b in branches)
        return f"{json.dumps(error.instance)} is not one of {choices}"
    return error.message


def to_contract_errors(errors: Iterable[ValidationError]) -> list[ContractError]:
    """Turn jsonschema errors into path-sorted :class:`ContractError` values."""
    causes = [_explain(error) for error in errors]
    # A wrong type says it all; "is not one of ..." at the same place is noise.
    mistyped = {json_path(c.absolute_path) for c in causes if c.validator == "type"}
    readable = {
        ContractError(path, _message(cause))
        for cause in causes
        if (path := json_path(cause.absolute_path)) not in mistyped or cause.validator == "type"
    }
    return sorted(readable, key=lambda e: (e.path, e.message))
