"""Updating one order item (``PATCH order_items/{pk}/``): its fields, its rules.

The fields it shares with the bulk (``status``) take the bulk's parsers,
messages and strict-mode rules. ``extra_field`` is merged into the stored
one; ``attributes`` and ``attributes_kwargs`` replace theirs whole.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omnitron_mock import fields
from omnitron_mock.contracts import load_schema
from omnitron_mock.errors import FieldErrors
from omnitron_mock.rules import Rules
from omnitron_mock.store.base import Row, StoreTransaction

CANCEL_STATUSES: frozenset[str] = frozenset(load_schema("cancel-status")["enum"])


def _cancel_status(value: object) -> str | None:
    # A ChoiceField that allows null: null withdraws the cancellation status.
    return None if value is None else fields.choice(value, CANCEL_STATUSES)


def parse_item_update(data: object, rules: Rules) -> Row:
    """The changes a body asks for; raise :class:`FieldErrors` listing every refused field.
    Fields the endpoint does not write are ignored (the journal's verdict names them)."""
    try:
        body = fields.expect_dict(data)
    except fields.Invalid as invalid:
        raise FieldErrors({"non_field_errors": invalid.messages}) from None
    parsers: tuple[tuple[str, Callable[[object], Any]], ...] = (
        ("status", lambda value: fields.status_code(value, rules.statuses)),
        ("cancel_status", _cancel_status),
        ("extra_field", fields.dictionary),
        ("attributes", fields.dictionary),
        ("attributes_kwargs", fields.dictionary),
    )
    changes: Row = {}
    errors: dict[str, list[str]] = {}
    for name, parse in parsers:
        if name in body:
            try:
                changes[name] = parse(body[name])
            except fields.Invalid as invalid:
                errors[name] = invalid.messages
    if errors:
        raise FieldErrors(errors)
    return changes


def apply_item_update(tx: StoreTransaction, item_id: int, changes: Row, rules: Rules) -> Row | None:
    """Write ``changes`` to the item inside ``tx``; the item as it is then, or
    None when there is no such item. Raises :class:`FieldErrors` for a change
    strict mode refuses, having written nothing."""
    stored = tx.get_item(item_id)
    if stored is None:
        return None
    if rules.strict and "status" in changes:
        problems = rules.transition_problems(stored, changes["status"], None)
        if problems:
            raise FieldErrors(problems)
    if "extra_field" in changes:
        changes = {**changes, "extra_field": {**stored["extra_field"], **changes["extra_field"]}}
    if changes and tx.update_items([(item_id, changes)]).changed:
        tx.touch_order(stored["order"])
    return tx.get_item(item_id)
