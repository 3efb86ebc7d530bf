"""Static checks of contracts/openapi.json and of its bundled form (no server needed)."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from omnitron_mock import contracts
from omnitron_mock.endpoints import ENDPOINTS
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

CONTRACTS_DIR = Path(__file__).resolve().parents[1] / "contracts"
OPENAPI_PATH = CONTRACTS_DIR / "openapi.json"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
BUNDLE_URI = "urn:omnitron-mock:bundled-openapi"


def _source() -> dict[str, Any]:
    return json.loads(OPENAPI_PATH.read_text("utf-8"))


def _refs(node: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    """Every ``$ref`` string in ``node``, with the JSON pointer of the object holding it."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield where, value
            else:
                yield from _refs(value, f"{where}/{_escape(str(key))}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _refs(value, f"{where}/{index}")


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _resolve(document: Any, fragment: str) -> Any:
    """Walk a JSON pointer (``/a/b~1c/0``, without the ``#``); raise LookupError if absent."""
    if fragment in ("", "/"):
        return document
    if not fragment.startswith("/"):
        raise LookupError(f"not a JSON pointer: {fragment!r}")
    node = document
    for raw in fragment[1:].split("/"):
        segment = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and segment in node:
            node = node[segment]
        elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
            node = node[int(segment)]
        else:
            raise LookupError(f"{segment!r} not found while resolving {fragment!r}")
    return node


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def _json_media(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every application/json media type object of the document, with its location."""
    for path, method, operation in _operations(document):
        body = operation.get("requestBody", {})
        if "content" in body:
            yield f"{method.upper()} {path} request", body["content"]["application/json"]
        for status, response in operation["responses"].items():
            if "content" in response:
                yield f"{method.upper()} {path} {status}", response["content"]["application/json"]
    for name, response in document.get("components", {}).get("responses", {}).items():
        if "content" in response:
            yield f"components/responses/{name}", response["content"]["application/json"]


def _schema_name(file_ref: str) -> str:
    assert file_ref.startswith("schemas/"), file_ref
    return file_ref.partition("#")[0].removeprefix("schemas/").removesuffix(".json")


def _example_values(media: dict[str, Any]) -> list[tuple[str, Any]]:
    values = []
    if "example" in media:
        values.append(("example", media["example"]))
    for name, example in media.get("examples", {}).items():
        values.append((name, example["value"]))
    return values


# -- source document ---------------------------------------------------------


def test_document_header() -> None:
    document = _source()
    assert document["openapi"] == "3.1.0"
    assert document["info"]["version"] == "0.1.0"
    assert [server["url"] for server in document["servers"]] == ["/api/i1", "/api/v1"]
    assert document["security"] == [{"TokenAuth": []}]
    scheme = document["components"]["securitySchemes"]["TokenAuth"]
    assert scheme == {**scheme, "type": "apiKey", "in": "header", "name": "Authorization"}


def test_document_is_two_space_indented_json() -> None:
    text = OPENAPI_PATH.read_text("utf-8")
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def test_paths_and_methods_match_the_emulated_routes() -> None:
    """Every route of the emulator's URL table is documented with its methods, and nothing else is."""
    found = {(re.sub(r"\{[^}]*\}", "{}", path), method) for path, method, _ in _operations(_source())}
    served = {
        ("/" + re.sub(r"<[^>]*>", "{}", rule), method.lower())
        for rule, endpoint in ENDPOINTS.items()
        for method in endpoint.handlers
    }
    assert found == served
    assert ("/order_items/bulk_status_update/", "patch") in found


def test_file_refs_point_at_existing_schema_files() -> None:
    file_refs = [(where, ref) for where, ref in _refs(_source()) if not ref.startswith("#")]
    assert file_refs, "the document should reference the schema files"
    for where, ref in file_refs:
        target, _, fragment = ref.partition("#")
        assert target.startswith("schemas/") and target.endswith(".json"), f"{where}: {ref}"
        schema_file = CONTRACTS_DIR / target
        assert schema_file.is_file(), f"{where}: {ref} -> missing {schema_file}"
        assert _schema_name(ref) in contracts.SCHEMA_NAMES, f"{where}: {ref}"
        if fragment:
            _resolve(json.loads(schema_file.read_text("utf-8")), fragment)


def test_internal_refs_resolve_inside_the_document() -> None:
    document = _source()
    internal = [(where, ref) for where, ref in _refs(document) if ref.startswith("#")]
    assert internal
    for where, ref in internal:
        assert ref.startswith("#/components/"), f"{where}: {ref}"
        try:
            _resolve(document, ref[1:])
        except LookupError as error:
            pytest.fail(f"{where}: {ref} does not resolve: {error}")


def test_bodies_are_given_only_by_schema_file_refs() -> None:
    for where, media in _json_media(_source()):
        schema = media["schema"]
        branches = schema["oneOf"] if set(schema) == {"oneOf"} else [schema]
        for branch in branches:
            assert set(branch) == {"$ref"}, f"{where}: inline body schema {branch}"
            assert branch["$ref"].startswith("schemas/"), f"{where}: {branch['$ref']}"


def test_operations_have_ids_and_required_responses() -> None:
    operations = list(_operations(_source()))
    ids = [operation.get("operationId") for _, _, operation in operations]
    assert all(ids), f"operation without operationId: {ids}"
    duplicates = [name for name, count in Counter(ids).items() if count > 1]
    assert not duplicates, f"duplicate operationIds: {duplicates}"
    for path, method, operation in operations:
        responses = operation["responses"]
        assert "200" in responses, f"{method.upper()} {path} has no 200 response"
        if path == "/auth/login/":
            assert operation["security"] == [], "login must not require a token"
        else:
            assert "401" in responses, f"{method.upper()} {path} has no 401 response"
            assert "security" not in operation, f"{method.upper()} {path} overrides security"


def test_documented_bulk_request_example_is_valid() -> None:
    operation = _source()["paths"]["/order_items/bulk_status_update/"]["patch"]
    media = operation["requestBody"]["content"]["application/json"]
    example = media["examples"]["documented"]["value"]
    assert [item["id"] for item in example["orderitem_set"]] == [1, 2, 3]
    assert contracts.validate("bulk-status-update-request", example) == []


def test_bulk_error_example_is_valid() -> None:
    operation = _source()["paths"]["/order_items/bulk_status_update/"]["patch"]
    example = operation["responses"]["400"]["content"]["application/json"]["examples"]["itemErrors"]
    assert example["value"] == [
        {"message": {"status": ["No matching type."]}, "args": {"orderitem_id": "123"}},
        {"message": ["You can only update one order at a time."], "args": {"orderitem_id": "122"}},
    ]
    assert contracts.validate("bulk-status-update-error-response", example["value"]) == []


def test_every_example_matches_its_schema() -> None:
    checked = 0
    for where, media in _json_media(_source()):
        schema = media["schema"]
        names = [_schema_name(b["$ref"]) for b in schema.get("oneOf", [schema])]
        for label, value in _example_values(media):
            matching = [name for name in names if contracts.validate(name, value) == []]
            assert len(matching) == 1, f"{where} [{label}] matches {matching} of {names}"
            checked += 1
    assert checked >= 50


# -- bundled document --------------------------------------------------------


def test_bundled_internal_refs_resolve() -> None:
    bundled = contracts.bundled_openapi()
    internal = [(where, ref) for where, ref in _refs(bundled) if ref.startswith("#")]
    assert internal
    for where, ref in internal:
        assert ref.startswith("#/"), f"{where}: {ref}"
        try:
            _resolve(bundled, ref[1:])
        except LookupError as error:
            pytest.fail(f"{where}: {ref} does not resolve: {error}")


def test_bundled_openapi_is_self_contained() -> None:
    bundled = contracts.bundled_openapi()
    external = [(where, ref) for where, ref in _refs(bundled) if not ref.startswith("#/")]
    assert external == []


def test_bundled_schemas_cover_every_referenced_file() -> None:
    referenced = {_schema_name(ref) for _, ref in _refs(_source()) if not ref.startswith("#")}
    bundled = contracts.bundled_openapi()["components"]["schemas"]
    assert referenced <= set(bundled)
    for name, schema in bundled.items():
        assert "$id" not in schema and "$schema" not in schema, name


def _bundled_validator(component: str) -> Draft202012Validator:
    bundled = contracts.bundled_openapi()
    resource = Resource.from_contents(bundled, default_specification=DRAFT202012)
    registry = Registry().with_resource(BUNDLE_URI, resource)
    schema = {"$ref": f"{BUNDLE_URI}#/components/schemas/{component}"}
    return Draft202012Validator(schema, registry=registry)


def test_bundled_schemas_validate_like_the_files() -> None:
    operation = _source()["paths"]["/order_items/bulk_status_update/"]["patch"]
    request = operation["requestBody"]["content"]["application/json"]["examples"]["documented"]
    errors = operation["responses"]["400"]["content"]["application/json"]["examples"]["itemErrors"]
    request_validator = _bundled_validator("bulk-status-update-request")
    assert list(request_validator.iter_errors(request["value"])) == []
    error_validator = _bundled_validator("bulk-status-update-error-response")
    assert list(error_validator.iter_errors(errors["value"])) == []
    broken = {"orderitem_set": [{"id": 1, "status": "999", "shipping_company": "fedex"}]}
    assert len(list(request_validator.iter_errors(broken))) == 2
    assert len(contracts.validate("bulk-status-update-request", broken)) == 2
