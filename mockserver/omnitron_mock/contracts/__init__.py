"""Contracts of the Omnitron order-item bulk status update API.

The contracts themselves are language-neutral data in the repository's
``contracts/`` folder (shipped in the wheel as ``omnitron_mock/contract_data``,
see :func:`data_root`): JSON Schema 2020-12 files in ``schemas/`` (the status
table and the shipping-company enum are schemas there too), the strict-mode
transition table in ``data/`` and the OpenAPI document. This package loads,
compiles and serves them; everything that needs a status code or a courier
slug reads it from those files. ``python -m omnitron_mock.contracts.build``
generates ``bundles/`` (self-contained, draft-07, OpenAPI 3.0 and strict
renderings) and ``types/index.d.ts`` from them.
"""

from omnitron_mock.contracts.catalogue import (
    CONTRACTS_VERSION,
    ID_BASE,
    SCHEMA_NAMES,
    UNKNOWN_FIELD,
    Contracts,
    data_root,
    default_contracts,
    load_data,
    load_schema,
)
from omnitron_mock.contracts.errors import ContractError, ContractViolation
from omnitron_mock.contracts.openapi import bundled_control_openapi, bundled_openapi


def validate(name: str, instance: object) -> list[ContractError]:
    """Check ``instance`` against the named schema; an empty list means valid."""
    return default_contracts().validate(name, instance)


def validate_strict(name: str, instance: object) -> list[ContractError]:
    """The strict request profile: errors as :func:`validate` gives them, and each
    field the contract does not name (``$.orderitem_set[0].tracking_no``) as an
    error of its own with the message ``UNKNOWN_FIELD``; an empty list means valid."""
    return default_contracts().validate_strict(name, instance)


def assert_valid(name: str, instance: object) -> None:
    """Raise :class:`ContractViolation` listing every error with its JSON path."""
    default_contracts().assert_valid(name, instance)


__all__ = [
    "CONTRACTS_VERSION",
    "ID_BASE",
    "SCHEMA_NAMES",
    "UNKNOWN_FIELD",
    "ContractError",
    "ContractViolation",
    "Contracts",
    "assert_valid",
    "bundled_control_openapi",
    "bundled_openapi",
    "data_root",
    "default_contracts",
    "load_data",
    "load_schema",
    "validate",
    "validate_strict",
]
