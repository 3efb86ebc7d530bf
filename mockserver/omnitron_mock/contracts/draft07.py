"""Draft-07 renderings of self-contained 2020-12 documents, for tools that stop at draft-07.

Each keyword either has the same meaning in draft-07, is rewritten to the
draft-07 form that validates the same instances, or stops the generator: a
rendering that validated differently would be worse than none.
"""

from __future__ import annotations

from typing import Any

from omnitron_mock.contracts.walk import ANNOTATIONS, map_subschemas

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
# 2020-12 keywords without a draft-07 form that validates the same.
NO_DRAFT_07_FORM = frozenset(
    {
        "$anchor",
        "$dynamicAnchor",
        "$dynamicRef",
        "$recursiveAnchor",
        "$recursiveRef",
        "$vocabulary",
        "dependentRequired",
        "dependentSchemas",
        "maxContains",
        "minContains",
        "unevaluatedItems",
        "unevaluatedProperties",
    }
)


def to_draft07(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (2020-12, every ``$ref`` internal) in draft-07: ``definitions``
    for ``$defs``, ``items``/``additionalItems`` for ``prefixItems``/``items``,
    and a ``$ref`` with other assertions beside it moved into ``allOf`` (draft-07
    ignores a ``$ref``'s siblings)."""
    rendered = _render(document, "#")
    return {"$schema": DRAFT_07, **{key: value for key, value in rendered.items() if key != "$schema"}}


def _render(node: Any, where: str) -> Any:
    if not isinstance(node, dict):
        return node
    unsupported = sorted(NO_DRAFT_07_FORM.intersection(node))
    if unsupported:
        raise ValueError(f"{where}: {', '.join(unsupported)} has no draft-07 form")
    if "$defs" in node and "definitions" in node:
        raise ValueError(f"{where}: both $defs and definitions")
    converted = map_subschemas(node, lambda sub, key: _render(sub, f"{where}/{key}"))
    rendered: dict[str, Any] = {}
    for key, value in converted.items():
        if key == "$defs":
            rendered["definitions"] = value
        elif key == "$ref" and isinstance(value, str):
            rendered[key] = _draft07_pointer(value)
        elif key == "prefixItems":
            rendered["items"] = value
            if "items" in converted:
                rendered["additionalItems"] = converted["items"]
        elif key == "items" and "prefixItems" in converted:
            continue
        else:
            rendered[key] = value
    return _ref_alone(rendered)


def _draft07_pointer(ref: str) -> str:
    address, hash_, fragment = ref.partition("#")
    segments = ["definitions" if segment == "$defs" else segment for segment in fragment.split("/")]
    return address + hash_ + "/".join(segments)


def _ref_alone(schema: dict[str, Any]) -> dict[str, Any]:
    asserting = [key for key in schema if key not in ANNOTATIONS and key not in ("$ref", "$schema", "$id")]
    if "$ref" not in schema or not asserting:
        return schema
    kept = {key: value for key, value in schema.items() if key != "$ref"}
    kept["allOf"] = [{"$ref": schema["$ref"]}, *kept.get("allOf", [])]
    return kept
