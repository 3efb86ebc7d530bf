"""The golden examples (contracts/examples/) hold: a fresh emulator answers each
exactly as its file says, on both stores; Python's jsonschema gives the
contract verdict the file records; and the journal names the unknown fields
the file lists. Other teams test their serializers and their error parsing
against these files, so a drift here is a broken promise, not a detail."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from omnitron_mock import DEV_TOKEN, Settings

from tests import golden_examples as golden
from tests.test_bad_input_catalogue import CASES, JSON

FILES = golden.example_files()
IDS = [golden.name_of(path) for path in FILES]


def test_there_are_examples() -> None:
    assert len(FILES) >= 100


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_a_fresh_emulator_answers_exactly_as_recorded(path: Path, fresh_app: Callable[[Settings], Any]) -> None:
    example = golden.read(path)
    answer = golden.send(example, fresh_app(Settings()))
    assert {"status": answer.status, "body": answer.body} == example["response"]
    assert answer.verdict["contract"] == example["contract"]
    assert answer.verdict["unknown_fields"] == example["unknown_fields"]
    # The journal's own schema check agrees with the recorded verdict, where it
    # sees the body as sent: it judges a login body with the password masked.
    if example["contract"] != "login-request":
        assert (answer.verdict["schema_errors"] == []) is example["valid"], answer.verdict["schema_errors"]


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_python_jsonschema_gives_the_recorded_verdict(path: Path) -> None:
    example = golden.read(path)
    assert golden.schema_verdict(example) is example["valid"]


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_the_strict_profile_names_the_recorded_unknown_fields(path: Path) -> None:
    """Python's jsonschema on contracts/bundles/strict/ flags what the journal flags, and only that."""
    example = golden.read(path)
    strict_valid, unknown = golden.strict_verdict(example)
    assert sorted(unknown) == sorted(example["unknown_fields"])
    assert strict_valid is (example["valid"] and not example["unknown_fields"])


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_each_file_has_the_format_and_the_place_its_verdict_names(path: Path) -> None:
    example = golden.read(path)
    assert tuple(example) == golden.FIELDS
    assert isinstance(example["description"], str) and example["description"].strip()
    folder, verdict, _ = golden.name_of(path).split("/")
    assert example["contract"] == f"{folder}-request"
    assert verdict == ("valid" if example["valid"] else "invalid")
    assert example["method"] in ("POST", "PATCH")
    assert example["path"].startswith("/api/i1/")
    assert all(field.startswith("$") for field in example["unknown_fields"])
    # As the recorder writes it: a file edited by hand still reads the same in every language.
    assert path.read_text("utf-8") == golden.text_of(example)


def test_every_request_contract_has_valid_and_invalid_examples() -> None:
    verdicts = Counter((example["contract"], example["valid"]) for example in map(golden.read, FILES))
    missing = [
        f"{contract} ({'valid' if valid else 'invalid'})"
        for contract in golden.REQUEST_CONTRACTS
        for valid in (True, False)
        if not verdicts[contract, valid]
    ]
    assert not missing, f"no example for: {', '.join(missing)}"
    assert {contract for contract, _ in verdicts} == set(golden.REQUEST_CONTRACTS)


def test_the_strict_profile_examples_name_tracking_no() -> None:
    misspelt = golden.read(golden.EXAMPLES / "bulk-status-update" / "valid" / "tracking-no-misspelt.json")
    assert misspelt["valid"] is True
    assert misspelt["unknown_fields"] == ["$.orderitem_set[0].tracking_no"]


def _catalogue_rows() -> dict[tuple[str, str, str], Any]:
    """The bad-input catalogue's rows that a golden example can carry: a JSON
    body sent as application/json with the dev token, keyed by method, path and body."""
    rows = {}
    for case in CASES:
        if case.content_type != JSON or case.headers != {"Authorization": f"Token {DEV_TOKEN}"}:
            continue
        try:
            body = json.loads(case.body)
        except (ValueError, RecursionError):  # not JSON, or nested past what a parser takes
            continue
        rows[case.method, case.path, json.dumps(body, sort_keys=True)] = case
    return rows


def test_examples_drawn_from_the_catalogue_get_the_catalogue_answer() -> None:
    """Two records of one answer must not drift apart: an example whose request
    is a row of tests/test_bad_input_catalogue.py records that row's answer."""
    rows = _catalogue_rows()
    matched = 0
    for example in map(golden.read, FILES):
        case = rows.get((example["method"], example["path"], json.dumps(example["body"], sort_keys=True)))
        if case is None:
            continue
        matched += 1
        assert example["response"]["status"] == case.status, case.name
        if case.expected is not None:
            assert example["response"]["body"] == case.expected, case.name
    assert matched >= 60, f"only {matched} examples are catalogue rows"
