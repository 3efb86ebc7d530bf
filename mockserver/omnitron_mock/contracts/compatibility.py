"""Breaking changes between two releases of the contracts.

A release of the contracts is a :class:`ContractSet`: the self-contained
OpenAPI documents (the emulated API's, the control API's) and every schema
file. :func:`breaking_changes` lists what would break a consumer built
against the old one:

- a removed document, schema file, path, operation or response status, or a
  response that lost its JSON body;
- in a response: a removed property, a property no longer required or now
  nullable, a type that widened;
- in a request: a new required property, parameter or body, a removed
  property or parameter, a narrowed bound or changed pattern, an object that
  no longer takes properties it does not name;
- anywhere: a narrowed enum or type.

Whether a schema is read as a request or a response (or both) follows from
where the old documents use it (:mod:`omnitron_mock.contracts.schema_diff`
has the rules). Added paths, operations, statuses, optional request
properties, response properties and enum values are safe.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from omnitron_mock.contracts.schema_diff import BOTH_ROLES, Role, Side, compare_schemas

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_COMPONENT = "#/components/schemas/"


@dataclass(frozen=True)
class ContractSet:
    """One release of the contracts: ``openapi`` maps a document's file name
    (``openapi.json``, ``control-openapi.json``) to its self-contained form,
    ``schemas`` a schema's name to the schema file."""

    version: str
    openapi: Mapping[str, dict[str, Any]]
    schemas: Mapping[str, dict[str, Any]]


@dataclass(frozen=True, order=True)
class Break:
    """One breaking change: where (a document and operation, or a schema),
    the JSON path inside the body, a stable kind and what changed."""

    where: str
    path: str
    kind: str
    detail: str

    def __str__(self) -> str:
        inside = f" {self.path}" if self.path else ""
        return f"{self.where}{inside}: {self.detail} [{self.kind}]"


def breaking_changes(old: ContractSet, new: ContractSet) -> list[Break]:
    """Every breaking change from ``old`` to ``new``, sorted, each once."""
    found: set[Break] = set()
    roles = _schema_roles(old)
    for name, old_schema in old.schemas.items():
        where = f"schema {name}"
        new_schema = new.schemas.get(name)
        if new_schema is None:
            found.add(Break(where, "", "removed-schema", "schema removed"))
            continue
        found.update(
            _schema_breaks(
                where,
                Side(old.schemas, name),
                old_schema,
                Side(new.schemas, name),
                new_schema,
                roles.get(name, BOTH_ROLES),
                _whole_file,
            )
        )
    for document_name, old_document in old.openapi.items():
        new_document = new.openapi.get(document_name)
        if new_document is None:
            found.add(Break(document_name, "", "removed-document", "document removed"))
            continue
        found.update(_document_breaks(document_name, old_document, new_document, set(old.schemas)))
    return sorted(found)


def summary(old: ContractSet, new: ContractSet, breaks: list[Break]) -> str:
    """One line saying how many breaking changes lie between two releases."""
    count = f"{len(breaks)} breaking change{'s' if len(breaks) != 1 else ''}" if breaks else "no breaking changes"
    return f"{count} from contracts {old.version} to {new.version}" + (":" if breaks else "")


def _whole_file(ref: str) -> bool:
    # Another schema file, named whole, is compared on its own.
    target, _, fragment = ref.partition("#")
    return bool(target) and not fragment


def _schema_breaks(
    where: str, old: Side, old_schema: Any, new: Side, new_schema: Any, roles: frozenset[Role], compared_elsewhere: Any
) -> Iterator[Break]:
    for change in compare_schemas(old, old_schema, new, new_schema, roles, compared_elsewhere=compared_elsewhere):
        yield Break(where, change.path, change.kind, change.detail)


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(path, method, path item, operation) of every operation."""
    for path, item in document.get("paths", {}).items():
        for method in HTTP_METHODS:
            if isinstance(item.get(method), dict):
                yield path, method, item, item[method]


def _document_breaks(name: str, old: dict[str, Any], new: dict[str, Any], schema_files: set[str]) -> Iterator[Break]:
    old_side, new_side = Side({name: old}, name), Side({name: new}, name)
    roles = _component_roles(old)
    new_paths = new.get("paths", {})
    for path in old.get("paths", {}):
        if path not in new_paths:
            yield Break(f"{name} {path}", "", "removed-path", "path removed")
    for path, method, item, operation in _operations(old):
        where = f"{name} {method.upper()} {path}"
        new_item = new_paths.get(path)
        if new_item is None:
            continue
        new_operation = new_item.get(method)
        if not isinstance(new_operation, dict):
            yield Break(where, "", "removed-operation", "operation removed")
            continue
        yield from _parameter_breaks(where, old_side, item, operation, new_side, new_item, new_operation)
        yield from _request_body_breaks(where, old_side, operation, new_side, new_operation)
        yield from _response_breaks(where, old_side, operation, new_side, new_operation)
    # Schemas of the document's own (not copies of schema files, compared as files).
    new_components = new.get("components", {}).get("schemas", {})
    for component, old_schema in old.get("components", {}).get("schemas", {}).items():
        if component in schema_files:
            continue
        where = f"{name} components/schemas/{component}"
        if component not in new_components:
            yield Break(where, "", "removed-schema", "schema removed")
            continue
        yield from _schema_breaks(
            where,
            old_side,
            old_schema,
            new_side,
            new_components[component],
            roles.get(component, BOTH_ROLES),
            _is_component,
        )


def _is_component(ref: str) -> bool:
    # A component named whole is compared on its own (as a component or as the schema file it copies).
    return ref.startswith(_COMPONENT) and "/" not in ref[len(_COMPONENT) :]


def _parameters(side: Side, item: dict[str, Any], operation: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for parameter in [*item.get("parameters", []), *operation.get("parameters", [])]:
        if isinstance(parameter, dict) and "$ref" in parameter:
            resolved = side.resolve(parameter["$ref"])
            parameter = resolved[1] if resolved else {}
        if isinstance(parameter, dict) and "name" in parameter:
            found[(parameter.get("in", ""), parameter["name"])] = parameter
    return found


def _parameter_breaks(
    where: str,
    old_side: Side,
    old_item: dict[str, Any],
    old_operation: dict[str, Any],
    new_side: Side,
    new_item: dict[str, Any],
    new_operation: dict[str, Any],
) -> Iterator[Break]:
    old_parameters = _parameters(old_side, old_item, old_operation)
    new_parameters = _parameters(new_side, new_item, new_operation)
    for key, parameter in old_parameters.items():
        label = f"{key[0]} parameter {key[1]}"
        if key not in new_parameters:
            yield Break(where, label, "removed-parameter", "parameter removed")
            continue
        new_parameter = new_parameters[key]
        if new_parameter.get("required") and not parameter.get("required"):
            yield Break(where, label, "new-required-parameter", "now required")
        yield from _schema_breaks(
            f"{where} {label}",
            old_side,
            parameter.get("schema"),
            new_side,
            new_parameter.get("schema"),
            frozenset({"request"}),
            _is_component,
        )
    for key, parameter in new_parameters.items():
        if key not in old_parameters and parameter.get("required"):
            yield Break(where, f"{key[0]} parameter {key[1]}", "new-required-parameter", "new required parameter")


def _request_body_breaks(
    where: str, old_side: Side, old_operation: dict[str, Any], new_side: Side, new_operation: dict[str, Any]
) -> Iterator[Break]:
    old_body = _resolved(old_side, old_operation.get("requestBody"))
    new_body = _resolved(new_side, new_operation.get("requestBody"))
    if new_body is not None and new_body.get("required") and not (old_body or {}).get("required"):
        yield Break(where, "", "request-body-required", "a request body is now required")
    if old_body is None:
        return
    if new_body is None:
        yield Break(where, "", "removed-request-body", "the request body is no longer taken")
        return
    yield from _content_breaks(f"{where} request", old_side, old_body, new_side, new_body, frozenset({"request"}))


def _response_breaks(
    where: str, old_side: Side, old_operation: dict[str, Any], new_side: Side, new_operation: dict[str, Any]
) -> Iterator[Break]:
    new_responses = new_operation.get("responses", {})
    for status, old_response in old_operation.get("responses", {}).items():
        if status not in new_responses:
            yield Break(where, "", "removed-status", f"response {status} removed")
            continue
        old_resolved = _resolved(old_side, old_response) or {}
        new_resolved = _resolved(new_side, new_responses[status]) or {}
        yield from _content_breaks(
            f"{where} {status}", old_side, old_resolved, new_side, new_resolved, frozenset({"response"})
        )


def _content_breaks(
    where: str, old_side: Side, old: dict[str, Any], new_side: Side, new: dict[str, Any], roles: frozenset[Role]
) -> Iterator[Break]:
    new_content = new.get("content", {})
    for media_type, old_media in old.get("content", {}).items():
        new_media = new_content.get(media_type)
        if new_media is None:
            yield Break(where, "", "removed-media-type", f"{media_type} body no longer described")
            continue
        yield from _schema_breaks(
            where, old_side, old_media.get("schema"), new_side, new_media.get("schema"), roles, _is_component
        )


def _resolved(side: Side, node: Any) -> dict[str, Any] | None:
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        found = side.resolve(node["$ref"])
        return found[1] if found and isinstance(found[1], dict) else None
    return node if isinstance(node, dict) else None


def _component_roles(document: dict[str, Any]) -> dict[str, frozenset[Role]]:
    """How a document uses each of its components: read in requests
    (bodies, parameters), in responses, or both; followed through references."""
    roles: dict[str, set[Role]] = {}
    for _path, _method, item, operation in _operations(document):
        request_nodes = [*item.get("parameters", []), *operation.get("parameters", []), operation.get("requestBody")]
        _mark(document, request_nodes, "request", roles)
        _mark(document, list(operation.get("responses", {}).values()), "response", roles)
    return {name: frozenset(found) for name, found in roles.items()}


def _mark(document: dict[str, Any], nodes: list[Any], role: Role, roles: dict[str, set[Role]]) -> None:
    pending = list(nodes)
    visited: set[str] = set()
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/") and ref not in visited:
                visited.add(ref)
                if ref.startswith(_COMPONENT):
                    roles.setdefault(ref[len(_COMPONENT) :].split("/", 1)[0], set()).add(role)
                found = Side({"": document}, "").resolve(ref)
                if found is not None:
                    pending.append(found[1])
            pending.extend(value for key, value in node.items() if key != "$ref")
        elif isinstance(node, list):
            pending.extend(node)


def _schema_roles(contracts: ContractSet) -> dict[str, frozenset[Role]]:
    """How the release's documents use each schema file (a component named after it)."""
    roles: dict[str, set[Role]] = {}
    for document in contracts.openapi.values():
        for name, found in _component_roles(document).items():
            if name in contracts.schemas:
                roles.setdefault(name, set()).update(found)
    return {name: frozenset(found) for name, found in roles.items()}
