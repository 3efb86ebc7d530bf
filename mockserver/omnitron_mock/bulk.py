"""The bulk status update: validation, the single-order rule, atomic apply.

Validation runs in two passes. ``parse_bulk`` checks the body and each item's
fields without touching the store. ``apply_bulk`` then, inside one store
transaction (the request's), resolves ids, applies the duplicate, strict-mode and single-order
rules and writes every item, or nothing when any item failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, cast

from omnitron_mock import fields
from omnitron_mock.errors import FieldErrors
from omnitron_mock.rules import Rules
from omnitron_mock.store.base import Row, StoreTransaction

ONE_ORDER = "You can only update one order at a time."
DUPLICATE = "Duplicate order item in request."

# Order of fields in a merged message, as the documented parameter table lists them.
FIELD_ORDER = (
    "non_field_errors",
    "id",
    "invoice_number",
    "invoice_date",
    "e_archive_url",
    "status",
    "tracking_number",
    "shipping_company",
)


@dataclass
class ItemRequest:
    """One entry of ``orderitem_set`` after the field pass."""

    sent_id: object
    item_id: int | None
    changes: Row = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def error_entry(self, message: object) -> dict[str, object]:
        return {"message": message, "args": {"orderitem_id": str(self.sent_id)}}


@dataclass
class BulkOutcome:
    """Either ``updated`` items as JSON texts (success) or ``errors`` entries (nothing applied)."""

    updated: list[str] = field(default_factory=list)
    errors: list[dict[str, object]] = field(default_factory=list)


def type_name(value: object) -> str:
    """Python's name of a decoded JSON value's type, as DRF messages show it."""
    return type(value).__name__


def parse_bulk(data: object, rules: Rules) -> list[ItemRequest]:
    """Body-level checks (raise :class:`FieldErrors`) and per-item field checks."""
    try:
        data = fields.expect_dict(data)
    except fields.Invalid as invalid:
        raise FieldErrors({"non_field_errors": invalid.messages}) from None
    if "orderitem_set" not in data:
        raise FieldErrors({"orderitem_set": [fields.REQUIRED]})
    entries = data["orderitem_set"]
    if entries is None:
        raise FieldErrors({"orderitem_set": [fields.NULL]})
    if not isinstance(entries, list):
        raise FieldErrors({"orderitem_set": [f'Expected a list of items but got type "{type_name(entries)}".']})
    if not entries:
        raise FieldErrors({"orderitem_set": ["This list may not be empty."]})
    if len(entries) > rules.max_items:
        raise FieldErrors({"orderitem_set": [f"Ensure this field has no more than {rules.max_items} elements."]})
    optional_fields = _optional_fields(rules)
    return [_parse_item(entry, optional_fields) for entry in entries]


FieldParsers = tuple[tuple[str, Callable[[object], Any]], ...]


# Longer strings are parsed every time, so the cache stays small whatever clients send.
_REMEMBERED_LENGTH = 300


def _remembered(parse: Callable[[object], str]) -> Callable[[object], str]:
    """``parse`` with its answers to short strings remembered: clients send the
    same invoice numbers, dates and URLs over and over. Refusals raise every time."""
    remembered = lru_cache(maxsize=4096)(parse)

    def parse_value(value: object) -> str:
        if type(value) is str and len(value) <= _REMEMBERED_LENGTH:
            return remembered(value)
        return parse(value)

    return parse_value


_text = _remembered(fields.text)
_datetime = _remembered(lambda value: fields.render_datetime(fields.iso_datetime(value)))
_url = _remembered(fields.url)


def _optional_fields(rules: Rules) -> FieldParsers:
    return (
        ("invoice_number", _text),
        ("invoice_date", _datetime),
        ("e_archive_url", _url),
        ("status", lambda value: fields.status_code(value, rules.statuses)),
        ("tracking_number", _text),
        ("shipping_company", lambda value: fields.choice(value, rules.shipping_companies)),
    )


def _parse_item(entry: object, optional_fields: FieldParsers) -> ItemRequest:
    if not isinstance(entry, dict):
        message = f"Invalid data. Expected a dictionary, but got {type_name(entry)}."
        return ItemRequest(sent_id=None, item_id=None, errors={"non_field_errors": [message]})
    request = ItemRequest(sent_id=entry.get("id"), item_id=None)
    if "id" not in entry:
        request.errors["id"] = [fields.REQUIRED]
    else:
        try:
            request.item_id = fields.integer(entry["id"])
        except fields.Invalid as invalid:
            request.errors["id"] = invalid.messages
    for name, parse in optional_fields:
        if name in entry:
            try:
                request.changes[name] = parse(entry[name])
            except fields.Invalid as invalid:
                request.errors[name] = invalid.messages
    return request


def apply_bulk(tx: StoreTransaction, requests: list[ItemRequest], rules: Rules) -> BulkOutcome:
    """Decide and write inside ``tx`` (the request's transaction): all items or none.

    Reading, deciding and writing happen in the one transaction, so no other
    request's bulk interleaves; the request's journal entry commits with it.
    """
    current = tx.get_items({r.item_id for r in requests if r.item_id is not None})
    _check_against_state(requests, current, rules)
    other_order = {id(r) for r in _check_single_order(requests, current)}
    errors = []
    for request in requests:
        if request.errors:
            errors.append(request.error_entry({f: request.errors[f] for f in FIELD_ORDER if f in request.errors}))
        elif id(request) in other_order:
            errors.append(request.error_entry([ONE_ORDER]))
    if errors:
        return BulkOutcome(errors=errors)
    # Without errors every item has its id, and all belong to one order.
    updated = tx.update_items([(cast(int, r.item_id), r.changes) for r in requests])
    if updated.changed:
        tx.touch_order(current[cast(int, requests[0].item_id)]["order"])
    return BulkOutcome(updated=updated)


def _check_against_state(requests: list[ItemRequest], current: dict[int, Row], rules: Rules) -> None:
    seen: set[int] = set()
    for request in requests:
        item_id = request.item_id
        if item_id is None:
            continue
        stored = current.get(item_id)
        if stored is None:
            request.errors.setdefault("id", []).append(f'Invalid pk "{request.sent_id}" - object does not exist.')
            continue
        if item_id in seen:
            request.errors.setdefault("id", []).append(DUPLICATE)
        seen.add(item_id)
        if rules.strict and "status" not in request.errors and "tracking_number" not in request.errors:
            problems = rules.transition_problems(
                stored, request.changes.get("status"), request.changes.get("tracking_number")
            )
            for name, messages in problems.items():
                request.errors.setdefault(name, []).extend(messages)


def _check_single_order(requests: list[ItemRequest], current: dict[int, Row]) -> list[ItemRequest]:
    """Items without field errors that belong to another order than the first such item."""
    clean = [r for r in requests if not r.errors and r.item_id is not None]
    if not clean:
        return []
    first_order = current[cast(int, clean[0].item_id)]["order"]
    return [r for r in clean if current[cast(int, r.item_id)]["order"] != first_order]
