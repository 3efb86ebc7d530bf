"""The documented examples hold against the contracts, and the contracts' API reads well."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from omnitron_mock import contracts
from omnitron_mock.contracts import ContractError, ContractViolation

from tests.helpers import documented


def test_documented_request_matches_the_request_contract() -> None:
    assert contracts.validate("bulk-status-update-request", documented("request")) == []


def test_documented_success_response_matches_the_response_contract() -> None:
    assert contracts.validate("bulk-status-update-response", documented("response")) == []


def test_documented_bad_response_matches_the_error_contract() -> None:
    assert contracts.validate("bulk-status-update-error-response", documented("bad-response")) == []


def test_every_schema_has_a_stable_id_and_draft_2020_12() -> None:
    for name in contracts.SCHEMA_NAMES:
        schema = contracts.load_schema(name)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == f"https://omnitron-mock.invalid/contracts/v0/{name}.json"


def test_errors_carry_json_paths_and_readable_messages() -> None:
    errors = contracts.validate(
        "bulk-status-update-request", {"orderitem_set": [{"id": 1}, {"id": 2, "shipping_company": "fedex"}]}
    )
    assert [error.path for error in errors] == ["$.orderitem_set[1].shipping_company"]
    assert errors[0].message.startswith("'fedex' is not one of ['ups', 'other'")


def test_status_errors_list_the_status_table() -> None:
    [error] = contracts.validate("order-item-status", "999")
    statuses = contracts.default_contracts().statuses()
    assert error == ContractError("$", '"999" is not one of ' + ", ".join(f'"{code}"' for code in statuses))


def test_nullable_fields_explain_the_closest_branch() -> None:
    item = documented("response")[0]
    [error] = contracts.validate("order-item", {**item, "price": 100})
    assert error == ContractError("$.price", "100 is not of type 'string'")


def test_assert_valid_raises_with_every_error_listed() -> None:
    with pytest.raises(ContractViolation) as raised:
        contracts.assert_valid("login-request", {"username": 5})
    text = str(raised.value)
    assert "does not match contract 'login-request'" in text
    assert "$: 'password' is a required property" in text
    assert "$.username: 5 is not of type 'string'" in text


def test_unknown_contract_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known: active-user"):
        contracts.load_schema("nope")


def test_unknown_fields_are_reported_with_paths() -> None:
    found = contracts.default_contracts().unknown_fields(
        "bulk-status-update-request", {"orderitem_set": [{"id": 1, "tracking_no": "x"}], "extra": True}
    )
    assert found == ["$.orderitem_set[0].tracking_no", "$.extra"]


def test_extensions_reach_the_enums_and_the_limit() -> None:
    extended = contracts.Contracts(extra_statuses={"700": "lost"}, extra_shipping_companies=["fedex"], max_items=2)
    assert extended.statuses()["700"] == "lost"
    assert extended.validate("shipping-company", "fedex") == []
    too_many = {"orderitem_set": [{"id": 1}, {"id": 2}, {"id": 3}]}
    assert [e.path for e in extended.validate("bulk-status-update-request", too_many)] == ["$.orderitem_set"]
    # the shipped contracts stay as they were
    assert contracts.validate("shipping-company", "fedex") != []


def test_status_codes_exist_only_in_the_contract_files() -> None:
    """No status code is written twice: code reads them from contracts/."""
    root = Path(__file__).resolve().parents[1]
    codes = set(contracts.default_contracts().statuses())
    literal = re.compile(r"""["'](\d{2,3})["']""")
    for source in root.joinpath("mockserver").rglob("*.py"):
        found = {match for match in literal.findall(source.read_text("utf-8")) if match in codes}
        assert not found, f"{source.name} hard-codes status codes {sorted(found)}"


def test_the_contracts_folder_is_language_neutral_data() -> None:
    """contracts/ holds JSON (schemas, the OpenAPI documents, data tables,
    bundles, examples) and, beside it, only the npm package's small module and
    its declarations; the Python that loads them lives in the server package,
    which reads this very folder in a checkout."""
    root = Path(__file__).resolve().parents[1] / "contracts"
    files = [path for path in root.rglob("*") if path.is_file() and "__pycache__" not in path.parts]
    assert files
    not_json = sorted(path.relative_to(root).as_posix() for path in files if path.suffix != ".json")
    assert set(not_json) <= {"index.js", "index.d.ts", "types/index.d.ts"}, not_json
    assert Path(str(contracts.data_root())) == root
