"""The OpenAPI documents (the emulated API's and the control API's), bundled
into one self-contained file each on request."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from omnitron_mock.contracts.catalogue import ID_BASE, Contracts, data_root, default_contracts

_FILE_REF = "schemas/"


def source_openapi() -> dict[str, Any]:
    """``contracts/openapi.json`` as written: it references the schema files."""
    return _read_document("openapi.json")


def source_control_openapi() -> dict[str, Any]:
    """``contracts/control-openapi.json`` (the ``/_mock/`` routes) as written."""
    return _read_document("control-openapi.json")


def _read_document(file_name: str) -> dict[str, Any]:
    text = data_root().joinpath(file_name).read_text("utf-8")
    return json.loads(text)


def _component_ref(ref: str, current: str) -> str:
    # Each schema file becomes components/schemas/<file stem>; a ref keeps its
    # fragment, re-rooted at the component it now lives in.
    target, _, fragment = ref.partition("#")
    if target.startswith(_FILE_REF):
        target = target[len(_FILE_REF) :]
    if target.startswith(ID_BASE):
        target = target[len(ID_BASE) :]
    stem = target.removesuffix(".json") or current
    return f"#/components/schemas/{stem}{fragment}"


def _rewrite(node: Any, current: str) -> Any:
    if isinstance(node, dict):
        rewritten = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and not value.startswith("#/components"):
                rewritten[key] = _component_ref(value, current)
            elif key not in ("$id", "$schema"):
                rewritten[key] = _rewrite(value, current)
        return rewritten
    if isinstance(node, list):
        return [_rewrite(item, current) for item in node]
    return node


def bundled_openapi(contracts: Contracts | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document with every schema inlined under components.

    Tools that cannot follow file references (mock servers, fuzzers, code
    generators) take this form; ``omnitron-mock openapi`` prints it, and
    ``contracts/bundles/openapi-3.1.json`` holds it.
    """
    return bundle_openapi(source_openapi(), (contracts or default_contracts()).schema)


def bundled_control_openapi(contracts: Contracts | None = None) -> dict[str, Any]:
    """The control API's OpenAPI 3.1 document, self-contained (``GET /_mock/openapi.json``)."""
    return bundle_openapi(source_control_openapi(), (contracts or default_contracts()).schema)


def bundle_openapi(source: dict[str, Any], schema: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """``source`` (an OpenAPI document referencing schema files) with each schema file
    it needs, as ``schema(name)`` gives it, inlined under components."""
    document = {key: _rewrite(value, "") if key in ("paths", "components") else value for key, value in source.items()}
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in sorted(_referenced_files(source, schema)):
        schemas[name] = _rewrite(schema(name), name)
    return document


def _referenced_files(document: Any, schema: Callable[[str], dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    pending = [document]
    seen: set[str] = set()
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                stem = ref.partition("#")[0].rsplit("/", 1)[-1].removesuffix(".json")
                if stem not in seen:
                    seen.add(stem)
                    found.add(stem)
                    pending.append(schema(stem))
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found
