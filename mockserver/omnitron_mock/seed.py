"""Seed documents: the default state, loading JSON seed files, generating big ones.

A seed document (contract ``seed``) holds ``users`` and ``orders``; each order
holds its ``items``. Omitted fields take the defaults below.
"""

from __future__ import annotations

import copy
import json
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from omnitron_mock.body import NotPlainJSON, check_plain, loads_strict
from omnitron_mock.config import DEV_PASSWORD, DEV_TOKEN, DEV_USERNAME, UserSpec
from omnitron_mock.contracts import Contracts, ContractViolation, default_contracts, load_data
from omnitron_mock.fields import Invalid, iso_datetime, render_datetime
from omnitron_mock.records import ITEM_FIELDS, ItemRecord, OrderRecord
from omnitron_mock.store.base import Row, SeedData

DEFAULT_STATUS: str = load_data("status-transitions")["seed_default"]
DEFAULT_DATE_PLACED = "2021-07-13T09:00:00Z"

ITEM_DEFAULTS: dict[str, Any] = {
    "status": DEFAULT_STATUS,
    "price_currency": "try",
    "price": "0.00",
    "tax_rate": "18.00",
    "extra_field": {},
    "price_list": 1,
    "stock_list": 1,
    "cancel_status": None,
    "invoice_number": None,
    "invoice_date": None,
    "e_archive_url": None,
    "installment_interest_amount": "0.00",
    "tracking_number": None,
    "carrier_shipping_code": None,
    "shipping_company": None,
    "shipment_code": None,
    "external_status": None,
    "discount_amount": "0.00",
    "retail_price": None,
    "attributes": {},
    "attributes_kwargs": {},
    "image": None,
}

DEFAULT_SEED_DOCUMENT: dict[str, Any] = {
    "users": [
        {
            "pk": 1,
            "username": DEV_USERNAME,
            "password": DEV_PASSWORD,
            "token": DEV_TOKEN,
            "email": "mock-user@example.com",
            "first_name": "Mock",
            "last_name": "User",
        }
    ],
    "orders": [
        {
            "id": 1,
            "number": "1000000001",
            "items": [
                {"id": 1, "product_sku": "1185185001", "price": "100.00"},
                {"id": 2, "product_sku": "1185185002", "price": "86.00"},
                {"id": 3, "product_sku": "1185185003", "price": "17.00"},
            ],
        },
        {
            "id": 2,
            "number": "1000000002",
            "items": [
                {"id": 4, "product_sku": "1185185004", "price": "45.50"},
                {"id": 5, "product_sku": "1185185005", "price": "12.00"},
            ],
        },
    ],
}


class SeedError(ValueError):
    """A seed document that cannot be loaded; ``errors`` are (path, message) pairs."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{path}: {message}" for path, message in errors))


def build_seed(document: object, contracts: Contracts | None = None) -> SeedData:
    """Check a seed document and fill in every default; raise :class:`SeedError`."""
    contracts = contracts or default_contracts()
    try:
        # What the store keeps must come back out as JSON (state, responses).
        check_plain(document)
    except NotPlainJSON as problem:
        raise SeedError([("$", str(problem))]) from None
    try:
        contracts.assert_valid("seed", document)
    except ContractViolation as violation:
        raise SeedError([(e.path, e.message) for e in violation.errors]) from None
    assert isinstance(document, dict)
    errors: list[tuple[str, str]] = []
    users = [_user(raw) for raw in document.get("users", [])]
    _check_unique(errors, "users", [u["username"] for u in users], "username")
    _check_unique(errors, "users", [u["token"] for u in users], "token")
    orders, items = [], []
    for order_index, raw_order in enumerate(document.get("orders", [])):
        order_items = []
        for item_index, raw_item in enumerate(raw_order.get("items", [])):
            with _reported(errors, f"$.orders[{order_index}].items[{item_index}].invoice_date"):
                order_items.append(_item(raw_item, raw_order["id"]))
        with _reported(errors, f"$.orders[{order_index}].date_placed"):
            orders.append(_order(raw_order, order_items))
        items.extend(order_items)
    _check_unique(errors, "orders", [order.pk for order in orders], "id")
    _check_unique(errors, "orders[*].items", [item.id for item in items], "id")
    if errors:
        raise SeedError(errors)
    return SeedData(users=users, orders=orders, items=items)


@contextmanager
def _reported(errors: list[tuple[str, str]], path: str) -> Iterator[None]:
    """A date the contract's pattern accepts can still fall off the calendar."""
    try:
        yield
    except Invalid as invalid:
        errors.extend((path, message) for message in invalid.messages)


def _check_unique(errors: list[tuple[str, str]], where: str, values: list[object], key: str) -> None:
    seen: set[object] = set()
    for value in values:
        if value in seen:
            errors.append((f"$.{where}", f"{key} {json.dumps(value)} appears more than once"))
        seen.add(value)


def _user(raw: dict[str, Any]) -> Row:
    return {
        "pk": raw.get("pk"),  # the store numbers users seeded without one
        "username": raw["username"],
        "password": raw["password"],
        # DRF authtoken keys are 40 hex characters.
        "token": raw.get("token") or secrets.token_hex(20),
        "email": raw.get("email", ""),
        "first_name": raw.get("first_name", ""),
        "last_name": raw.get("last_name", ""),
        "is_active": raw.get("is_active", True),
    }


def _item(raw: dict[str, Any], order_id: int) -> ItemRecord:
    values: list[Any] = []
    for name in ITEM_FIELDS:
        if name == "id":
            values.append(raw["id"])
        elif name == "order":
            values.append(order_id)
        elif name == "product_sku":
            values.append(raw.get("product_sku") or f"SKU{raw['id']:08d}")
        elif name == "invoice_date" and raw.get("invoice_date") is not None:
            values.append(render_datetime(iso_datetime(raw["invoice_date"])))
        elif name in raw:
            values.append(copy.deepcopy(raw[name]))
        else:
            # Defaults are shared between records: immutable, or copied by to_wire().
            values.append(ITEM_DEFAULTS[name])
    return ItemRecord.from_values(values)


def _order(raw: dict[str, Any], items: list[ItemRecord]) -> OrderRecord:
    shipping = raw.get("shipping_amount", "0.00")
    amount = sum((Decimal(item.price) for item in items), Decimal(shipping))
    return OrderRecord(
        pk=raw["id"],
        number=raw.get("number", f"{raw['id']:010d}"),
        channel=raw.get("channel", 1),
        status=raw.get("status", DEFAULT_STATUS),
        date_placed=render_datetime(iso_datetime(raw.get("date_placed", DEFAULT_DATE_PLACED))),
        currency=raw.get("currency", "try"),
        amount=f"{amount:.2f}",
        shipping_amount=shipping,
        cargo_company=raw.get("cargo_company"),
        invoice_number=None,
        invoice_date=None,
        e_archive_url=None,
        is_send=raw.get("is_send", False),
    )


def read_seed_file(path: str | Path) -> Any:
    """The JSON document in ``path``; raise :class:`SeedError` when unreadable."""
    try:
        return loads_strict(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as problem:
        raise SeedError([("$", f"cannot read seed file {str(path)!r}: {problem}")]) from None


def startup_seed(
    document: object | None = None,
    users: Sequence[UserSpec] = (),
    contracts: Contracts | None = None,
) -> SeedData:
    """The state a server starts from and ``/_mock/reset`` returns to.

    Without a document it is the default seed. ``users`` (from ``--user``)
    replace the default development user, and are added to a document's own.
    """
    seed = build_seed(DEFAULT_SEED_DOCUMENT if document is None else document, contracts)
    if users:
        if document is None:
            seed.users = []
        named = {u["username"]: u for u in seed.users}
        for spec in users:
            named[spec.username] = _user({"username": spec.username, "password": spec.password, "token": spec.token})
        seed.users = list(named.values())
    elif not seed.users and document is not None:
        seed.users = build_seed({"users": DEFAULT_SEED_DOCUMENT["users"]}).users
    return seed


def generate_seed_document(orders: int, items_per_order: int, first_order: int = 1) -> dict[str, Any]:
    """``orders`` x ``items_per_order`` synthetic orders, ids counting up from 1."""
    if orders < 0 or items_per_order < 0:
        raise ValueError("orders and items per order must not be negative")
    document_orders = []
    item_id = (first_order - 1) * items_per_order
    for order_id in range(first_order, first_order + orders):
        order_items = []
        for _ in range(items_per_order):
            item_id += 1
            order_items.append({"id": item_id, "price": f"{(item_id % 500) + 1}.00"})
        document_orders.append({"id": order_id, "items": order_items})
    return {"orders": document_orders}
