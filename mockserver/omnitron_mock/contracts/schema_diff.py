"""What changed between two versions of one JSON Schema, as a consumer sees it.

A schema is read in a role: ``request`` (the consumer writes such bodies and
the emulator reads them) or ``response`` (the emulator writes, the consumer
reads). A change breaks a writer when the schema stops taking what it took; it
breaks a reader when the schema starts allowing what it did not promise
before. A narrowed enum or type breaks in either role: contracts only grow
(consumers write answers too, in stubs and fixtures, and shared schemas such
as the status table are written and read). A widened enum breaks neither: the
contracts add statuses and courier slugs, and a deployment adds its own, so
consumers must take unknown values.

The walk follows ``properties``, ``items``, ``additionalProperties``,
``$ref`` and the branches of ``anyOf``/``oneOf``/``allOf`` it can pair up; it
does not reason about ``if``/``then``, ``not`` or ``prefixItems``. It reports
what it finds; it does not prove a change safe.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from omnitron_mock.contracts.walk import json_type

Role = Literal["request", "response"]
BOTH_ROLES: frozenset[Role] = frozenset({"request", "response"})

# A request may lose nothing of these: a larger lower bound, or a smaller upper one, refuses a body it took.
_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_JSON_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")


@dataclass(frozen=True)
class Change:
    """One breaking change inside a schema: where (a JSON path into the body), what kind, in words."""

    path: str
    kind: str
    detail: str


@dataclass(frozen=True)
class Side:
    """One version of the documents a schema lives in, and which one holds it.

    ``documents`` maps a key to a document; a reference ``other.json#/x`` is
    looked up under the key ``other``, and ``#/x`` in the current document.
    """

    documents: Mapping[str, Any]
    key: str

    def resolve(self, ref: str) -> tuple[Side, Any] | None:
        target, _, fragment = ref.partition("#")
        key = self.key
        if target:
            key = target.rsplit("/", 1)[-1].removesuffix(".json")
        node = self.documents.get(key)
        for raw in fragment.split("/")[1:] if fragment else []:
            segment = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and segment in node:
                node = node[segment]
            elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
                node = node[int(segment)]
            else:
                return None
        return (Side(self.documents, key), node) if node is not None else None


def compare_schemas(
    old: Side,
    old_schema: Any,
    new: Side,
    new_schema: Any,
    roles: frozenset[Role],
    *,
    path: str = "$",
    compared_elsewhere: Callable[[str], bool] = lambda ref: False,
) -> list[Change]:
    """The breaking changes from ``old_schema`` to ``new_schema`` read in ``roles``.

    A ``$ref`` both versions share and ``compared_elsewhere`` claims is not
    followed: the schema it names is compared on its own, and reporting its
    changes at every use would only repeat them.
    """
    walk = _Walk(roles, compared_elsewhere)
    walk.compare(old, old_schema, new, new_schema, path, roles)
    return walk.changes


class _Walk:
    def __init__(self, roles: frozenset[Role], compared_elsewhere: Callable[[str], bool]) -> None:
        self.changes: list[Change] = []
        self.compared_elsewhere = compared_elsewhere
        self._seen: set[tuple[str, int, str, int, str, frozenset[Role]]] = set()

    def report(self, path: str, kind: str, detail: str) -> None:
        change = Change(path, kind, detail)
        if change not in self.changes:
            self.changes.append(change)

    def compare(
        self,
        old: Side,
        old_schema: Any,
        new: Side,
        new_schema: Any,
        path: str,
        roles: frozenset[Role],
        *,
        types_compared: bool = False,
    ) -> None:
        """``types_compared``: the caller compared the JSON types already (the
        union over a schema's anyOf/oneOf branches, of which these are two)."""
        if not isinstance(old_schema, dict) or not isinstance(new_schema, dict):
            return
        old_ref, new_ref = old_schema.get("$ref"), new_schema.get("$ref")
        if isinstance(old_ref, str) and old_ref == new_ref and self.compared_elsewhere(old_ref):
            return
        visit = (old.key, id(old_schema), new.key, id(new_schema), path, roles)
        if visit in self._seen:
            return
        self._seen.add(visit)
        old, old_schema = _dereferenced(old, old_schema)
        new, new_schema = _dereferenced(new, new_schema)
        self._compare_values(old, old_schema, new, new_schema, path, roles, types_compared)
        self._compare_object(old, old_schema, new, new_schema, path, roles)
        if "request" in roles:
            self._compare_bounds(old_schema, new_schema, path)
        old_items, new_items = old_schema.get("items"), new_schema.get("items")
        if isinstance(old_items, dict) and isinstance(new_items, dict):
            self.compare(old, old_items, new, new_items, f"{path}[]", roles)
        for keyword, old_branch, new_branch in _paired_branches(old, old_schema, new, new_schema):
            self.compare(old, old_branch, new, new_branch, path, roles, types_compared=keyword != "allOf")

    def _compare_values(
        self,
        old: Side,
        old_schema: dict[str, Any],
        new: Side,
        new_schema: dict[str, Any],
        path: str,
        roles: frozenset[Role],
        types_compared: bool,
    ) -> None:
        old_values, new_values = _enum(old_schema), _enum(new_schema)
        if old_values is not None:
            dropped = [text for text in old_values if new_values is not None and text not in new_values]
            if dropped:
                self.report(path, "enum-narrowed", f"no longer allows {', '.join(dropped)}")
        elif new_values is not None:
            self.report(path, "enum-narrowed", f"now restricted to {', '.join(new_values)}")
        if types_compared:
            return
        old_types, new_types = _types(old, old_schema), _types(new, new_schema)
        if old_types is not None and new_types is None:
            new_types = set(_JSON_TYPES)
        if old_types is None:
            if new_types is not None and old_values is None and new_values is None:
                self.report(path, "type-narrowed", f"now only {_words(new_types)} (was any type)")
            return
        assert new_types is not None
        lost = {kind for kind in old_types if not _covered(kind, new_types)}
        if lost:
            self.report(path, "type-narrowed", f"no longer {_words(lost)} (now {_words(new_types)})")
        if "response" in roles:
            gained = {kind for kind in new_types if not _covered(kind, old_types)}
            if "null" in gained:
                self.report(path, "response-nullable", "may now be null")
            if gained - {"null"}:
                self.report(
                    path, "response-type-widened", f"may now be {_words(gained - {'null'})} (was {_words(old_types)})"
                )

    def _compare_object(
        self,
        old: Side,
        old_schema: dict[str, Any],
        new: Side,
        new_schema: dict[str, Any],
        path: str,
        roles: frozenset[Role],
    ) -> None:
        old_properties = old_schema.get("properties", {})
        new_properties = new_schema.get("properties", {})
        old_required = set(old_schema.get("required", []))
        new_required = set(new_schema.get("required", []))
        for name, old_property in old_properties.items():
            child = f"{path}.{name}"
            if name not in new_properties:
                if "response" in roles:
                    self.report(child, "removed-response-property", "removed from the response")
                if "request" in roles:
                    self.report(child, "removed-request-property", "no longer taken in the request")
                continue
            self.compare(old, old_property, new, new_properties[name], child, roles)
        if "response" in roles:
            for name in sorted(old_required - new_required):
                if name in new_properties:
                    self.report(f"{path}.{name}", "response-property-optional", "no longer always present")
        if "request" in roles:
            for name in sorted(new_required - old_required):
                was = "was optional" if name in old_properties else "new property"
                self.report(f"{path}.{name}", "new-required-request-property", f"now required ({was})")
            if (
                _closed(new_schema)
                and not _closed(old_schema)
                and ("properties" in old_schema or "properties" in new_schema)
            ):
                self.report(path, "request-object-closed", "no longer takes properties it does not name")
        old_extra, new_extra = old_schema.get("additionalProperties"), new_schema.get("additionalProperties")
        if isinstance(old_extra, dict) and isinstance(new_extra, dict):
            self.compare(old, old_extra, new, new_extra, f"{path}.*", roles)

    def _compare_bounds(self, old_schema: dict[str, Any], new_schema: dict[str, Any], path: str) -> None:
        for keyword in _LOWER_BOUNDS + _UPPER_BOUNDS:
            before, after = _bound(old_schema, keyword), _bound(new_schema, keyword)
            if after is None:
                continue
            lower = keyword in _LOWER_BOUNDS
            if before is None or (after > before if lower else after < before):
                was = "none" if before is None else json.dumps(before)
                self.report(path, "request-bound-narrowed", f"{keyword} now {json.dumps(after)} (was {was})")
        pattern = new_schema.get("pattern")
        if isinstance(pattern, str) and pattern != old_schema.get("pattern"):
            # Whether two patterns take the same texts cannot be told here: any change counts.
            was = "added" if old_schema.get("pattern") is None else "changed"
            self.report(path, "request-pattern-changed", f"pattern {was}, now {_shortened(pattern)}")


def _dereferenced(side: Side, schema: dict[str, Any]) -> tuple[Side, dict[str, Any]]:
    """The schema a ``$ref`` names, with the referring schema's other keywords on top."""
    seen = 0
    while isinstance(schema.get("$ref"), str) and seen < 32:
        found = side.resolve(schema["$ref"])
        if found is None or not isinstance(found[1], dict):
            return side, schema
        side, target = found
        schema = {**target, **{key: value for key, value in schema.items() if key != "$ref"}}
        seen += 1
    return side, schema


def _shortened(text: str, limit: int = 40) -> str:
    """``text`` in JSON quotes, cut to ``limit`` characters: patterns can run to hundreds."""
    return json.dumps(text if len(text) <= limit else text[:limit] + "…", ensure_ascii=False)


def _bound(schema: dict[str, Any], keyword: str) -> float | None:
    value = schema.get(keyword)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _closed(schema: dict[str, Any]) -> bool:
    return schema.get("additionalProperties") is False or schema.get("unevaluatedProperties") is False


def _choices(schema: dict[str, Any]) -> list[Any] | None:
    for keyword in ("anyOf", "oneOf"):
        branches = schema.get(keyword)
        if isinstance(branches, list) and branches and all(isinstance(b, dict) and "const" in b for b in branches):
            return [branch["const"] for branch in branches]
    return None


def _enum(schema: dict[str, Any]) -> list[str] | None:
    """The values a schema allows, as JSON texts, when it lists them (enum, const,
    or a oneOf/anyOf of consts such as the status table); None when it does not."""
    values: list[Any] | None = None
    if isinstance(schema.get("enum"), list):
        values = list(schema["enum"])
    elif "const" in schema:
        values = [schema["const"]]
    else:
        values = _choices(schema)
    if values is None:
        return None
    return [json.dumps(value, sort_keys=True, ensure_ascii=False) for value in values]


def _types(side: Side, schema: dict[str, Any], depth: int = 0) -> set[str] | None:
    """The JSON types a schema allows, or None when it does not say (any type)."""
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return {kind for kind in declared if isinstance(kind, str)}
    values = _enum(schema)
    if values is not None:
        return {json_type(json.loads(text)) for text in values}
    if depth > 8:
        return None
    for keyword in ("anyOf", "oneOf"):
        branches = schema.get(keyword)
        if not isinstance(branches, list) or not branches:
            continue
        found: set[str] = set()
        for branch in branches:
            if not isinstance(branch, dict):
                return None
            branch_side, branch = _dereferenced(side, branch)
            kinds = _types(branch_side, branch, depth + 1)
            if kinds is None:
                return None
            found |= kinds
        return found
    return None


def _covered(kind: str, kinds: set[str]) -> bool:
    return kind in kinds or (kind == "integer" and "number" in kinds)


def _words(kinds: set[str]) -> str:
    return " or ".join(sorted(kinds))


def _without_null(side: Side, branches: list[Any]) -> list[Any]:
    kept = []
    for branch in branches:
        if isinstance(branch, dict):
            branch_side, resolved = _dereferenced(side, branch)
            if _types(branch_side, resolved) == {"null"}:
                continue
        kept.append(branch)
    return kept


def _paired_branches(
    old: Side, old_schema: dict[str, Any], new: Side, new_schema: dict[str, Any]
) -> list[tuple[str, Any, Any]]:
    """(keyword, old branch, new branch) of anyOf/oneOf/allOf to compare
    pairwise: a null branch set aside (nullability is compared with the
    types), the rest by position when both versions have as many; a schema
    that gained or lost its branches is compared with the other's only branch."""
    pairs: list[tuple[str, Any, Any]] = []
    if _choices(old_schema) is not None or _choices(new_schema) is not None:
        return pairs
    for keyword in ("anyOf", "oneOf", "allOf"):
        old_branches = old_schema.get(keyword)
        new_branches = new_schema.get(keyword)
        if keyword != "allOf":
            old_list = _without_null(old, old_branches) if isinstance(old_branches, list) else None
            new_list = _without_null(new, new_branches) if isinstance(new_branches, list) else None
        else:
            old_list = old_branches if isinstance(old_branches, list) else None
            new_list = new_branches if isinstance(new_branches, list) else None
        if old_list is not None and new_list is not None and len(old_list) == len(new_list):
            pairs.extend(
                (keyword, old_branch, new_branch) for old_branch, new_branch in zip(old_list, new_list, strict=True)
            )
        elif keyword != "allOf" and old_list is not None and len(old_list) == 1 and new_list is None:
            pairs.append((keyword, old_list[0], _bare(new_schema)))
        elif keyword != "allOf" and new_list is not None and len(new_list) == 1 and old_list is None:
            pairs.append((keyword, _bare(old_schema), new_list[0]))
    return pairs


def _bare(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` without its type and branches: paired with the other
    version's only branch, whose type was compared already."""
    return {key: value for key, value in schema.items() if key not in ("type", "anyOf", "oneOf")}
