"""An OpenAPI 3.0.3 rendering of the bundled 3.1 document, for generators that stop at 3.0.

3.0's Schema Object is an older JSON Schema dialect: one ``type`` and
``nullable`` instead of a ``null`` type, ``enum`` instead of ``const``, no
``$defs`` (a schema's own definitions become components of their own), one
``example``, boolean ``exclusiveMinimum``, and a ``$ref`` whose siblings are
ignored. Each construct of the sources is rewritten to the 3.0 form that
accepts the same bodies, or the generator stops and says which.
"""

from __future__ import annotations

import copy
from typing import Any

from omnitron_mock.contracts.walk import ANNOTATIONS, escape, json_type, map_subschemas, unescape

OPENAPI_30 = "3.0.3"
COMPONENTS = "#/components/schemas/"
# The keywords of 3.0's Schema Object (x- extensions besides).
SCHEMA_30 = frozenset(
    {
        "$ref",
        "additionalProperties",
        "allOf",
        "anyOf",
        "default",
        "deprecated",
        "description",
        "discriminator",
        "enum",
        "example",
        "exclusiveMaximum",
        "exclusiveMinimum",
        "externalDocs",
        "format",
        "items",
        "maxItems",
        "maxLength",
        "maxProperties",
        "maximum",
        "minItems",
        "minLength",
        "minProperties",
        "minimum",
        "multipleOf",
        "not",
        "nullable",
        "oneOf",
        "pattern",
        "properties",
        "readOnly",
        "required",
        "title",
        "type",
        "uniqueItems",
        "writeOnly",
        "xml",
    }
)
# Dropped: they only identify or comment, and 3.0 has no place for them.
DROPPED = ("$comment", "$id", "$schema")
ONLY_31 = ("jsonSchemaDialect", "webhooks")


def to_openapi30(document: dict[str, Any]) -> dict[str, Any]:
    """The 3.0.3 form of ``document``, a self-contained OpenAPI 3.1 document."""
    present = [key for key in ONLY_31 if key in document]
    info = document.get("info", {})
    if "summary" in info or "identifier" in info.get("license", {}):
        present.append("info.summary or info.license.identifier")
    if present:
        raise ValueError(f"openapi: {', '.join(present)} has no 3.0 form")
    rendered: dict[str, Any] = {}
    for key, value in document.items():
        if key == "openapi":
            rendered[key] = OPENAPI_30
        elif key == "components":
            rendered[key] = {
                part: _component_schemas(content) if part == "schemas" else _within(content, f"components/{part}")
                for part, content in value.items()
            }
        else:
            rendered[key] = _within(value, key)
    return rendered


def _component_schemas(schemas: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}

    def hoist(name: str, schema: Any) -> None:
        if name in flat:
            raise ValueError(f"components/schemas/{name}: a schema's $defs entry takes the name of another schema")
        definitions = schema.get("$defs", {}) if isinstance(schema, dict) else {}
        flat[name] = {key: value for key, value in schema.items() if key != "$defs"} if definitions else schema
        for sub, definition in definitions.items():
            hoist(f"{name}_{sub}", definition)

    for name, schema in schemas.items():
        hoist(name, schema)
    return {name: _schema(flat[name], f"components/schemas/{name}") for name in sorted(flat)}


def _within(node: Any, where: str) -> Any:
    """A part of the document outside the Schema Objects: each ``schema`` it holds converted."""
    if isinstance(node, list):
        return [_within(item, f"{where}/{index}") for index, item in enumerate(node)]
    if not isinstance(node, dict):
        return node
    rendered: dict[str, Any] = {}
    for key, value in node.items():
        if key == "schema":
            rendered[key] = _schema(value, f"{where}/schema")
        elif key in ("example", "examples") or key.startswith("x-"):
            rendered[key] = copy.deepcopy(value)  # data, not schemas
        elif key == "$ref" and isinstance(value, str):
            rendered[key] = _ref(value)
        else:
            rendered[key] = _within(value, f"{where}/{escape(key)}")
    return rendered


def _ref(ref: str) -> str:
    """A reference into a component's ``$defs`` points at the component it became."""
    if not ref.startswith(COMPONENTS):
        return ref
    segments = [unescape(segment) for segment in ref[len(COMPONENTS) :].split("/")]
    while len(segments) >= 3 and segments[1] == "$defs":
        segments = [f"{segments[0]}_{segments[2]}", *segments[3:]]
    return COMPONENTS + "/".join(escape(segment) for segment in segments)


def _schema(node: Any, where: str) -> Any:
    if node is True:
        return {}
    if node is False:
        return {"not": {}}
    if not isinstance(node, dict):
        raise ValueError(f"{where}: not a schema")
    node = {key: value for key, value in node.items() if key not in DROPPED}
    for key in ("oneOf", "anyOf"):
        if _constant_choice(node.get(key)):
            node = _as_enum(node, key, where)
    for key in ("anyOf", "oneOf"):
        if any(_is_null(branch) for branch in node.get(key, [])):
            node = _nullable(node, key, where)
    node = _single_type(node, where)
    if "const" in node:
        if "enum" in node:
            raise ValueError(f"{where}: const beside enum")
        constant = node.pop("const")
        node["enum"] = [constant]
        if "type" not in node and json_type(constant) in _SCALAR_TYPES:
            # Implied by the constant; generators want it said.
            node["type"] = json_type(constant)
    if "examples" in node:
        examples = node.pop("examples")
        if examples and "example" not in node:
            node["example"] = examples[0]
    for exclusive, inclusive in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        bound = node.get(exclusive)
        if isinstance(bound, int | float) and not isinstance(bound, bool):
            if inclusive in node:
                raise ValueError(f"{where}: {exclusive} beside {inclusive}")
            node[inclusive], node[exclusive] = bound, True
    unknown = sorted(key for key in node if key not in SCHEMA_30 and not key.startswith("x-"))
    if unknown:
        raise ValueError(f"{where}: {', '.join(unknown)} has no OpenAPI 3.0 form")
    rendered = map_subschemas(node, lambda sub, key: _schema(sub, f"{where}/{key}"))
    if node.get("nullable") and "enum" in rendered and None not in rendered["enum"]:
        # 3.0.3: nullable does not widen an enum; null must be one of its values.
        rendered["enum"] = [*rendered["enum"], None]
    if isinstance(rendered.get("$ref"), str):
        rendered["$ref"] = _ref(rendered["$ref"])
        rendered = _ref_alone(rendered)
    return rendered


def _constant_choice(branches: Any) -> bool:
    if not isinstance(branches, list) or not branches:
        return False
    if not all(isinstance(b, dict) and "const" in b and set(b) <= {"const", "title", "description"} for b in branches):
        return False
    constants = [b["const"] for b in branches]
    return None not in constants and len({repr(c) for c in constants}) == len(constants)


def _as_enum(node: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    """A choice of constants is an enum; their titles name its values for generators."""
    if "enum" in node or "const" in node:
        raise ValueError(f"{where}: {key} of constants beside enum or const")
    branches = node[key]
    converted = {name: value for name, value in node.items() if name != key}
    converted["enum"] = [branch["const"] for branch in branches]
    if all("title" in branch for branch in branches):
        converted["x-enum-varnames"] = [branch["title"] for branch in branches]
    if all("description" in branch for branch in branches):
        converted["x-enum-descriptions"] = [branch["description"] for branch in branches]
    return converted


def _is_null(branch: Any) -> bool:
    if not isinstance(branch, dict):
        return False
    asserting = set(branch) - ANNOTATIONS
    return (asserting == {"type"} and branch["type"] == "null") or (asserting == {"const"} and branch["const"] is None)


def _nullable(node: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    """``anyOf: [X, {type: null}]`` is X with ``nullable: true``; when X is a
    ``$ref``, ``allOf: [X]`` with ``nullable: true``, the nullable reference
    that 3.0 generators read."""
    others = [branch for branch in node[key] if not _is_null(branch)]
    if len(others) != 1:
        raise ValueError(f"{where}: {key} with null and {len(others)} other branches has no exact 3.0 form")
    [other] = others
    rest = {name: value for name, value in node.items() if name != key}
    if isinstance(other, dict) and "$ref" in other:
        merged = {**rest, "allOf": [other, *rest.get("allOf", [])]}
    elif isinstance(other, dict):
        clash = sorted((set(other) & set(rest)) - ANNOTATIONS)
        if clash:
            raise ValueError(f"{where}: {', '.join(clash)} both beside and inside {key}")
        merged = {**other, **rest}
    else:
        raise ValueError(f"{where}: a boolean schema beside null")
    merged["nullable"] = True
    return merged


def _single_type(node: dict[str, Any], where: str) -> dict[str, Any]:
    types = node.get("type")
    if types == "null":
        raise ValueError(f"{where}: type null alone has no 3.0 form")
    if not isinstance(types, list):
        return node
    others = [name for name in types if name != "null"]
    if len(others) != 1:
        raise ValueError(f"{where}: type {types} has no 3.0 form")
    converted = {**node, "type": others[0]}
    if "null" in types:
        converted["nullable"] = True
    return converted


# A constant of these types implies its schema's type.
_SCALAR_TYPES = frozenset({"boolean", "integer", "number", "string"})


def _ref_alone(schema: dict[str, Any]) -> dict[str, Any]:
    asserting = [key for key in schema if key not in ANNOTATIONS and key != "$ref"]
    if not asserting:
        return schema
    kept = {key: value for key, value in schema.items() if key != "$ref"}
    kept["allOf"] = [{"$ref": schema["$ref"]}, *kept.get("allOf", [])]
    return kept
