"""Schema files, their registry and compiled validators."""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from omnitron_mock.contracts.errors import ContractError, ContractViolation, to_contract_errors

# Where the wheel puts the repository's contracts/ folder (pyproject.toml's force-include).
SHIPPED_DATA = "contract_data"
# The contracts' version in their identifiers and URLs: the project's major version
# (tests/test_contract_ids.py keeps the two equal). A change that would break a
# consumer comes with a new one.
CONTRACTS_VERSION = "v0"
# The message of an unknown field in the strict profile's verdict.
UNKNOWN_FIELD = "unknown field (not in the contract; the service ignores it)"
# Every schema's $id is this and its file name: a name, not an address to fetch.
# A running emulator serves each at /contracts/<CONTRACTS_VERSION>/<file name>.
ID_BASE = f"https://omnitron-mock.invalid/contracts/{CONTRACTS_VERSION}/"


@cache
def data_root() -> Traversable:
    """The folder holding ``schemas/``, ``data/`` and ``openapi.json``.

    An installed wheel ships it inside the package (``omnitron_mock/contract_data``);
    a checkout or an editable install reads the repository's ``contracts/``
    folder, next to the ``mockserver/`` source root that holds this package.
    """
    shipped = resources.files("omnitron_mock").joinpath(SHIPPED_DATA)
    if shipped.joinpath("schemas").is_dir():
        return shipped
    checkout = Path(__file__).resolve().parents[3] / "contracts"
    if (checkout / "schemas").is_dir():
        return checkout
    raise FileNotFoundError(
        f"omnitron-mock's contract files are missing: neither {shipped} (installed wheel) "
        f"nor {checkout} (checkout) holds a schemas/ folder"
    )


SCHEMA_NAMES: tuple[str, ...] = tuple(
    sorted(
        entry.name.removesuffix(".json")
        for entry in data_root().joinpath("schemas").iterdir()
        if entry.name.endswith(".json")
    )
)


@cache
def _read(folder: str, name: str) -> Any:
    text = data_root().joinpath(folder, f"{name}.json").read_text("utf-8")
    return json.loads(text)


def load_schema(name: str) -> dict[str, Any]:
    """The named schema exactly as shipped (a fresh copy the caller may change)."""
    if name not in SCHEMA_NAMES:
        known = ", ".join(SCHEMA_NAMES)
        raise KeyError(f"unknown contract {name!r}; known: {known}")
    return copy.deepcopy(_read("schemas", name))


def load_data(name: str) -> Any:
    """A data file of ``contracts/data`` (for instance ``status-transitions``)."""
    return copy.deepcopy(_read("data", name))


class Contracts:
    """The schemas as one deployment sees them, with its enum extensions.

    ``extra_statuses`` maps code -> name and ``extra_shipping_companies`` lists
    slugs; both are added to the shipped enums. ``max_items`` is the bulk limit.
    """

    def __init__(
        self,
        extra_statuses: dict[str, str] | None = None,
        extra_shipping_companies: list[str] | tuple[str, ...] = (),
        max_items: int = 1000,
    ) -> None:
        self._schemas = {name: load_schema(name) for name in SCHEMA_NAMES}
        status_branches = self._schemas["order-item-status"]["oneOf"]
        known_codes = {branch["const"] for branch in status_branches}
        for code, name in (extra_statuses or {}).items():
            if code not in known_codes:
                status_branches.append({"const": code, "title": name})
        companies = self._schemas["shipping-company"]["enum"]
        companies.extend(slug for slug in extra_shipping_companies if slug not in companies)
        bulk = self._schemas["bulk-status-update-request"]["properties"]["orderitem_set"]
        bulk["maxItems"] = max_items
        self._registry: Registry = Registry().with_resources(
            (schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012))
            for schema in self._schemas.values()
        )
        self._validators: dict[str, Draft202012Validator] = {}

    @property
    def registry(self) -> Registry:
        """The ``referencing`` registry holding every schema by its ``$id``."""
        return self._registry

    def schema(self, name: str) -> dict[str, Any]:
        """The named schema with this deployment's extensions applied."""
        if name not in self._schemas:
            load_schema(name)  # raises the readable KeyError
        return self._schemas[name]

    def statuses(self) -> dict[str, str]:
        """Status code -> status name, in table order."""
        return {b["const"]: b["title"] for b in self._schemas["order-item-status"]["oneOf"]}

    def shipping_companies(self) -> list[str]:
        return list(self._schemas["shipping-company"]["enum"])

    def validator(self, name: str) -> Draft202012Validator:
        """A compiled validator, built once per schema."""
        found = self._validators.get(name)
        if found is None:
            found = Draft202012Validator(self.schema(name), registry=self._registry)
            self._validators[name] = found
        return found

    def validate(self, name: str, instance: object) -> list[ContractError]:
        return to_contract_errors(self.validator(name).iter_errors(instance))

    def unknown_fields(self, name: str, instance: object) -> list[str]:
        """JSON paths of object keys in ``instance`` that the named schema does not declare.

        The real service ignores such keys silently, so a misspelt field
        (``tracking_no``) is lost without an error: this finds it.
        """
        found: list[str] = []
        schema = self.schema(name)
        _walk_unknown(schema, instance, "$", self._registry.resolver(schema["$id"]), found)
        return found

    def validate_strict(self, name: str, instance: object) -> list[ContractError]:
        """The strict request profile's verdict: :meth:`validate`'s errors and one
        error per unknown field (``UNKNOWN_FIELD``), sorted by path; ``[]`` when neither."""
        found = self.validate(name, instance)
        found += [ContractError(path, UNKNOWN_FIELD) for path in self.unknown_fields(name, instance)]
        return sorted(found, key=lambda error: (error.path, error.message))

    def assert_valid(self, name: str, instance: object) -> None:
        errors = self.validate(name, instance)
        if errors:
            raise ContractViolation(name, errors)


@cache
def default_contracts() -> Contracts:
    """The contracts as shipped, without extensions."""
    return Contracts()


def _walk_unknown(schema: object, instance: object, path: str, resolver: Any, found: list[str]) -> None:
    if not isinstance(schema, dict):
        return
    if "$ref" in schema:
        resolved = resolver.lookup(schema["$ref"])
        _walk_unknown(resolved.contents, instance, path, resolved.resolver, found)
    for keyword in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(keyword, []):
            _walk_unknown(branch, instance, path, resolver, found)
    if isinstance(instance, dict) and "properties" in schema:
        declared = schema["properties"]
        for key, value in instance.items():
            if key in declared:
                _walk_unknown(declared[key], value, f"{path}.{key}", resolver, found)
            elif "additionalProperties" not in schema:
                found.append(f"{path}.{key}")
    if isinstance(instance, list) and isinstance(schema.get("items"), dict):
        for index, value in enumerate(instance):
            _walk_unknown(schema["items"], value, f"{path}[{index}]", resolver, found)
