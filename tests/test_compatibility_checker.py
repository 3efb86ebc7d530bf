"""The compatibility checker on small synthetic releases: each kind of break
it claims to find, and the changes it must let through."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from omnitron_mock.contracts.compatibility import Break, ContractSet, breaking_changes, summary
from omnitron_mock.contracts.releases import current_contracts

THING = "#/components/schemas/thing"
THING_REQUEST = "#/components/schemas/thing-request"


def _json(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": ref}}}


def release(
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    *,
    version: str = "1.0.0",
    change: Any = None,
) -> ContractSet:
    """A release with one operation, ``PATCH /things/{id}/``, taking a
    ``thing-request`` body and answering a ``thing``; both are schema files
    and components of the document, as in a real release. ``change`` may
    edit the document before it is used."""
    request = request if request is not None else {"type": "object", "properties": {"name": {"type": "string"}}}
    response = response if response is not None else {"type": "object", "properties": {"id": {"type": "integer"}}}
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "things", "version": version},
        "paths": {
            "/things/{id}/": {
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "patch": {
                    "parameters": [{"name": "dry_run", "in": "query", "schema": {"type": "boolean"}}],
                    "requestBody": {"required": False, "content": _json(THING_REQUEST)},
                    "responses": {
                        "200": {"description": "the thing", "content": _json(THING)},
                        "404": {"description": "no thing", "content": _json("#/components/schemas/Problem")},
                    },
                },
                "get": {"responses": {"200": {"description": "the thing", "content": _json(THING)}}},
            }
        },
        "components": {
            "schemas": {
                "thing-request": copy.deepcopy(request),
                "thing": copy.deepcopy(response),
                "Problem": {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}},
            }
        },
    }
    if change is not None:
        change(document)
    return ContractSet(version, {"openapi.json": document}, {"thing-request": request, "thing": response})


def kinds(old: ContractSet, new: ContractSet) -> list[tuple[str, str, str]]:
    return [(found.where, found.path, found.kind) for found in breaking_changes(old, new)]


def obj(properties: dict[str, Any], required: list[str] | None = None, **more: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, **more}
    if required is not None:
        schema["required"] = required
    return schema


STRING = {"type": "string"}
INTEGER = {"type": "integer"}


# -- documents: paths, operations, statuses, parameters, bodies ------------------


def test_a_removed_path_breaks() -> None:
    new = release(change=lambda d: d["paths"].pop("/things/{id}/"))
    assert kinds(release(), new) == [("openapi.json /things/{id}/", "", "removed-path")]


def test_a_removed_operation_breaks() -> None:
    new = release(change=lambda d: d["paths"]["/things/{id}/"].pop("get"))
    assert kinds(release(), new) == [("openapi.json GET /things/{id}/", "", "removed-operation")]


def test_a_removed_response_status_breaks() -> None:
    new = release(change=lambda d: d["paths"]["/things/{id}/"]["patch"]["responses"].pop("404"))
    assert kinds(release(), new) == [("openapi.json PATCH /things/{id}/", "", "removed-status")]


def test_a_response_that_lost_its_json_body_breaks() -> None:
    new = release(change=lambda d: d["paths"]["/things/{id}/"]["get"]["responses"]["200"].pop("content"))
    assert kinds(release(), new) == [("openapi.json GET /things/{id}/ 200", "", "removed-media-type")]


def test_a_removed_document_and_a_removed_schema_file_break() -> None:
    old = release()
    new = ContractSet("1.1.0", {}, {"thing": old.schemas["thing"]})
    assert kinds(old, new) == [("openapi.json", "", "removed-document"), ("schema thing-request", "", "removed-schema")]


def test_a_new_required_parameter_and_a_removed_parameter_break() -> None:
    def change(document: dict[str, Any]) -> None:
        operation = document["paths"]["/things/{id}/"]["patch"]
        operation["parameters"] = [{"name": "version", "in": "header", "required": True, "schema": STRING}]

    assert kinds(release(), release(change=change)) == [
        ("openapi.json PATCH /things/{id}/", "header parameter version", "new-required-parameter"),
        ("openapi.json PATCH /things/{id}/", "query parameter dry_run", "removed-parameter"),
    ]


def test_a_parameter_that_became_required_or_narrower_breaks() -> None:
    def change(document: dict[str, Any]) -> None:
        document["paths"]["/things/{id}/"]["patch"]["parameters"] = [
            {"name": "dry_run", "in": "query", "required": True, "schema": {"type": "boolean", "const": True}}
        ]

    assert kinds(release(), release(change=change)) == [
        ("openapi.json PATCH /things/{id}/", "query parameter dry_run", "new-required-parameter"),
        ("openapi.json PATCH /things/{id}/ query parameter dry_run", "$", "enum-narrowed"),
    ]


def test_a_request_body_that_became_required_breaks() -> None:
    new = release(change=lambda d: d["paths"]["/things/{id}/"]["patch"]["requestBody"].update(required=True))
    assert kinds(release(), new) == [("openapi.json PATCH /things/{id}/", "", "request-body-required")]


def test_a_request_body_no_longer_taken_breaks() -> None:
    new = release(change=lambda d: d["paths"]["/things/{id}/"]["patch"].pop("requestBody"))
    assert kinds(release(), new) == [("openapi.json PATCH /things/{id}/", "", "removed-request-body")]


def test_a_schema_of_the_documents_own_is_compared_in_its_role() -> None:
    # Problem answers 404s: a reader's schema. A removed property breaks it.
    new = release(change=lambda d: d["components"]["schemas"]["Problem"].update(properties={}, required=[]))
    assert kinds(release(), new) == [
        ("openapi.json components/schemas/Problem", "$.detail", "removed-response-property"),
    ]


# -- responses --------------------------------------------------------------------


def test_a_removed_response_property_breaks() -> None:
    old = release(response=obj({"id": INTEGER, "name": STRING}))
    assert kinds(old, release(response=obj({"id": INTEGER}))) == [
        ("schema thing", "$.name", "removed-response-property")
    ]


def test_a_response_property_no_longer_required_breaks() -> None:
    old = release(response=obj({"id": INTEGER}, ["id"]))
    assert kinds(old, release(response=obj({"id": INTEGER}, []))) == [
        ("schema thing", "$.id", "response-property-optional")
    ]


@pytest.mark.parametrize(
    "nullable",
    [{"type": ["integer", "null"]}, {"anyOf": [INTEGER, {"type": "null"}]}],
    ids=["type-array", "anyOf-null"],
)
def test_a_response_property_that_became_nullable_breaks(nullable: dict[str, Any]) -> None:
    old = release(response=obj({"id": INTEGER}, ["id"]))
    assert kinds(old, release(response=obj({"id": nullable}, ["id"]))) == [
        ("schema thing", "$.id", "response-nullable")
    ]


def test_a_widened_response_type_breaks() -> None:
    old = release(response=obj({"id": INTEGER}))
    assert kinds(old, release(response=obj({"id": {"type": ["integer", "string"]}}))) == [
        ("schema thing", "$.id", "response-type-widened")
    ]


def test_a_narrowed_response_type_breaks_too() -> None:
    """Contracts only grow: consumers also write answers with these schemas
    (stubs, fixtures), and a shared schema is both written and read."""
    old = release(response=obj({"id": {"type": ["integer", "null"]}}))
    assert kinds(old, release(response=obj({"id": INTEGER}))) == [("schema thing", "$.id", "type-narrowed")]


def test_a_change_deep_in_a_response_names_its_json_path() -> None:
    line = {"type": "object", "required": ["status"], "properties": {"status": STRING}}
    old = release(response=obj({"lines": {"type": "array", "items": line}}))
    narrowed = copy.deepcopy(line)
    narrowed["required"] = []
    [found] = breaking_changes(old, release(response=obj({"lines": {"type": "array", "items": narrowed}})))
    assert (found.path, found.kind) == ("$.lines[].status", "response-property-optional")
    assert str(found) == "schema thing $.lines[].status: no longer always present [response-property-optional]"


def test_a_change_behind_a_local_reference_is_found_where_it_is_used() -> None:
    def with_defs(required: list[str]) -> dict[str, Any]:
        return {
            "$defs": {"money": obj({"amount": STRING}, required)},
            **obj({"price": {"$ref": "#/$defs/money"}}),
        }

    assert kinds(release(response=with_defs(["amount"])), release(response=with_defs([]))) == [
        ("schema thing", "$.price.amount", "response-property-optional")
    ]


# -- requests ---------------------------------------------------------------------


def test_a_new_required_request_property_breaks() -> None:
    old = release(request=obj({"name": STRING}))
    new = release(request=obj({"name": STRING, "code": STRING}, ["name", "code"]))
    assert kinds(old, new) == [
        ("schema thing-request", "$.code", "new-required-request-property"),
        ("schema thing-request", "$.name", "new-required-request-property"),
    ]
    details = [found.detail for found in breaking_changes(old, new)]
    assert details == ["now required (new property)", "now required (was optional)"]


def test_a_removed_request_property_breaks() -> None:
    old = release(request=obj({"name": STRING, "note": STRING}))
    assert kinds(old, release(request=obj({"name": STRING}))) == [
        ("schema thing-request", "$.note", "removed-request-property")
    ]


def test_a_narrowed_request_type_breaks() -> None:
    old = release(request=obj({"amount": {"type": "number"}}))
    assert kinds(old, release(request=obj({"amount": INTEGER}))) == [
        ("schema thing-request", "$.amount", "type-narrowed")
    ]


def test_a_request_property_that_lost_null_breaks() -> None:
    old = release(request=obj({"note": {"anyOf": [STRING, {"type": "null"}]}}))
    assert kinds(old, release(request=obj({"note": STRING}))) == [("schema thing-request", "$.note", "type-narrowed")]


def test_a_narrowed_request_enum_breaks_however_it_is_written() -> None:
    statuses = {"oneOf": [{"const": "400", "title": "approved"}, {"const": "550", "title": "delivered"}]}
    fewer = {"oneOf": [{"const": "400", "title": "approved"}]}
    old = release(request=obj({"status": statuses, "kind": {"enum": ["a", "b"]}}))
    new = release(request=obj({"status": fewer, "kind": {"enum": ["a"]}}))
    assert kinds(old, new) == [
        ("schema thing-request", "$.kind", "enum-narrowed"),
        ("schema thing-request", "$.status", "enum-narrowed"),
    ]
    assert [found.detail for found in breaking_changes(old, new)] == [
        'no longer allows "b"',
        'no longer allows "550"',
    ]


def test_an_enum_where_any_value_was_taken_breaks() -> None:
    old = release(request=obj({"kind": STRING}))
    assert kinds(old, release(request=obj({"kind": {"type": "string", "enum": ["a"]}}))) == [
        ("schema thing-request", "$.kind", "enum-narrowed")
    ]


def test_narrowed_request_bounds_and_a_new_pattern_break() -> None:
    old = release(request=obj({"ids": {"type": "array", "maxItems": 1000}, "code": STRING}))
    new = release(
        request=obj(
            {
                "ids": {"type": "array", "maxItems": 500},
                "code": {"type": "string", "pattern": "^[A-Z]+$", "minLength": 1},
            }
        )
    )
    assert kinds(old, new) == [
        ("schema thing-request", "$.code", "request-bound-narrowed"),
        ("schema thing-request", "$.code", "request-pattern-changed"),
        ("schema thing-request", "$.ids", "request-bound-narrowed"),
    ]
    assert [found.detail for found in breaking_changes(old, new)] == [
        "minLength now 1 (was none)",
        'pattern added, now "^[A-Z]+$"',
        "maxItems now 500 (was 1000)",
    ]


def test_a_changed_pattern_breaks_and_a_long_one_is_cut_in_the_line() -> None:
    long = "^[^\\t\\n " + "x" * 60 + "]*$"
    old = release(request=obj({"code": {"type": "string", "pattern": "^[^\\s]*$"}}))
    [found] = breaking_changes(old, release(request=obj({"code": {"type": "string", "pattern": long}})))
    assert found.kind == "request-pattern-changed"
    assert found.detail == f"pattern changed, now {json.dumps(long[:40] + '…', ensure_ascii=False)}"


def test_a_request_object_that_closed_breaks() -> None:
    old = release(request=obj({"name": STRING}))
    assert kinds(old, release(request=obj({"name": STRING}, additionalProperties=False))) == [
        ("schema thing-request", "$", "request-object-closed")
    ]


# -- roles: the same change read as a request and as a response ----------------------


def test_a_schema_used_both_ways_is_held_to_both_roles() -> None:
    def shared(document: dict[str, Any]) -> None:
        # GET answers with the request schema too: it is written and read.
        get = document["paths"]["/things/{id}/"]["get"]
        get["responses"]["200"]["content"] = _json(THING_REQUEST)

    old = release(request=obj({"name": STRING}, ["name"]), change=shared)
    new = release(request=obj({"name": STRING, "code": STRING}, ["code"]), change=shared)
    assert kinds(old, new) == [
        ("schema thing-request", "$.code", "new-required-request-property"),
        ("schema thing-request", "$.name", "response-property-optional"),
    ]


def test_a_required_property_made_optional_is_safe_in_a_request_only() -> None:
    old = release(request=obj({"name": STRING}, ["name"]))
    assert kinds(old, release(request=obj({"name": STRING}, []))) == []


# -- safe changes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param(
            {"request": obj({"name": STRING})},
            {"request": obj({"name": STRING, "note": STRING})},
            id="added-optional-request-property",
        ),
        pytest.param(
            {"response": obj({"id": INTEGER})},
            {"response": obj({"id": INTEGER, "name": STRING}, ["id", "name"])},
            id="added-response-property",
        ),
        pytest.param(
            {"request": obj({"kind": {"enum": ["a"]}}), "response": obj({"kind": {"enum": ["a"]}})},
            {"request": obj({"kind": {"enum": ["a", "b"]}}), "response": obj({"kind": {"enum": ["a", "b"]}})},
            id="widened-enum",
        ),
        pytest.param(
            {"request": obj({"status": {"oneOf": [{"const": "400"}]}})},
            {"request": obj({"status": {"oneOf": [{"const": "400"}, {"const": "550"}]}})},
            id="widened-status-table",
        ),
        pytest.param(
            {"request": obj({"amount": INTEGER})},
            {"request": obj({"amount": {"type": ["number", "string", "null"]}})},
            id="widened-request-type",
        ),
        pytest.param(
            {"request": obj({"ids": {"type": "array", "maxItems": 10, "minItems": 2}})},
            {"request": obj({"ids": {"type": "array", "maxItems": 20, "minItems": 1}})},
            id="widened-request-bounds",
        ),
        pytest.param(
            {"response": obj({"id": INTEGER})},
            {"response": obj({"id": {"type": "integer", "description": "The id."}}, ["id"])},
            id="response-property-documented-and-required",
        ),
        pytest.param(
            {"request": obj({"name": STRING}, additionalProperties=False)},
            {"request": obj({"name": STRING})},
            id="request-object-opened",
        ),
    ],
)
def test_safe_changes_are_not_breaks(old: dict[str, Any], new: dict[str, Any]) -> None:
    assert breaking_changes(release(**old), release(**new, version="1.1.0")) == []


def test_added_paths_operations_and_statuses_are_safe() -> None:
    def grow(document: dict[str, Any]) -> None:
        document["paths"]["/things/"] = {"get": {"responses": {"200": {"description": "all"}}}}
        document["paths"]["/things/{id}/"]["delete"] = {"responses": {"204": {"description": "gone"}}}
        document["paths"]["/things/{id}/"]["get"]["responses"]["404"] = {"description": "no thing"}

    assert breaking_changes(release(), release(change=grow)) == []


# -- the real contracts -------------------------------------------------------------


def test_the_current_contracts_do_not_break_themselves() -> None:
    current = current_contracts()
    assert breaking_changes(current, current) == []


def test_a_break_in_the_real_order_schema_is_found() -> None:
    old = current_contracts()
    schemas = copy.deepcopy(dict(old.schemas))
    del schemas["order"]["properties"]["is_send"]
    schemas["order"]["required"].remove("is_send")
    schemas["order-item-status"]["oneOf"] = schemas["order-item-status"]["oneOf"][:-1]
    new = ContractSet("0.2.0", old.openapi, schemas)
    found = breaking_changes(old, new)
    dropped = old.schemas["order-item-status"]["oneOf"][-1]["const"]
    assert [str(change) for change in found] == [
        "schema order $.is_send: removed from the response [removed-response-property]",
        f'schema order-item-status $: no longer allows "{dropped}" [enum-narrowed]',
    ]
    assert summary(old, new, found) == f"2 breaking changes from contracts {old.version} to 0.2.0:"


def test_breaks_sort_and_print_as_one_readable_line_each() -> None:
    found = Break(
        "openapi.json GET /orders/{id}/ 200", "$.pk", "removed-response-property", "removed from the response"
    )
    assert (
        str(found) == "openapi.json GET /orders/{id}/ 200 $.pk: removed from the response [removed-response-property]"
    )
    assert str(Break("openapi.json /orders/", "", "removed-path", "path removed")) == (
        "openapi.json /orders/: path removed [removed-path]"
    )
