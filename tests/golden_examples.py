"""The golden examples (contracts/examples/): reading them, and what a fresh
emulator makes of one.

Each file is one request body with what it gets: the verdict of the contract
(``valid``), the fields the strict profile and the journal flag
(``unknown_fields``) and the emulator's exact answer (``response``). The files
are the source of truth, checked by tests/test_golden_examples.py and, with
ajv, by tests/test_npm_package.py.

To add an example, write its file with ``description``, ``contract``,
``method``, ``path`` and ``body``, then record what the emulator answers and
read the result before committing it::

    .venv/bin/python -m tests.golden_examples
"""

from __future__ import annotations

import ast
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from jsonschema import Draft202012Validator
from omnitron_mock import DEV_TOKEN, Settings, contracts, create_app

EXAMPLES = Path(__file__).resolve().parents[1] / "contracts" / "examples"
# The request contracts: each has examples, valid and invalid (tests/test_golden_examples.py).
REQUEST_CONTRACTS = (
    "bulk-status-update-request",
    "login-request",
    "order-update-request",
    "order-item-update-request",
    "create-mapping-request",
)
FIELDS = ("description", "contract", "method", "path", "body", "valid", "unknown_fields", "response")


@dataclass(frozen=True)
class Answer:
    """What one emulator made of a request: its answer and its journal's verdict."""

    status: int
    body: Any
    verdict: dict[str, Any]


def example_files() -> list[Path]:
    return sorted(EXAMPLES.rglob("*.json"))


def read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text("utf-8"))


def name_of(path: Path) -> str:
    return path.relative_to(EXAMPLES).as_posix()


def send(example: dict[str, Any], application: Flask) -> Answer:
    """Send the example's body, as JSON with the dev token, to ``application``
    (a new emulator, with the default seed), and read its journal."""
    client = application.test_client()
    response = client.open(
        example["path"],
        method=example["method"],
        data=json.dumps(example["body"]).encode(),
        headers={"Authorization": f"Token {DEV_TOKEN}", "Content-Type": "application/json"},
    )
    journal = client.get("/_mock/requests")
    assert journal.status_code == 200, journal.get_data(as_text=True)[:300]
    [entry] = journal.get_json()["requests"]
    return Answer(response.status_code, response.get_json(), entry["verdict"])


def schema_verdict(example: dict[str, Any]) -> bool:
    """Python's jsonschema on the body, against the contract as shipped."""
    return contracts.validate(example["contract"], example["body"]) == []


def recorded(example: dict[str, Any]) -> dict[str, Any]:
    """The example with its verdicts and its answer as a fresh in-memory emulator gives them."""
    answer = send(example, create_app(Settings()))
    inputs = {name: example[name] for name in FIELDS[:5]}
    return {
        **inputs,
        "valid": schema_verdict(example),
        "unknown_fields": answer.verdict["unknown_fields"],
        "response": {"status": answer.status, "body": answer.body},
    }


def text_of(example: dict[str, Any]) -> str:
    """A file's text, as the recorder writes it: readable Unicode, with the
    characters a reader could not see (a right-to-left mark, a BOM) escaped."""
    return _INVISIBLE.sub(_escaped, json.dumps(example, indent=2, ensure_ascii=False)) + "\n"


# Outside ASCII, so only ever inside a JSON string, where an escape means the same.
_INVISIBLE = re.compile(r"[^\x00-\x7e]")


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if char.isprintable():
        return char
    return json.dumps(char)[1:-1]  # \uXXXX, a surrogate pair past U+FFFF


def record_all() -> list[str]:
    """Fill in (or bring up to date) every file's verdicts and answer; returns the names changed."""
    changed = []
    for path in example_files():
        text = text_of(recorded(read(path)))
        if path.read_text("utf-8") != text:
            path.write_text(text, "utf-8")
            changed.append(name_of(path))
    return changed


if __name__ == "__main__":
    names = record_all()
    print("\n".join(names) if names else "every example is up to date", file=sys.stderr)


STRICT_BUNDLES = EXAMPLES.parent / "bundles" / "strict"
_UNEXPECTED = re.compile(r"\((.*) (?:was|were) unexpected\)$")


def strict_verdict(example: dict[str, Any]) -> tuple[bool, list[str]]:
    """Python's jsonschema on the body, against the contract's strict profile
    (contracts/bundles/strict/): its verdict and the unknown fields it names."""
    schema = json.loads((STRICT_BUNDLES / f"{example['contract']}.json").read_text("utf-8"))
    errors = list(Draft202012Validator(schema).iter_errors(example["body"]))
    unknown = []
    for error in errors:
        if error.validator == "unevaluatedProperties":
            # jsonschema names the fields in its message only, as Python literals.
            names = _UNEXPECTED.search(error.message)
            assert names is not None, error.message
            where = "$" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
            unknown += [f"{where}.{name}" for name in ast.literal_eval(f"[{names.group(1)}]")]
    return not errors, unknown
