"""Stored orders and items: small typed records, fields in wire order.

A million items as dicts would take gigabytes. A slots record takes no more
than the tuple it replaces (``bench/record_memory.py``), and records share
their default values: every item seeded without ``extra_field`` points at
the same empty dict. That sharing is safe because records leave a store only
through :meth:`ItemRecord.to_wire` and :meth:`OrderRecord.to_wire`, which
copy nested objects, and because no store changes a record in place.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any

Row = dict[str, Any]


def copy_nested(nested: dict[str, Any]) -> dict[str, Any]:
    """A copy of a stored nested object that shares nothing with it."""
    # Most nested objects are the shared empty default: a new empty dict is far
    # cheaper than a deep copy.
    return copy.deepcopy(nested) if nested else {}


@dataclass(slots=True)
class ItemRecord:
    """An order item as stored; :meth:`to_wire` is what the API returns."""

    id: int
    order: int
    product_sku: str
    status: str
    price_currency: str
    price: str
    tax_rate: str
    extra_field: dict[str, Any]
    price_list: int | None
    stock_list: int | None
    cancel_status: str | None
    invoice_number: str | None
    invoice_date: str | None
    e_archive_url: str | None
    installment_interest_amount: str
    tracking_number: str | None
    carrier_shipping_code: str | None
    shipping_company: str | None
    shipment_code: str | None
    external_status: str | None
    discount_amount: str
    retail_price: str | None
    attributes: dict[str, Any]
    attributes_kwargs: dict[str, Any]
    image: str | None

    @classmethod
    def from_wire(cls, row: Row) -> ItemRecord:
        """The record of a wire-form item (exactly the record's fields); it
        takes ``row``'s nested objects, uncopied."""
        return cls(**row)

    @classmethod
    def from_values(cls, values: list[Any] | tuple[Any, ...]) -> ItemRecord:
        """The record of :meth:`to_values`' output."""
        return cls(*values)

    def to_values(self) -> tuple[Any, ...]:
        """The field values in wire order, uncopied: the compact form a stored
        startup seed keeps (field names on every item would triple it)."""
        return _ITEM_VALUES(self)

    def to_wire(self) -> Row:
        """A fresh dict in wire form; nested objects are copies."""
        # Spelled out: a dict display is about twice as fast as building the
        # dict from the field names, and every read and bulk goes through here.
        return {
            "id": self.id,
            "order": self.order,
            "product_sku": self.product_sku,
            "status": self.status,
            "price_currency": self.price_currency,
            "price": self.price,
            "tax_rate": self.tax_rate,
            "extra_field": copy_nested(self.extra_field),
            "price_list": self.price_list,
            "stock_list": self.stock_list,
            "cancel_status": self.cancel_status,
            "invoice_number": self.invoice_number,
            "invoice_date": self.invoice_date,
            "e_archive_url": self.e_archive_url,
            "installment_interest_amount": self.installment_interest_amount,
            "tracking_number": self.tracking_number,
            "carrier_shipping_code": self.carrier_shipping_code,
            "shipping_company": self.shipping_company,
            "shipment_code": self.shipment_code,
            "external_status": self.external_status,
            "discount_amount": self.discount_amount,
            "retail_price": self.retail_price,
            "attributes": copy_nested(self.attributes),
            "attributes_kwargs": copy_nested(self.attributes_kwargs),
            "image": self.image,
        }


@dataclass(slots=True)
class OrderRecord:
    """An order as stored; the wire form adds the derived ``orderitem_set``."""

    pk: int
    number: str
    channel: int | None
    status: str
    date_placed: str
    customer: dict[str, Any]
    shipping_address: dict[str, Any]
    billing_address: dict[str, Any]
    currency: str
    amount: str
    shipping_amount: str
    shipping_tax_rate: str | None
    extra_field: dict[str, Any]
    payment_option: int | None
    payment_option_slug: str | None
    bin_number: str | None
    installment: int | None
    installment_count: int
    delivery_type: str | None
    installment_interest_amount: str
    cargo_company: int | None
    invoice_number: str | None
    invoice_date: str | None
    e_archive_url: str | None
    refund_amount: str
    discount_refund_amount: str
    is_send: bool
    modified_date: str

    @classmethod
    def from_wire(cls, row: Row) -> OrderRecord:
        """The record of a stored order's fields (without ``orderitem_set``)."""
        return cls(**row)

    @classmethod
    def from_values(cls, values: list[Any] | tuple[Any, ...]) -> OrderRecord:
        """The record of :meth:`to_values`' output, or of the shorter lists that
        state files written before orders had their relations hold."""
        if len(values) == len(_FIRST_ORDER_FIELDS):
            return upgraded_order(dict(zip(_FIRST_ORDER_FIELDS, values, strict=True)))
        return cls(*values)

    def to_values(self) -> tuple[Any, ...]:
        """The field values in wire order: the compact form a stored startup seed keeps."""
        return _ORDER_VALUES(self)

    def to_wire(self) -> Row:
        """A fresh dict of the stored fields in wire order; nested objects are copies."""
        return {
            "pk": self.pk,
            "number": self.number,
            "channel": self.channel,
            "status": self.status,
            "date_placed": self.date_placed,
            "customer": copy_nested(self.customer),
            "shipping_address": copy_nested(self.shipping_address),
            "billing_address": copy_nested(self.billing_address),
            "currency": self.currency,
            "amount": self.amount,
            "shipping_amount": self.shipping_amount,
            "shipping_tax_rate": self.shipping_tax_rate,
            "extra_field": copy_nested(self.extra_field),
            "payment_option": self.payment_option,
            "payment_option_slug": self.payment_option_slug,
            "bin_number": self.bin_number,
            "installment": self.installment,
            "installment_count": self.installment_count,
            "delivery_type": self.delivery_type,
            "installment_interest_amount": self.installment_interest_amount,
            "cargo_company": self.cargo_company,
            "invoice_number": self.invoice_number,
            "invoice_date": self.invoice_date,
            "e_archive_url": self.e_archive_url,
            "refund_amount": self.refund_amount,
            "discount_refund_amount": self.discount_refund_amount,
            "is_send": self.is_send,
            "modified_date": self.modified_date,
        }


# The fields of an order before orders had their customer, addresses and
# payment fields: state files of that version hold orders so.
_FIRST_ORDER_FIELDS = (
    "pk",
    "number",
    "channel",
    "status",
    "date_placed",
    "currency",
    "amount",
    "shipping_amount",
    "cargo_company",
    "invoice_number",
    "invoice_date",
    "e_archive_url",
    "is_send",
)


def upgraded_order(row: Row) -> OrderRecord:
    """The record of an order stored by an earlier version: the fields it
    lacks take the seed's defaults; a courier slug in ``cargo_company`` (it
    was a string then) is dropped, as no id is known for it."""
    # Imported here: the seed module imports this one.
    from omnitron_mock.seed import order_defaults

    merged = {**order_defaults(row["pk"], row["date_placed"]), **row}
    if not isinstance(merged["cargo_company"], int) or isinstance(merged["cargo_company"], bool):
        merged["cargo_company"] = None
    return OrderRecord(**{name: merged[name] for name in ORDER_FIELDS})


ITEM_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ItemRecord))
ORDER_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(OrderRecord))
# Given several names, attrgetter returns their values as one tuple, in C.
_ITEM_VALUES = attrgetter(*ITEM_FIELDS)
_ORDER_VALUES = attrgetter(*ORDER_FIELDS)
