"""Seed documents: the default state, loading JSON seed files, generating big ones.

A seed document (contract ``seed``) holds ``users`` and ``orders``; each order
holds its ``items``. Omitted fields take the defaults below.
"""

from __future__ import annotations

import copy
import hashlib
import json
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

# Places an address is made of, as Omnitron nests them: (pk, name) pairs, the
# country with its code too. The default address is one in Istanbul.
_TURKEY = {"pk": 1, "name": "Türkiye", "code": "tr"}
_PLACES: tuple[tuple[tuple[int, str], tuple[int, str], tuple[int, str]], ...] = (
    ((34, "İstanbul"), (425, "Kadıköy"), (4021, "Caferağa")),
    ((34, "İstanbul"), (416, "Beşiktaş"), (3871, "Sinanpaşa")),
    ((6, "Ankara"), (68, "Çankaya"), (702, "Kızılay")),
    ((35, "İzmir"), (480, "Konak"), (5210, "Alsancak")),
    ((16, "Bursa"), (197, "Nilüfer"), (2105, "Görükle")),
    ((7, "Antalya"), (88, "Muratpaşa"), (930, "Lara")),
)
_ADDRESS_PLACES = ("country", "city", "township", "district")
_FIRST_NAMES = ("Ayşe", "Mehmet", "Zeynep", "Mustafa", "Elif", "Ahmet", "Fatma", "Emre", "Deniz", "Can")
_LAST_NAMES = ("Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Aydın", "Öztürk", "Arslan", "Doğan")
_STREETS = ("Bahariye Cad.", "Atatürk Bulvarı", "Cumhuriyet Cad.", "İstiklal Sok.", "Gazi Mustafa Kemal Cad.")

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


def default_customer(order_id: int, variant: int = 0) -> Row:
    """The customer of an order seeded without one (``variant`` picks the name)."""
    first = _FIRST_NAMES[variant % len(_FIRST_NAMES)]
    last = _LAST_NAMES[variant // len(_FIRST_NAMES) % len(_LAST_NAMES)]
    return {
        "pk": order_id,
        "email": f"customer{order_id}@example.com",
        "first_name": first,
        "last_name": last,
        "phone_number": f"0555{order_id % 10_000_000:07d}",
    }


def default_address(pk: int, customer: Row, variant: int = 0) -> Row:
    """An address of ``customer`` (``variant`` picks the place and street)."""
    (city_pk, city), (township_pk, township), (district_pk, district) = _PLACES[variant % len(_PLACES)]
    return {
        "pk": pk,
        "email": customer["email"],
        "phone_number": customer["phone_number"],
        "first_name": customer["first_name"],
        "last_name": customer["last_name"],
        "country": dict(_TURKEY),
        "city": {"pk": city_pk, "name": city},
        "township": {"pk": township_pk, "name": township},
        "district": {"pk": district_pk, "name": district},
        "line": f"{_STREETS[variant % len(_STREETS)]} No: {variant % 120 + 1}",
        "postcode": f"{city_pk:02d}{variant % 1000:03d}",
        "title": "Home",
        "company_name": None,
        "tax_office": None,
        "tax_no": None,
        "identity_number": None,
        "e_bill_taxpayer": False,
    }


def order_defaults(order_id: int, date_placed: str) -> Row:
    """What an order seeded with nothing but its id holds beside it."""
    customer = default_customer(order_id)
    address = default_address(order_id, customer)
    return {
        "number": f"{order_id:010d}",
        "channel": 1,
        "status": DEFAULT_STATUS,
        "customer": customer,
        "shipping_address": address,
        "billing_address": address,
        "currency": "try",
        "shipping_amount": "0.00",
        "shipping_tax_rate": "18.00",
        "extra_field": {},
        "payment_option": 1,
        "payment_option_slug": "credit-card",
        "bin_number": None,
        "installment": None,
        "installment_count": 1,
        "delivery_type": "standard",
        "installment_interest_amount": "0.00",
        "cargo_company": None,
        "invoice_number": None,
        "invoice_date": None,
        "e_archive_url": None,
        "refund_amount": "0.00",
        "discount_refund_amount": "0.00",
        "is_send": False,
        "modified_date": date_placed,
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
        if _dates_on_calendar(errors, f"$.orders[{order_index}]", raw_order, ("date_placed", "modified_date")):
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


def _dates_on_calendar(errors: list[tuple[str, str]], path: str, raw: dict[str, Any], names: tuple[str, ...]) -> bool:
    """Whether every date among ``names`` in ``raw`` exists; reports those that do not."""
    before = len(errors)
    for name in names:
        if name in raw:
            with _reported(errors, f"{path}.{name}"):
                iso_datetime(raw[name])
    return len(errors) == before


def _check_unique(errors: list[tuple[str, str]], where: str, values: list[object], key: str) -> None:
    seen: set[object] = set()
    for value in values:
        if value in seen:
            errors.append((f"$.{where}", f"{key} {json.dumps(value)} appears more than once"))
        seen.add(value)


def derived_token(username: str, password: str) -> str:
    """The token of a user seeded without one: 40 hex characters, as DRF's
    keys are, the same in every process that starts from the same seed (the
    replicas of a shared deployment must agree on it). It tells nobody more
    than the seed does: whoever has the password can log in for the token."""
    # As JSON: no two (username, password) pairs give the same text.
    secret = json.dumps(["omnitron-mock token", username, password]).encode("ascii")
    return hashlib.sha256(secret).hexdigest()[:40]


def _user(raw: dict[str, Any]) -> Row:
    user = {
        "pk": raw.get("pk"),  # the store numbers users seeded without one
        "username": raw["username"],
        "password": raw["password"],
        "token": raw.get("token") or derived_token(raw["username"], raw["password"]),
        "email": raw.get("email", ""),
        "first_name": raw.get("first_name", ""),
        "last_name": raw.get("last_name", ""),
        "is_active": raw.get("is_active", True),
    }
    if "tenant" in raw:
        user["tenant"] = raw["tenant"]
    return user


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
    date_placed = render_datetime(iso_datetime(raw.get("date_placed", DEFAULT_DATE_PLACED)))
    defaults = order_defaults(raw["id"], date_placed)
    values = {**defaults, **{name: copy.deepcopy(value) for name, value in raw.items() if name in defaults}}
    # Nested objects are merged: a seed names only what its test cares about.
    customer = values["customer"] = {**defaults["customer"], **raw.get("customer", {})}
    # The default address is the customer's: the seed's name and email, not the default's.
    shipping = _merged_address(default_address(raw["id"], customer), raw.get("shipping_address", {}))
    values["shipping_address"] = shipping
    # An order seeded with one address is billed there too.
    values["billing_address"] = (
        _merged_address(shipping, raw["billing_address"]) if "billing_address" in raw else shipping
    )
    if "modified_date" in raw:
        values["modified_date"] = render_datetime(iso_datetime(raw["modified_date"]))
    amount = sum((Decimal(item.price) for item in items), Decimal(values["shipping_amount"]))
    return OrderRecord(pk=raw["id"], date_placed=date_placed, amount=f"{amount:.2f}", **values)


def _merged_address(base: Row, seeded: dict[str, Any]) -> Row:
    """``seeded`` over ``base``, down to the places: the seed contract lets a
    place (a city, say) name only some of its keys, the order needs them all."""
    merged = {**base, **seeded}
    for place in _ADDRESS_PLACES:
        if place in seeded:
            # A new dict: the record shares nothing with the document it came from.
            merged[place] = {**base[place], **seeded[place]}
    return merged


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
    """``orders`` x ``items_per_order`` synthetic orders, ids counting up from 1,
    each with its own customer and address (names and places taken in turn)."""
    if orders < 0 or items_per_order < 0:
        raise ValueError("orders and items per order must not be negative")
    document_orders = []
    item_id = (first_order - 1) * items_per_order
    for order_id in range(first_order, first_order + orders):
        order_items = []
        for _ in range(items_per_order):
            item_id += 1
            order_items.append({"id": item_id, "price": f"{(item_id % 500) + 1}.00"})
        customer = default_customer(order_id, variant=order_id * 7)
        document_orders.append(
            {
                "id": order_id,
                "customer": customer,
                "shipping_address": default_address(order_id, customer, variant=order_id),
                "items": order_items,
            }
        )
    return {"orders": document_orders}
