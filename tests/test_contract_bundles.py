"""The generated bundles (contracts/bundles/) say what the schema files say.

Each rendering is read as a consumer reads it (the committed file, with a
stock validator) and must give the source schemas' verdict on every body of
tests/contract_bodies.py: the documented examples, the bad-input catalogue,
the emulator's answers and variants of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, Draft202012Validator
from jsonschema.validators import validator_for
from omnitron_mock import contracts
from omnitron_mock.contracts.errors import to_contract_errors
from omnitron_mock.contracts.walk import subschemas
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from schemathesis.specs.openapi.definitions import OPENAPI_30, OPENAPI_31

from tests import docs
from tests.contract_bodies import corpus
from tests.docs import Block

ROOT = Path(__file__).resolve().parents[1]
BUNDLES = ROOT / "contracts" / "bundles"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@cache
def bundle_file(relative: str) -> Any:
    return json.loads((BUNDLES / relative).read_text("utf-8"))


def json_files() -> list[str]:
    return sorted(path.relative_to(BUNDLES).as_posix() for path in BUNDLES.rglob("*.json"))


def refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` string of a document, wherever it stands."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def pointer(document: Any, fragment: str) -> Any:
    node = document
    for raw in fragment.lstrip("/").split("/") if fragment else []:
        segment = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(segment)] if isinstance(node, list) else node[segment]
    return node


def bodies_of(name: str) -> list[Any]:
    return [body for contract, body in corpus() if contract == name]


def source_errors(name: str, body: Any) -> list[contracts.ContractError]:
    return contracts.validate(name, body)


# -- every bundle ---------------------------------------------------------------------------------


@pytest.mark.parametrize("relative", json_files())
def test_every_reference_of_a_bundle_is_internal_and_resolves(relative: str) -> None:
    document = bundle_file(relative)
    found = list(refs(document))
    assert found or relative.startswith(("draft-07/", "strict/")), f"{relative}: no reference at all"
    for ref in found:
        assert ref.startswith("#"), f"{relative}: external $ref {ref!r}"
        pointer(document, ref[1:])  # raises when it points at nothing


def test_the_bundle_holds_every_schema_by_name() -> None:
    bundle = bundle_file("omnitron-mock.schema.json")
    Draft202012Validator.check_schema(bundle)
    assert bundle["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert list(bundle["$defs"]) == list(contracts.SCHEMA_NAMES)
    for name, schema in bundle["$defs"].items():
        source = contracts.load_schema(name)
        assert "$id" not in schema and "$schema" not in schema
        assert (schema.get("title"), schema.get("type")) == (source.get("title"), source.get("type"))


@cache
def bundle_validator(name: str) -> Draft202012Validator:
    bundle = bundle_file("omnitron-mock.schema.json")
    registry: Registry = Registry().with_resource(bundle["$id"], Resource.from_contents(bundle))
    return Draft202012Validator({"$ref": f"{bundle['$id']}#/$defs/{name}"}, registry=registry)


@pytest.mark.parametrize("name", contracts.SCHEMA_NAMES)
def test_the_bundle_gives_the_sources_errors(name: str) -> None:
    for body in bodies_of(name):
        found = to_contract_errors(bundle_validator(name).iter_errors(body))
        assert found == source_errors(name, body), json.dumps(body)[:300]


def test_the_documented_examples_hold_against_the_bundle() -> None:
    from tests.helpers import documented

    for document, name in [("request", "bulk-status-update-request"), ("response", "bulk-status-update-response")]:
        assert list(bundle_validator(name).iter_errors(documented(document))) == []
    assert list(bundle_validator("bulk-status-update-error-response").iter_errors(documented("bad-response"))) == []


def test_the_corpus_holds_good_and_bad_bodies_of_each_request_and_answer() -> None:
    """Same verdicts would prove nothing if every body passed, or none."""
    for name in [*_openapi_body_contracts(), "fault", "seed"]:
        verdicts = {not source_errors(name, body) for body in bodies_of(name)}
        assert verdicts == {True, False}, f"{name}: only {verdicts}"


def _openapi_body_contracts() -> set[str]:
    """The contracts of the request and response bodies of the OpenAPI document."""
    document = bundle_file("openapi-3.1.json")
    media = [
        content
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
        for part in [operation.get("requestBody", {}), *operation.get("responses", {}).values()]
        for content in part.get("content", {}).values()
    ]
    media += [c for response in document["components"]["responses"].values() for c in response["content"].values()]
    return {ref.rsplit("/", 1)[-1] for content in media for ref in refs(content["schema"])}


# -- draft-07 -------------------------------------------------------------------------------------


def test_each_schema_has_a_draft_07_rendering() -> None:
    rendered = sorted(path.stem for path in (BUNDLES / "draft-07").glob("*.json"))
    assert rendered == sorted(contracts.SCHEMA_NAMES)


@pytest.mark.parametrize("name", contracts.SCHEMA_NAMES)
def test_the_draft_07_rendering_is_draft_07_and_gives_the_sources_verdicts(name: str) -> None:
    document = bundle_file(f"draft-07/{name}.json")
    Draft7Validator.check_schema(document)
    assert document["$schema"] == "http://json-schema.org/draft-07/schema#"
    later_keywords = {"$defs", "prefixItems", "unevaluatedProperties", "dependentRequired", "$anchor"}
    for where, node in subschemas(document):
        assert not later_keywords.intersection(node), f"{name}{where}"
        if "$ref" in node:
            assert set(node) <= {"$ref", "title", "description", "$comment"}, f"{name}{where}: $ref siblings"
    validator = Draft7Validator(document)
    for body in bodies_of(name):
        expected = source_errors(name, body)
        found = to_contract_errors(validator.iter_errors(body))
        assert (found == []) == (expected == []), json.dumps(body)[:300]
        assert {error.path for error in found} == {error.path for error in expected}, json.dumps(body)[:300]


# -- OpenAPI --------------------------------------------------------------------------------------


def test_the_openapi_31_bundle_is_the_bundled_document() -> None:
    document = bundle_file("openapi-3.1.json")
    assert document == contracts.bundled_openapi()
    assert list(validator_for(OPENAPI_31)(OPENAPI_31).iter_errors(document)) == []


def test_the_openapi_30_rendering_is_valid_openapi_3_0() -> None:
    document = bundle_file("openapi-3.0.json")
    assert document["openapi"] == "3.0.3"
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in validator_for(OPENAPI_30)(OPENAPI_30).iter_errors(document)
    ]
    assert errors == []


def operations(document: dict[str, Any]) -> dict[tuple[str, str], Any]:
    return {
        (path, method): (
            operation.get("operationId"),
            sorted(operation["responses"]),
            [parameter["name"] for parameter in item.get("parameters", []) + operation.get("parameters", [])],
            "requestBody" in operation,
        )
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def test_the_openapi_30_rendering_keeps_every_path_and_operation() -> None:
    older, newer = bundle_file("openapi-3.0.json"), bundle_file("openapi-3.1.json")
    assert operations(older) == operations(newer)
    assert older["components"]["responses"].keys() == newer["components"]["responses"].keys()
    assert set(newer["components"]["schemas"]) <= set(older["components"]["schemas"])


def schema_objects_30(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every Schema Object of a 3.0 document with where it is."""

    def within(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "schema":
                    yield from walk30(value, f"{where}/schema")
                elif key not in ("example", "examples"):
                    yield from within(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from within(value, f"{where}/{index}")

    def walk30(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for inner, schema in subschemas(node):
            yield f"{where}{inner}", schema

    for name, schema in document["components"]["schemas"].items():
        yield from walk30(schema, f"components/schemas/{name}")
    yield from within(document["paths"], "paths")
    yield from within({k: v for k, v in document["components"].items() if k != "schemas"}, "components")


def test_the_openapi_30_schemas_use_only_3_0_forms() -> None:
    for where, node in schema_objects_30(bundle_file("openapi-3.0.json")):
        assert not isinstance(node.get("type"), list), where
        assert node.get("type") != "null", where
        for keyword in ("const", "$defs", "$schema", "$id", "examples", "prefixItems", "if", "$comment"):
            assert keyword not in node, f"{where}: {keyword}"
        if "$ref" in node:
            assert set(node) <= {"$ref", "description", "title"}, f"{where}: $ref siblings"
        if node.get("nullable") and "enum" in node:
            assert None in node["enum"], where


def allows_null(schema: dict[str, Any]) -> bool:
    types = schema.get("type")
    branches = schema.get("anyOf", []) + schema.get("oneOf", [])
    return (isinstance(types, list) and "null" in types) or any(b == {"type": "null"} for b in branches)


def test_the_openapi_30_rendering_is_nullable_wherever_null_was_allowed() -> None:
    newer, older = bundle_file("openapi-3.1.json"), bundle_file("openapi-3.0.json")
    checked = 0
    for name, schema in newer["components"]["schemas"].items():
        for where, node in subschemas(schema):
            if allows_null(node):
                component, rest = name, where
                while rest.startswith("/$defs/"):
                    sub, _, rest = rest[len("/$defs/") :].partition("/")
                    component, rest = f"{component}_{sub}", f"/{rest}" if rest else ""
                assert pointer(older["components"]["schemas"][component], rest).get("nullable") is True, (
                    f"{name}{where}"
                )
                checked += 1
    assert checked > 20


def from_openapi_30(node: Any) -> Any:
    """A 3.0 Schema Object read back as JSON Schema, ``nullable`` adding null to what it allows."""
    if not isinstance(node, dict):
        return node
    schema: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-") or key in ("nullable", "example", "discriminator", "xml", "externalDocs"):
            continue
        if key == "exclusiveMinimum" and value is True:
            schema[key] = node["minimum"]
        elif key == "minimum" and node.get("exclusiveMinimum") is True:
            continue
        elif key in ("properties", "patternProperties"):
            schema[key] = {name: from_openapi_30(sub) for name, sub in value.items()}
        elif key in ("allOf", "anyOf", "oneOf"):
            schema[key] = [from_openapi_30(sub) for sub in value]
        elif key in ("items", "additionalProperties", "not"):
            schema[key] = from_openapi_30(value)
        else:
            schema[key] = value
    return {"anyOf": [schema, {"type": "null"}]} if node.get("nullable") else schema


@cache
def openapi_30_validator(name: str) -> Draft202012Validator:
    document = bundle_file("openapi-3.0.json")
    uri = "urn:omnitron-mock:openapi-3.0"
    read_back = {
        "components": {"schemas": {k: from_openapi_30(v) for k, v in document["components"]["schemas"].items()}}
    }
    resource = Resource.from_contents(read_back, default_specification=DRAFT202012)
    registry: Registry = Registry().with_resource(uri, resource)
    return Draft202012Validator({"$ref": f"{uri}#/components/schemas/{name}"}, registry=registry)


@pytest.mark.parametrize("name", sorted(_openapi_body_contracts()))
def test_the_openapi_30_rendering_gives_the_sources_verdicts(name: str) -> None:
    for body in bodies_of(name):
        expected = source_errors(name, body) == []
        assert (list(openapi_30_validator(name).iter_errors(body)) == []) == expected, json.dumps(body)[:300]


def test_status_names_reach_openapi_30_generators() -> None:
    status = bundle_file("openapi-3.0.json")["components"]["schemas"]["order-item-status"]
    table = contracts.default_contracts().statuses()
    assert (status["enum"], status["x-enum-varnames"]) == (list(table), list(table.values()))


# -- the docs' example ----------------------------------------------------------------------------


@docs.examples
def test_bundle_examples_run(
    example: Block, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    exec(compile(example.text, example.id, "exec"), {})
    printed = capfd.readouterr().out.splitlines()
    expected = [line.split("# ", 1)[1] for line in example.text.splitlines() if line.strip().startswith("print(")]
    assert printed == expected


@pytest.mark.parametrize(
    ("name", "version"), [("openapi-3.0.json", "3.0.3"), ("openapi-3.1.json", "3.1.0")], ids=["3.0", "3.1"]
)
def test_openapi_spec_validator_accepts_each_rendering_as_its_version(name: str, version: str) -> None:
    """The validator integrators reach for, with the specification the document declares."""
    from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator

    document = bundle_file(name)
    assert document["openapi"] == version
    spec_validator = OpenAPIV30SpecValidator if version.startswith("3.0") else OpenAPIV31SpecValidator
    assert [error.message for error in spec_validator(document).iter_errors()] == []
    text = json.dumps(document)
    assert '"$ref": "#/' in text and all(ref.startswith("#/") for ref in _refs(document))


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)
