"""The bad-input catalogue: odd requests, the exact DRF-style answer, and no state change.

Every row is one request through HTTP: to the bulk endpoint unless the row
names another (the ERP loop's order list, order and item updates and
mappings). Rows that the emulator accepts on purpose (DRF coercions) are
listed too, with their answer, so the catalogue says what happens to each
odd input.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask.testing import FlaskClient
from omnitron_mock import DEV_TOKEN

from tests.helpers import FIGURES, get_state

BULK = "/api/i1/order_items/bulk_status_update/"
ORDER = "/api/i1/orders/1/"
ITEM = "/api/i1/order_items/1/"
MAPPING = "/api/i1/order_items/1/create_mapping/"
ORDERS = "/api/i1/orders/"
TOKEN_HEADER = f"Token {DEV_TOKEN}"
JSON = "application/json"
DATE_FORMAT = (
    "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)


@dataclass
class Case:
    name: str
    body: bytes
    status: int
    expected: Any
    content_type: str | None = JSON
    headers: dict[str, str] = field(default_factory=lambda: {"Authorization": TOKEN_HEADER})
    changes_state: bool = False
    method: str = "PATCH"
    path: str = BULK


def parse_error(text: bytes) -> dict[str, str]:
    try:
        json.loads(text.decode("utf-8"))
    except ValueError as problem:
        return {"detail": f"JSON parse error - {problem}"}
    raise AssertionError("the text parses")


def item_error(orderitem_id: str, message: Any) -> list[dict[str, Any]]:
    return [{"message": message, "args": {"orderitem_id": orderitem_id}}]


def bulk(*items: Any) -> bytes:
    return json.dumps({"orderitem_set": list(items)}).encode()


def one(**fields: Any) -> bytes:
    return bulk({"id": 1, **fields})


CASES = [
    # -- bodies that are not JSON ------------------------------------------------------------
    *[
        Case(f"malformed-{i}", text, 400, parse_error(text))
        for i, text in enumerate([b"{", b"{'a': 1}", b"[1,]", b"nul", b'{"orderitem_set": [}'])
    ],
    Case("truncated-json", bulk({"id": 1})[:-3], 400, parse_error(bulk({"id": 1})[:-3])),
    Case("trailing-garbage", bulk({"id": 1}) + b"x", 400, parse_error(bulk({"id": 1}) + b"x")),
    Case(
        "utf8-bom",
        b"\xef\xbb\xbf" + one(status="450"),
        400,
        {"detail": "JSON parse error - Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)"},
    ),
    Case(
        "invalid-utf8",
        b'{"orderitem_set": "\xff"}',
        400,
        {"detail": "JSON parse error - 'utf-8' codec can't decode byte 0xff in position 19: invalid start byte"},
    ),
    Case(
        "nan-literal",
        b'{"orderitem_set": [{"id": NaN}]}',
        400,
        {"detail": "JSON parse error - Out of range float values are not JSON compliant: 'NaN'"},
    ),
    Case(
        "infinity-literal",
        b'{"orderitem_set": [{"id": -Infinity}]}',
        400,
        {"detail": "JSON parse error - Out of range float values are not JSON compliant: '-Infinity'"},
    ),
    Case(
        "deep-nesting",
        b"[" * 100_000 + b"]" * 100_000,
        400,
        {"detail": "JSON parse error - maximum nesting depth exceeded"},
    ),
    # -- content types and charsets --------------------------------------------------------------
    Case(
        "text-plain",
        one(status="450"),
        415,
        {"detail": 'Unsupported media type "text/plain" in request.'},
        "text/plain",
    ),
    Case(
        "form-encoded",
        b"orderitem_set=1",
        415,
        {"detail": 'Unsupported media type "application/x-www-form-urlencoded" in request.'},
        "application/x-www-form-urlencoded",
    ),
    Case("no-content-type", one(status="450"), 415, {"detail": 'Unsupported media type "" in request.'}, None),
    Case(
        "json-with-odd-params",
        one(status="450"),
        415,
        {"detail": 'Unsupported media type "text/json; charset=utf-8" in request.'},
        "text/json; charset=utf-8",
    ),
    Case(
        "latin-1-charset",
        '{"orderitem_set": [{"id": 1, "invoice_number": "Fatura-\xe7"}]}'.encode("latin-1"),
        200,
        None,
        "application/json; charset=latin-1",
        changes_state=True,
    ),
    Case(
        "latin-1-bytes-read-as-utf8",
        '{"orderitem_set": [{"id": 1, "invoice_number": "\xe7"}]}'.encode("latin-1"),
        400,
        {"detail": "JSON parse error - 'utf-8' codec can't decode byte 0xe7 in position 48: invalid continuation byte"},
    ),
    Case(
        "unknown-charset-falls-back-to-utf8",
        one(status="450"),
        200,
        None,
        "application/json; charset=klingon",
        changes_state=True,
    ),
    Case("upper-case-media-type", one(status="450"), 200, None, "APPLICATION/JSON", changes_state=True),
    Case("empty-body", b"", 400, {"orderitem_set": ["This field is required."]}),
    Case("empty-body-without-type", b"", 400, {"orderitem_set": ["This field is required."]}, None),
    # -- top-level shapes -----------------------------------------------------------------------
    Case("top-level-array", b"[]", 400, {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
    Case(
        "top-level-string",
        b'"orderitem_set"',
        400,
        {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]},
    ),
    Case("top-level-number", b"1", 400, {"non_field_errors": ["Invalid data. Expected a dictionary, but got int."]}),
    Case("top-level-null", b"null", 400, {"non_field_errors": ["No data provided"]}),
    Case("orderitem-set-null", b'{"orderitem_set": null}', 400, {"orderitem_set": ["This field may not be null."]}),
    Case(
        "orderitem-set-string",
        b'{"orderitem_set": "1,2"}',
        400,
        {"orderitem_set": ['Expected a list of items but got type "str".']},
    ),
    Case(
        "orderitem-set-object",
        b'{"orderitem_set": {"id": 1}}',
        400,
        {"orderitem_set": ['Expected a list of items but got type "dict".']},
    ),
    Case("orderitem-set-empty", b'{"orderitem_set": []}', 400, {"orderitem_set": ["This list may not be empty."]}),
    Case(
        "orderitem-set-of-strings",
        bulk("1", "2"),
        400,
        [*item_error("None", {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]})] * 2,
    ),
    Case(
        "nested-lists",
        bulk([{"id": 1}]),
        400,
        item_error("None", {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
    ),
    Case(
        "duplicated-json-keys-last-wins",
        b'{"orderitem_set": [{"id": 1, "status": "bad", "status": "450"}]}',
        200,
        None,
        changes_state=True,
    ),
    # -- ids -------------------------------------------------------------------------------------
    Case("id-numeric-string", bulk({"id": "1", "status": "450"}), 200, None, changes_state=True),
    Case("id-padded-string", bulk({"id": " 1 ", "status": "450"}), 200, None, changes_state=True),
    Case("id-word", bulk({"id": "one"}), 400, item_error("one", {"id": ["A valid integer is required."]})),
    Case("id-float", bulk({"id": 1.5}), 400, item_error("1.5", {"id": ["A valid integer is required."]})),
    Case("id-integral-float", bulk({"id": 1.0, "status": "450"}), 200, None, changes_state=True),
    Case("id-true", bulk({"id": True}), 400, item_error("True", {"id": ["A valid integer is required."]})),
    Case("id-negative", bulk({"id": -1}), 400, item_error("-1", {"id": ['Invalid pk "-1" - object does not exist.']})),
    Case(
        "id-huge",
        bulk({"id": 10**30}),
        400,
        item_error(str(10**30), {"id": [f'Invalid pk "{10**30}" - object does not exist.']}),
    ),
    Case(
        "id-string-too-long", bulk({"id": "1" * 1001}), 400, item_error("1" * 1001, {"id": ["String value too large."]})
    ),
    Case("id-null", bulk({"id": None}), 400, item_error("None", {"id": ["This field may not be null."]})),
    Case("id-missing", bulk({"status": "450"}), 400, item_error("None", {"id": ["This field is required."]})),
    Case("id-object", bulk({"id": {"pk": 1}}), 400, item_error("{'pk': 1}", {"id": ["A valid integer is required."]})),
    Case(
        "id-unicode-digits", bulk({"id": "\u0661"}), 400, item_error("\u0661", {"id": ["A valid integer is required."]})
    ),
    # -- null, empty and long fields ------------------------------------------------------------
    *[
        Case(f"null-{name}", one(**{name: None}), 400, item_error("1", {name: ["This field may not be null."]}))
        for name in ("status", "invoice_number", "invoice_date", "e_archive_url", "tracking_number", "shipping_company")
    ],
    *[
        Case(f"empty-{name}", one(**{name: ""}), 400, item_error("1", {name: ["This field may not be blank."]}))
        for name in ("status", "invoice_number", "tracking_number", "e_archive_url")
    ],
    Case(
        "empty-shipping-company",
        one(shipping_company=""),
        400,
        item_error("1", {"shipping_company": ['"" is not a valid choice.']}),
    ),
    Case("empty-invoice-date", one(invoice_date=""), 400, item_error("1", {"invoice_date": [DATE_FORMAT]})),
    Case(
        "whitespace-tracking-number",
        one(tracking_number="   "),
        400,
        item_error("1", {"tracking_number": ["This field may not be blank."]}),
    ),
    Case("tracking-number-255", one(tracking_number="T" * 255), 200, None, changes_state=True),
    Case(
        "tracking-number-256",
        one(tracking_number="T" * 256),
        400,
        item_error("1", {"tracking_number": ["Ensure this field has no more than 255 characters."]}),
    ),
    Case(
        "invoice-number-10k",
        one(invoice_number="I" * 10_000),
        400,
        item_error("1", {"invoice_number": ["Ensure this field has no more than 255 characters."]}),
    ),
    Case(
        "tracking-number-list",
        one(tracking_number=["T1"]),
        400,
        item_error("1", {"tracking_number": ["Not a valid string."]}),
    ),
    Case(
        "tracking-number-bool",
        one(tracking_number=False),
        400,
        item_error("1", {"tracking_number": ["Not a valid string."]}),
    ),
    Case("tracking-number-number", one(tracking_number=12345), 200, None, changes_state=True),
    # -- unicode and control characters -------------------------------------------------------
    Case("unicode-invoice-number", one(invoice_number="Fatura-ÇĞİÖŞÜ-発票-🧾"), 200, None, changes_state=True),
    Case(
        "nul-character",
        one(tracking_number="TR\x001"),
        400,
        item_error("1", {"tracking_number": ["Null characters are not allowed."]}),
    ),
    Case(
        "lone-surrogate",
        b'{"orderitem_set": [{"id": 1, "tracking_number": "TR\\ud800"}]}',
        400,
        item_error("1", {"tracking_number": ["Surrogate characters are not allowed: U+D800."]}),
    ),
    # A lone surrogate (sent as its JSON escape) in a field whose message could
    # echo it: the answer is a 400 that UTF-8 carries, never a 500, and the
    # journal and the inspector go on answering (the test below checks both).
    Case(
        "lone-surrogate-shipping-company",
        b'{"orderitem_set": [{"id": 1, "shipping_company": "\\udc00"}]}',
        400,
        item_error("1", {"shipping_company": ['"\\udc00" is not a valid choice.']}),
    ),
    Case(
        "lone-surrogate-in-a-courier-name",
        b'{"orderitem_set": [{"id": 1, "shipping_company": "ups\\ud800x"}]}',
        400,
        item_error("1", {"shipping_company": ['"ups\\ud800x" is not a valid choice.']}),
    ),
    Case(
        "lone-surrogate-invoice-date",
        b'{"orderitem_set": [{"id": 1, "invoice_date": "\\udc00"}]}',
        400,
        item_error("1", {"invoice_date": [DATE_FORMAT]}),
    ),
    Case(
        "lone-surrogate-invoice-date-after-a-date",
        b'{"orderitem_set": [{"id": 1, "invoice_date": "2021-07-14T00:00:00Z\\udc00"}]}',
        400,
        item_error("1", {"invoice_date": [DATE_FORMAT]}),
    ),
    Case(
        "lone-surrogate-status",
        b'{"orderitem_set": [{"id": 1, "status": "\\udc00"}]}',
        400,
        item_error("1", {"status": ["Surrogate characters are not allowed: U+DC00."]}),
    ),
    # The id is echoed as the item's orderitem_id: the answer carries the
    # surrogate as a JSON escape, which reads back as the id sent.
    Case(
        "lone-surrogate-id",
        b'{"orderitem_set": [{"id": "\\udc00", "status": "450"}]}',
        400,
        item_error("\udc00", {"id": ["A valid integer is required."]}),
    ),
    Case("control-characters-kept", one(tracking_number="TR\x07\x1b1"), 200, None, changes_state=True),
    Case("status-right-to-left-mark", one(status="\u200f450"), 400, item_error("1", {"status": ["No matching type."]})),
    # -- statuses and couriers -------------------------------------------------------------------
    Case("status-unknown", one(status="999"), 400, item_error("1", {"status": ["No matching type."]})),
    Case("status-name-not-code", one(status="shipped"), 400, item_error("1", {"status": ["No matching type."]})),
    Case("status-integer", one(status=450), 200, None, changes_state=True),
    Case("status-float", one(status=450.5), 400, item_error("1", {"status": ["No matching type."]})),
    Case("status-padded", one(status=" 450 "), 200, None, changes_state=True),
    Case(
        "courier-unknown",
        one(shipping_company="fedex"),
        400,
        item_error("1", {"shipping_company": ['"fedex" is not a valid choice.']}),
    ),
    Case(
        "courier-upper-case",
        one(shipping_company="UPS"),
        400,
        item_error("1", {"shipping_company": ['"UPS" is not a valid choice.']}),
    ),
    Case(
        "courier-number",
        one(shipping_company=7),
        400,
        item_error("1", {"shipping_company": ['"7" is not a valid choice.']}),
    ),
    # -- dates ------------------------------------------------------------------------------------
    Case(
        "date-feb-30", one(invoice_date="2021-02-30T00:00:00Z"), 400, item_error("1", {"invoice_date": [DATE_FORMAT]})
    ),
    Case(
        "date-hour-25", one(invoice_date="2021-07-14T25:00:00Z"), 400, item_error("1", {"invoice_date": [DATE_FORMAT]})
    ),
    Case("date-only", one(invoice_date="2021-07-14"), 400, item_error("1", {"invoice_date": [DATE_FORMAT]})),
    Case("date-garbage", one(invoice_date="yesterday"), 400, item_error("1", {"invoice_date": [DATE_FORMAT]})),
    Case("date-epoch-number", one(invoice_date=1626220800), 400, item_error("1", {"invoice_date": [DATE_FORMAT]})),
    Case(
        "date-offset-out-of-range",
        one(invoice_date="2021-07-14T00:00:00+24:00"),
        400,
        item_error("1", {"invoice_date": [DATE_FORMAT]}),
    ),
    Case("date-without-timezone-read-as-utc", one(invoice_date="2021-07-14T00:00:00"), 200, None, changes_state=True),
    # -- URLs ---------------------------------------------------------------------------------------
    *[
        Case(f"url-{label}", one(e_archive_url=url), 400, item_error("1", {"e_archive_url": ["Enter a valid URL."]}))
        for label, url in [
            ("ftp", "ftp://files.example.com/inv.pdf"),
            ("javascript", "javascript:alert(1)"),
            ("data", "data:text/html,hi"),
            ("file", "file:///etc/passwd"),
            ("relative", "/invoices/1.pdf"),
            ("no-host", "http://"),
            ("space-in-host", "http://exa mple.com/"),
            ("no-tld", "http://invoices/1.pdf"),
        ]
    ],
    Case("url-upper-case-scheme", one(e_archive_url="HTTPS://E.ARCHIVE.URL/X"), 200, None, changes_state=True),
    # -- sizes ---------------------------------------------------------------------------------
    Case(
        "1001-items",
        bulk(*[{"id": 1}] * 1001),
        400,
        {"orderitem_set": ["Ensure this field has no more than 1000 elements."]},
    ),
    Case(
        "1000-items-pass-the-limit",
        bulk(*[{"id": 1}] * 1000),
        400,
        [*item_error("1", {"id": ["Duplicate order item in request."]})] * 999,
    ),
    Case("body-over-1-mib", one(invoice_number="x" * (1024 * 1024)), 413, {"detail": "Request body too large."}),
    # -- authentication headers ----------------------------------------------------------------
    Case(
        "auth-bearer",
        one(status="450"),
        401,
        {"detail": "Authentication credentials were not provided."},
        headers={"Authorization": f"Bearer {DEV_TOKEN}"},
    ),
    Case(
        "auth-basic",
        one(status="450"),
        401,
        {"detail": "Authentication credentials were not provided."},
        headers={"Authorization": "Basic bW9jazptb2Nr"},
    ),
    Case(
        "auth-keyword-only",
        one(status="450"),
        401,
        {"detail": "Invalid token header. No credentials provided."},
        headers={"Authorization": "Token"},
    ),
    Case(
        "auth-two-tokens",
        one(status="450"),
        401,
        {"detail": "Invalid token header. Token string should not contain spaces."},
        headers={"Authorization": f"Token {DEV_TOKEN} {DEV_TOKEN}"},
    ),
    Case(
        "auth-tab-separated",
        one(status="450"),
        200,
        None,
        headers={"Authorization": f"Token\t{DEV_TOKEN}"},
        changes_state=True,
    ),
    Case(
        "auth-lower-case",
        one(status="450"),
        200,
        None,
        headers={"Authorization": f"token {DEV_TOKEN}"},
        changes_state=True,
    ),
    Case(
        "auth-glued",
        one(status="450"),
        401,
        {"detail": "Authentication credentials were not provided."},
        headers={"Authorization": f"Token{DEV_TOKEN}"},
    ),
    Case(
        "auth-non-ascii",
        one(status="450"),
        401,
        {"detail": "Invalid token header. Token string should not contain invalid characters."},
        headers={"Authorization": "Token caf\xe9"},
    ),
    Case(
        "auth-wrong-token",
        one(status="450"),
        401,
        {"detail": "Invalid token."},
        headers={"Authorization": "Token " + "0" * 40},
    ),
]


def order_case(name: str, body: bytes, status: int, expected: Any, **more: Any) -> Case:
    return Case(f"order-{name}", body, status, expected, **{"path": ORDER, **more})


def item_case(name: str, body: bytes, status: int, expected: Any, **more: Any) -> Case:
    return Case(f"item-{name}", body, status, expected, **{"path": ITEM, **more})


def mapping_case(name: str, body: bytes, status: int, expected: Any, **more: Any) -> Case:
    return Case(f"mapping-{name}", body, status, expected, **{"path": MAPPING, "method": "POST", **more})


def list_case(name: str, query: str, status: int, expected: Any) -> Case:
    return Case(f"order-list-{name}", b"", status, expected, None, path=f"{ORDERS}?{query}", method="GET")


NOT_A_BOOLEAN = {"is_send": ["Must be a valid boolean."]}
INVALID_PAGE = {"detail": "Invalid page."}


def invalid_choice(name: str, value: str) -> dict[str, list[str]]:
    return {name: [f"Select a valid choice. {value} is not one of the available choices."]}


CASES += [
    # -- PATCH orders/{pk}/ ------------------------------------------------------------------
    order_case("malformed", b'{"is_send": tru', 400, parse_error(b'{"is_send": tru')),
    order_case("top-level-null", b"null", 400, {"non_field_errors": ["No data provided"]}),
    order_case(
        "top-level-array", b"[]", 400, {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}
    ),
    order_case("is-send-null", b'{"is_send": null}', 400, {"is_send": ["This field may not be null."]}),
    order_case("is-send-word", b'{"is_send": "maybe"}', 400, NOT_A_BOOLEAN),
    order_case("is-send-float-overflow", b'{"is_send": 1e400}', 400, NOT_A_BOOLEAN),
    order_case("is-send-lone-surrogate", b'{"is_send": "\\udc00"}', 400, NOT_A_BOOLEAN),
    order_case("is-send-object", b'{"is_send": {"value": true}}', 400, NOT_A_BOOLEAN),
    order_case("is-send-string-true", b'{"is_send": "True"}', 200, None, changes_state=True),
    order_case("is-send-number-one", b'{"is_send": 1}', 200, None, changes_state=True),
    order_case("only-unknown-fields", b'{"status": "500", "\\ud800": 1}', 200, None),
    order_case("empty-body", b"", 200, None),
    order_case(
        "text-plain",
        b'{"is_send": true}',
        415,
        {"detail": 'Unsupported media type "text/plain" in request.'},
        content_type="text/plain",
    ),
    order_case(
        "body-over-1-mib",
        b'{"is_send": true, "x": "' + b"x" * 1024 * 1024 + b'"}',
        413,
        {"detail": "Request body too large."},
    ),
    order_case("unknown-pk-malformed", b"{", 404, {"detail": "Not found."}, path="/api/i1/orders/99/"),
    order_case("unknown-pk-word", b'{"is_send": true}', 404, {"detail": "Not found."}, path="/api/i1/orders/one/"),
    # -- PATCH order_items/{pk}/ --------------------------------------------------------------
    item_case(
        "extra-field-float-overflow",
        b'{"extra_field": {"x": 1e400}}',
        400,
        {"extra_field": ["Value must be valid JSON."]},
    ),
    item_case(
        "attributes-surrogate-key",
        b'{"attributes": {"\\udc00": 1}}',
        400,
        {"attributes": ["Surrogate characters are not allowed: U+DC00."]},
    ),
    item_case(
        "attributes-kwargs-nested-surrogate",
        b'{"attributes_kwargs": {"a": [{"b": "x\\ud800"}]}}',
        400,
        {"attributes_kwargs": ["Surrogate characters are not allowed: U+D800."]},
    ),
    item_case(
        "status-lone-surrogate",
        b'{"status": "\\udc00"}',
        400,
        {"status": ["Surrogate characters are not allowed: U+DC00."]},
    ),
    Case(
        "lone-surrogate-cancel-status",
        b'{"cancel_status": "\\udc00"}',
        400,
        {"cancel_status": ['"\\udc00" is not a valid choice.']},
        path=ITEM,
    ),
    item_case(
        "cancel-status-nul", b'{"cancel_status": "\\u0000"}', 400, {"cancel_status": ['"\x00" is not a valid choice.']}
    ),
    item_case("extra-field-nul-kept", b'{"extra_field": {"k": "a\\u0000b"}}', 200, None, changes_state=True),
    item_case(
        "extra-field-nesting-200",
        b'{"extra_field": {"a": ' + b"[" * 200 + b"]" * 200 + b"}}",
        400,
        {"extra_field": ["Nesting deeper than 64 levels is not stored."]},
    ),
    item_case(
        "extra-field-nesting-63-kept",
        b'{"extra_field": {"a": ' + b"[" * 62 + b"]" * 62 + b"}}",
        200,
        None,
        changes_state=True,
    ),
    item_case(
        "extra-field-list",
        b'{"extra_field": [1]}',
        400,
        {"extra_field": ['Expected a dictionary of items but got type "list".']},
    ),
    item_case("status-integer", b'{"status": 450}', 200, None, changes_state=True),
    item_case("unknown-pk-malformed", b"{", 404, {"detail": "Not found."}, path="/api/i1/order_items/99/"),
    # -- POST order_items/{id}/create_mapping/ ---------------------------------------------------
    mapping_case(
        "code-lone-surrogate", b'{"code": "\\udc00"}', 400, {"code": ["Surrogate characters are not allowed: U+DC00."]}
    ),
    mapping_case("code-nul", b'{"code": "E\\u00001"}', 400, {"code": ["Null characters are not allowed."]}),
    mapping_case("code-float-overflow-reads-as-text", b'{"code": 1e400}', 201, None, changes_state=True),
    mapping_case(
        "update-stock-float-overflow",
        b'{"code": "E1", "update_stock": 1e400}',
        400,
        {"update_stock": ["Must be a valid boolean."]},
    ),
    mapping_case("empty-body", b"", 400, {"code": ["This field is required."]}),
    mapping_case("top-level-null", b"null", 400, {"non_field_errors": ["No data provided"]}),
    mapping_case(
        "form-encoded",
        b"code=E1",
        415,
        {"detail": 'Unsupported media type "application/x-www-form-urlencoded" in request.'},
        content_type="application/x-www-form-urlencoded",
    ),
    mapping_case(
        "unknown-item-malformed", b"{", 404, {"detail": "Not found."}, path="/api/i1/order_items/99/create_mapping/"
    ),
    # -- GET orders/: odd query strings -------------------------------------------------------------
    # werkzeug keeps percent-escapes that decode to no UTF-8 as they came (Django would show U+FFFD).
    list_case("status-invalid-utf8", "status=%ED%A0%80", 400, invalid_choice("status", "%ED%A0%80")),
    list_case("status-nul", "status=%00", 400, invalid_choice("status", "\x00")),
    list_case("status-10k", "status=" + "9" * 10_000, 400, invalid_choice("status", "9" * 10_000)),
    list_case("cancel-status-emoji", "cancel_status=%F0%9F%98%80", 400, invalid_choice("cancel_status", "\U0001f600")),
    list_case("number-nul", "number=%00", 200, {"count": 0, "next": None, "previous": None, "results": []}),
    list_case("pk-in-nul", "pk__in=%00", 400, {"pk__in": ["Enter a number."]}),
    list_case(
        "pk-in-100k-commas", "pk__in=" + "," * 100_000, 200, {"count": 0, "next": None, "previous": None, "results": []}
    ),
    list_case(
        "modified-date-invalid-utf8",
        "modified_date__gte=%ED%A0%80",
        400,
        {"modified_date__gte": ["Enter a valid date/time."]},
    ),
    list_case(
        "modified-date-year-0", "modified_date__lt=0000-01-01", 400, {"modified_date__lt": ["Enter a valid date/time."]}
    ),
    list_case("page-nul", "page=%00", 404, INVALID_PAGE),
    list_case("page-past-64-bits", "page=" + "9" * 30, 404, INVALID_PAGE),
    list_case("is-send-invalid-utf8-filters-nothing", "is_send=%ED%A0%80&limit=1&sort=%00", 200, None),
    list_case("limit-float-overflow-is-the-default", "limit=1e400", 200, None),
]


def journal_and_inspector_answer(client: FlaskClient) -> Any:
    """Every page that shows the journal answers; returns the newest entry."""
    journal = client.get("/_mock/requests")
    assert journal.status_code == 200, journal.get_data(as_text=True)[:500]
    json.loads(journal.get_data(as_text=True), parse_constant=_refuse)
    for page in ("/_mock/", "/_mock/ui/fragment"):
        shown = client.get(page)
        assert shown.status_code == 200, f"{page}: {shown.get_data(as_text=True)[:500]}"
    FIGURES["journal and inspector answered after every input"] += 1
    entries = journal.get_json()["requests"]
    return entries[-1] if entries else None


def _refuse(name: str) -> Any:
    raise AssertionError(f"the journal must be strict JSON, found {name}")


def send(client: FlaskClient, case: Case) -> Any:
    headers = dict(case.headers)
    if case.content_type is not None:
        headers["Content-Type"] = case.content_type
    return client.open(case.path, method=case.method, data=case.body, headers=headers)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_gets_its_exact_answer(client: FlaskClient, case: Case) -> None:
    before = get_state(client)
    response = send(client, case)
    FIGURES["bad inputs sent (catalogue rows x stores)"] += 1
    FIGURES["5xx answers to bad inputs"] += response.status_code >= 500
    assert response.status_code == case.status, response.get_data(as_text=True)[:500]
    if case.expected is not None:
        assert response.get_json() == case.expected
    if case.changes_state:
        assert get_state(client) != before
    else:
        assert get_state(client) == before
        FIGURES["rejected bad inputs that left the state unchanged"] += 1
    newest = journal_and_inspector_answer(client)
    assert (newest["method"], newest["status"]) == (case.method, case.status)
    assert_body_shown(newest, b"" if case.status == 413 else case.body)


JOURNAL_BODY_LIMIT = 64 * 1024


def assert_body_shown(entry: dict[str, Any], sent: bytes) -> None:
    """The journal shows what was sent: as JSON when JSON carries it back, else as text, cut when long."""
    if len(sent) > JOURNAL_BODY_LIMIT:
        assert (entry["body_truncated"], entry["body_length"]) == (True, len(sent))
        assert entry["body"] == sent[:JOURNAL_BODY_LIMIT].decode("utf-8", "replace")
        return
    assert entry["body_truncated"] is False
    text = sent.decode("utf-8", "replace")
    if not text:
        assert entry["body"] is None
        return
    try:
        document = json.loads(text)
        json.dumps(document, allow_nan=False).encode("utf-8")
    except (ValueError, RecursionError):
        assert entry["body"] == text
        return
    assert entry["body"] in (document, text)


@pytest.mark.parametrize("name", [case.name for case in CASES if case.name.startswith("lone-surrogate-")])
def test_an_echoed_lone_surrogate_is_sent_and_journalled_as_its_escape(client: FlaskClient, name: str) -> None:
    [case] = [case for case in CASES if case.name == name]
    response = send(client, case)
    assert response.status_code == 400
    sent = response.get_data()
    sent.decode("utf-8")  # strict: the answer is UTF-8 however it quotes the surrogate
    entry = journal_and_inspector_answer(client)
    assert entry["status"] == 400
    # The journal keeps the answer as sent (as text: JSON cannot carry a lone surrogate back out).
    assert entry["response"] in (response.get_json(), sent.decode("utf-8"))
    assert client.get("/_mock/requests?status=400").status_code == 200


def test_the_catalogue_names_are_unique() -> None:
    assert len({case.name for case in CASES}) == len(CASES)


# -- poison bodies against every endpoint --------------------------------------------------------
# Bodies a connector bug can send that once broke the journal or the inspector:
# Python's json.dumps writes NaN and Infinity by default.
POISON = {
    "nan": b'{"orderitem_set": [{"id": 1, "status": NaN}], "username": NaN, "kind": NaN}',
    "infinity": b'{"orderitem_set": [{"id": 1, "tracking_number": Infinity}], "password": -Infinity}',
    "float-overflow": b'{"orderitem_set": [{"id": 1, "invoice_number": 1e400}], "username": 1e400, "delay_ms": 1e400}',
    "lone-surrogate": b'{"orderitem_set": [{"id": 1, "tracking_number": "\\udc00"}], "username": "\\udc00"}',
    "surrogate-key": b'{"orderitem_set": [{"id": 1, "\\ud800": "x"}], "\\udc00": 1}',
    "nesting-1000": b"[" * 1000 + b"]" * 1000,
    "nesting-200-parses": b'{"orderitem_set": ' + b"[" * 200 + b"]" * 200 + b"}",
    "nesting-object-5000": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "huge-integer": b'{"orderitem_set": [{"id": ' + b"9" * 5000 + b"}]}",
    "invalid-utf8": b'{"username": "\xff\xfe", "password": "\xc3"}',
    "nul-bytes": b'{"username": "a\\u0000b", "password": "\\u0000"}',
}
EMULATED_CALLS = [
    ("PATCH", "/api/i1/order_items/bulk_status_update/"),
    ("POST", "/api/i1/auth/login/"),
    ("POST", "/api/v1/auth/login/"),
    ("GET", "/api/i1/active_user/"),
    ("GET", "/api/i1/order_items/"),
    ("GET", "/api/i1/order_items/1/"),
    ("PATCH", "/api/i1/order_items/1/"),
    ("GET", "/api/i1/orders/1/"),
    ("PATCH", "/api/v1/orders/1/"),
    ("GET", "/api/i1/orders/"),
    ("POST", "/api/i1/order_items/1/create_mapping/"),
    ("POST", "/api/i1/no_such_endpoint/"),
    ("PATCH", "/api/i1/order_items/bulk_status_update"),
]
CONTROL_CALLS = [("POST", "/_mock/seed"), ("POST", "/_mock/faults"), ("POST", "/_mock/reset")]


@pytest.mark.parametrize("poison", POISON, ids=list(POISON))
@pytest.mark.parametrize(("method", "path"), EMULATED_CALLS, ids=[f"{m}-{p}" for m, p in EMULATED_CALLS])
@pytest.mark.parametrize("fault", [None, "status=503"], ids=["answered", "fault"])
def test_poison_body_on_the_emulated_api(
    client: FlaskClient, method: str, path: str, poison: str, fault: str | None
) -> None:
    headers = {"Authorization": TOKEN_HEADER, "Content-Type": JSON}
    if fault:
        headers["X-Mock-Fault"] = fault
    before = get_state(client)
    response = client.open(path, method=method, data=POISON[poison], headers=headers)
    FIGURES["bad inputs sent (catalogue rows x stores)"] += 1
    FIGURES["5xx answers to bad inputs"] += response.status_code >= 500 and not fault
    assert response.status_code < 500 or fault, response.get_data(as_text=True)[:300]
    json.loads(response.get_data(as_text=True) or "null", parse_constant=_refuse)
    accepted = response.status_code == 200 and method == "PATCH" and not fault
    if not accepted:
        assert get_state(client) == before
        FIGURES["rejected bad inputs that left the state unchanged"] += 1
    newest = journal_and_inspector_answer(client)
    assert (newest["method"], newest["path"], newest["status"]) == (method, path, response.status_code)
    sent = b"" if response.status_code == 301 and not fault else POISON[poison]
    if "login" not in path:
        assert_body_shown(newest, sent)


@pytest.mark.parametrize("poison", POISON, ids=list(POISON))
def test_poison_body_on_the_bulk_answers_as_drf(client: FlaskClient, poison: str) -> None:
    """DRF's JSONParser: NaN and Infinity are parse errors; 1e400 is a float (CharField makes it 'inf')."""
    headers = {"Authorization": TOKEN_HEADER, "Content-Type": JSON}
    response = client.patch(BULK, data=POISON[poison], headers=headers)
    expected = {
        "nan": (400, {"detail": "JSON parse error - Out of range float values are not JSON compliant: 'NaN'"}),
        "infinity": (
            400,
            {"detail": "JSON parse error - Out of range float values are not JSON compliant: 'Infinity'"},
        ),
        "float-overflow": (200, None),
        "lone-surrogate": (
            400,
            item_error("1", {"tracking_number": ["Surrogate characters are not allowed: U+DC00."]}),
        ),
        "surrogate-key": (200, None),
        "nesting-1000": (400, {"detail": "JSON parse error - maximum nesting depth exceeded"}),
        "nesting-200-parses": (
            400,
            [*item_error("None", {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})],
        ),
        "nesting-object-5000": (400, {"detail": "JSON parse error - maximum nesting depth exceeded"}),
        "huge-integer": (400, parse_error(POISON["huge-integer"])),
        "invalid-utf8": (400, parse_error(POISON["invalid-utf8"])),
        "nul-bytes": (400, {"orderitem_set": ["This field is required."]}),
    }[poison]
    assert response.status_code == expected[0], response.get_data(as_text=True)[:300]
    if expected[1] is not None:
        assert response.get_json() == expected[1]
    if poison == "float-overflow":
        assert response.get_json()[0]["invoice_number"] == "inf"


@pytest.mark.parametrize("poison", POISON, ids=list(POISON))
@pytest.mark.parametrize(("method", "path"), CONTROL_CALLS, ids=[p for _, p in CONTROL_CALLS])
def test_poison_body_on_the_control_api(client: FlaskClient, method: str, path: str, poison: str) -> None:
    """Control bodies must come back out as JSON (state, faults): what cannot is a 400, never a 500."""
    before = (get_state(client), client.get("/_mock/faults").get_json())
    response = client.open(path, method=method, data=POISON[poison], headers={"Content-Type": JSON})
    FIGURES["bad inputs sent (catalogue rows x stores)"] += 1
    FIGURES["5xx answers to bad inputs"] += response.status_code >= 500
    if path == "/_mock/reset":
        assert response.status_code == 200
    else:
        assert response.status_code == 400, response.get_data(as_text=True)[:300]
        assert (get_state(client), client.get("/_mock/faults").get_json()) == before
        FIGURES["rejected bad inputs that left the state unchanged"] += 1
    assert client.get("/_mock/state").status_code == 200
    journal_and_inspector_answer(client)
