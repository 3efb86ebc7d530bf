"""Assert a JSON body matches a named contract: no server needed."""

from __future__ import annotations

from typing import Any

from omnitron_mock.contracts import default_contracts

from omnitron_mock_pytest.entries import value_at


def assert_matches_contract(body: Any, contract: str) -> None:
    """Raise AssertionError naming each offending JSON path and value.

    ``contract`` is a schema name such as ``"bulk-status-update-request"``;
    unknown fields (which Omnitron would ignore) count as failures too when
    the contract describes a request.
    """
    contracts = default_contracts()
    problems = [f"{e.path} = {value_at(body, e.path)!r}: {e.message}" for e in contracts.validate(contract, body)]
    if contract.endswith("-request"):
        problems += [
            f"{path} = {value_at(body, path)!r}: not a field of {contract}; Omnitron ignores it silently"
            for path in contracts.unknown_fields(contract, body)
        ]
    if problems:
        raise AssertionError(f"body does not match contract {contract!r}:\n" + "\n".join(f"  {p}" for p in problems))
