"""Compact rows: an item or order as a tuple of values in wire-field order.

A million items as dicts would take gigabytes; as tuples that share their
default values they take a few hundred bytes each. Rows unpack into fresh
dicts (nested objects copied) whenever they leave a store.
"""

from __future__ import annotations

import copy
from typing import Any

Row = dict[str, Any]
Packed = tuple[Any, ...]

ITEM_FIELDS = (
    "id", "order", "product_sku", "status", "price_currency", "price", "tax_rate", "extra_field",
    "price_list", "stock_list", "cancel_status", "invoice_number", "invoice_date", "e_archive_url",
    "installment_interest_amount", "tracking_number", "carrier_shipping_code", "shipping_company",
    "shipment_code", "external_status", "discount_amount", "retail_price", "attributes",
    "attributes_kwargs", "image",
)  # fmt: skip
ORDER_FIELDS = (
    "pk", "number", "channel", "status", "date_placed", "currency", "amount", "shipping_amount",
    "cargo_company", "invoice_number", "invoice_date", "e_archive_url", "is_send",
)  # fmt: skip
_NESTED = (dict, list)


def pack(row: Row, fields: tuple[str, ...]) -> Packed:
    return tuple(row[name] for name in fields)


def unpack(values: Packed | list[Any], fields: tuple[str, ...]) -> Row:
    # Nested objects are copied so that no caller can change a stored row;
    # most are empty, and a new empty one is far cheaper than a deep copy.
    return {
        name: (copy.deepcopy(value) if value else type(value)()) if isinstance(value, _NESTED) else value
        for name, value in zip(fields, values, strict=True)
    }


def unpack_item(values: Packed | list[Any]) -> Row:
    return unpack(values, ITEM_FIELDS)


def pack_order(row: Row) -> Packed:
    return pack(row, ORDER_FIELDS)


def unpack_order(values: Packed | list[Any]) -> Row:
    return unpack(values, ORDER_FIELDS)


def packed_id(values: Packed | list[Any]) -> int:
    return values[0]


def packed_order(values: Packed | list[Any]) -> int:
    return values[1]


def packed_price(values: Packed | list[Any]) -> str:
    return values[ITEM_FIELDS.index("price")]
