"""Contracts of the Omnitron order-item bulk status update API.

JSON Schema 2020-12 files live in ``contracts/schemas``; the status table and
the shipping-company enum are schemas there too, and the strict-mode transition
table is data in ``contracts/data``. Everything that needs a status code or a
courier slug reads it from these files.
"""

from contracts.catalogue import (
    SCHEMA_NAMES,
    Contracts,
    default_contracts,
    load_data,
    load_schema,
)
from contracts.errors import ContractError, ContractViolation
from contracts.openapi import bundled_openapi


def validate(name: str, instance: object) -> list[ContractError]:
    """Check ``instance`` against the named schema; an empty list means valid."""
    return default_contracts().validate(name, instance)


def assert_valid(name: str, instance: object) -> None:
    """Raise :class:`ContractViolation` listing every error with its JSON path."""
    default_contracts().assert_valid(name, instance)


__all__ = [
    "SCHEMA_NAMES",
    "ContractError",
    "ContractViolation",
    "Contracts",
    "assert_valid",
    "bundled_openapi",
    "default_contracts",
    "load_data",
    "load_schema",
    "validate",
]
