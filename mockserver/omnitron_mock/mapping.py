"""ERP mappings (``POST order_items/{id}/create_mapping/``): acknowledging one line.

A connector maps each order line it wrote to the ERP's line id; with
``update_stock`` (the default) that also releases the line's stock reservation.
Retries are expected: the same code again answers the mapping already made.
"""

from __future__ import annotations

from dataclasses import dataclass

from omnitron_mock import fields
from omnitron_mock.errors import FieldErrors
from omnitron_mock.store.base import Row, StoreTransaction

ALREADY_MAPPED = "This item already has a mapping."
# What the answer shows of a stored mapping.
WIRE_FIELDS = ("pk", "content_type", "object_id", "integration_type", "code")


@dataclass(frozen=True)
class MappingRequest:
    code: str
    update_stock: bool


@dataclass(frozen=True)
class MappingOutcome:
    mapping: Row
    created: bool


def parse_mapping(data: object) -> MappingRequest:
    """The request's code and stock flag; raise :class:`FieldErrors` for each refused field."""
    try:
        body = fields.expect_dict(data)
    except fields.Invalid as invalid:
        raise FieldErrors({"non_field_errors": invalid.messages}) from None
    errors: dict[str, list[str]] = {}
    code = update_stock = None
    if "code" not in body:
        errors["code"] = [fields.REQUIRED]
    else:
        try:
            code = fields.text(body["code"])
        except fields.Invalid as invalid:
            errors["code"] = invalid.messages
    try:
        update_stock = fields.boolean(body.get("update_stock", True))
    except fields.Invalid as invalid:
        errors["update_stock"] = invalid.messages
    if errors or code is None or update_stock is None:
        raise FieldErrors(errors)
    return MappingRequest(code, update_stock)


def wire_mapping(stored: Row) -> Row:
    return {name: stored[name] for name in WIRE_FIELDS}


def create_mapping(tx: StoreTransaction, item_id: int, request: MappingRequest) -> MappingOutcome | None:
    """Map the item inside ``tx``; None when there is no such item. Raises
    :class:`FieldErrors` when the item is mapped to another code already."""
    item = tx.get_item(item_id)
    if item is None:
        return None
    existing = tx.mapping_of(item_id)
    if existing is not None:
        if existing["code"] != request.code:
            raise FieldErrors({"code": [ALREADY_MAPPED]})
        return MappingOutcome(existing, created=False)
    mapping = tx.add_mapping(item_id, request.code, request.update_stock)
    tx.touch_order(item["order"])
    return MappingOutcome(mapping, created=True)
