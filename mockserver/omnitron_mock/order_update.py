"""Updating an order (``PATCH orders/{pk}/``): ``is_send`` is all it writes.

Omnitron documents that this call changes nothing else about an order; the
other fields a body carries are ignored (the journal's verdict names them).
"""

from __future__ import annotations

from omnitron_mock import fields
from omnitron_mock.errors import FieldErrors
from omnitron_mock.store.base import Row, StoreTransaction


def parse_order_update(data: object) -> bool | None:
    """The ``is_send`` a body asks for (None: it does not say); raise :class:`FieldErrors`."""
    try:
        body = fields.expect_dict(data)
    except fields.Invalid as invalid:
        raise FieldErrors({"non_field_errors": invalid.messages}) from None
    if "is_send" not in body:
        return None
    try:
        return fields.boolean(body["is_send"])
    except fields.Invalid as invalid:
        raise FieldErrors({"is_send": invalid.messages}) from None


def apply_order_update(tx: StoreTransaction, order_id: int, is_send: bool | None) -> Row | None:
    """Write ``is_send`` inside ``tx``; the order as it is then, None when there is no such order.
    ``modified_date`` moves only when the flag changes."""
    order = tx.get_order(order_id)
    if order is None or is_send is None or order["is_send"] is is_send:
        return order
    tx.update_order(order_id, {"is_send": is_send})
    tx.touch_order(order_id)
    return tx.get_order(order_id)
