"""The hand-written contract files a generator starts from, read from one folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omnitron_mock.contracts.catalogue import ID_BASE


@dataclass(frozen=True)
class ContractSources:
    """``schemas/*.json`` by name and ``openapi.json`` of a contracts folder."""

    schemas: dict[str, dict[str, Any]]
    openapi: dict[str, Any]

    @classmethod
    def read(cls, root: Path) -> ContractSources:
        folder = root / "schemas"
        if not folder.is_dir():
            raise FileNotFoundError(f"{root} holds no schemas/ folder: not a contracts folder")
        schemas = {
            path.name.removesuffix(".json"): json.loads(path.read_text("utf-8"))
            for path in sorted(folder.glob("*.json"))
        }
        openapi = json.loads((root / "openapi.json").read_text("utf-8"))
        return cls(schemas=schemas, openapi=openapi)

    def schema(self, name: str) -> dict[str, Any]:
        if name not in self.schemas:
            raise KeyError(f"no schema {name!r}; known: {', '.join(sorted(self.schemas))}")
        return self.schemas[name]

    def request_contracts(self) -> list[str]:
        """The schemas the OpenAPI document names as request bodies, sorted."""
        names: set[str] = set()
        for item in self.openapi.get("paths", {}).values():
            for operation in item.values():
                body = operation.get("requestBody", {}) if isinstance(operation, dict) else {}
                for media in body.get("content", {}).values():
                    ref = media.get("schema", {}).get("$ref")
                    if ref is None:
                        raise ValueError("openapi.json: a request body's schema is not a schema file's $ref")
                    names.add(ref_target(ref, "")[0])
        return sorted(names)


def ref_target(ref: str, current: str) -> tuple[str, str]:
    """(schema name, JSON pointer) that ``ref``, found in schema ``current``, points at.

    References name a schema file relatively (``order-item-status.json``, in
    the OpenAPI document ``schemas/order-item-status.json``) or by its ``$id``,
    with a JSON pointer fragment or none.
    """
    address, _, fragment = ref.partition("#")
    if fragment and not fragment.startswith("/"):
        raise ValueError(f"{current or 'openapi'}: $ref {ref!r}: only JSON pointer fragments are supported")
    if not address:
        return current, fragment
    name = address.removeprefix(ID_BASE).removeprefix("schemas/")
    if "/" in name or ":" in name or not name.endswith(".json"):
        raise ValueError(f"{current or 'openapi'}: $ref {ref!r} names no schema file of contracts/schemas/")
    return name.removesuffix(".json"), fragment
