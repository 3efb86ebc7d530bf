"""Walking a JSON Schema keyword by keyword: which values are subschemas.

The generators rewrite schemas node by node; knowing the keywords keeps them
from touching data that only looks like a keyword (a property named ``type``,
an ``enum`` value, an example).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

# Keywords whose value is one subschema.
SINGLE = (
    "additionalItems",
    "additionalProperties",
    "contains",
    "else",
    "if",
    "items",
    "not",
    "propertyNames",
    "then",
    "unevaluatedItems",
    "unevaluatedProperties",
)
# Keywords whose value maps names to subschemas.
MAPS = ("$defs", "definitions", "dependentSchemas", "patternProperties", "properties")
# Keywords whose value is a list of subschemas (draft-07's list-valued items too).
LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
# Keywords that describe and never decide a verdict.
ANNOTATIONS = frozenset(
    {"$comment", "default", "deprecated", "description", "examples", "readOnly", "title", "writeOnly"}
)

Transform = Callable[[Any, str], Any]


def map_subschemas(schema: dict[str, Any], transform: Transform) -> dict[str, Any]:
    """A copy of ``schema`` with ``transform(subschema, pointer)`` applied to each direct subschema.

    The pointer is the subschema's place relative to ``schema`` (``properties/id``);
    other values are deep copies, in the same key order.
    """
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key in MAPS and isinstance(value, dict):
            result[key] = {name: transform(sub, f"{key}/{escape(name)}") for name, sub in value.items()}
        elif key in LISTS or (key == "items" and isinstance(value, list)):
            result[key] = [transform(sub, f"{key}/{index}") for index, sub in enumerate(value)]
        elif key in SINGLE:
            result[key] = transform(value, key)
        else:
            result[key] = copy.deepcopy(value)
    return result


def subschemas(schema: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object schema within ``schema``, itself included, with its JSON pointer ("" for the root)."""
    found: list[tuple[str, dict[str, Any]]] = []

    def visit(node: Any, pointer: str) -> Any:
        if isinstance(node, dict):
            found.append((pointer, node))
            map_subschemas(node, lambda sub, where: visit(sub, f"{pointer}/{where}"))
        return node

    visit(schema, "")
    return iter(found)


def escape(segment: str) -> str:
    """A JSON pointer segment (RFC 6901)."""
    return segment.replace("~", "~0").replace("/", "~1")


def unescape(segment: str) -> str:
    return segment.replace("~1", "/").replace("~0", "~")


def json_type(value: object) -> str:
    """The JSON Schema type name of a decoded JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
