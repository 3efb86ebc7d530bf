"""The order list's query: filters read as django-filter reads them.

Each filter takes its value as django-filter's form field would: a boolean
it cannot read is no filter at all, a choice or number it cannot read is a
400 naming the parameter, an empty value filters nothing.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from omnitron_mock import fields
from omnitron_mock.endpoint import field_errors
from omnitron_mock.exchange import Call
from omnitron_mock.item_update import CANCEL_STATUSES
from omnitron_mock.store.base import OrderQuery

INVALID_DATETIME = "Enter a valid date/time."
INVALID_NUMBER = "Enter a number."
# django-filter's BooleanWidget: lower-cased, these and nothing else.
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
_DATE_COMPARISONS = ("gte", "gt", "lte", "lt")


def _invalid_choice(value: str) -> str:
    return f"Select a valid choice. {value} is not one of the available choices."


def order_query(call: Call) -> OrderQuery:
    """The query of an order list request; raise a 400 naming each refused parameter."""
    args = call.request.args
    errors: dict[str, list[str]] = {}
    status = args.get("status") or None
    if status is not None and status not in call.state.current_rules().statuses:
        errors["status"] = [_invalid_choice(status)]
    cancel_status = args.get("cancel_status") or None
    if cancel_status is not None and cancel_status not in CANCEL_STATUSES:
        errors["cancel_status"] = [_invalid_choice(cancel_status)]
    pks = None
    if args.get("pk__in"):
        try:
            pks = _whole_numbers(args["pk__in"])
        except ValueError:
            errors["pk__in"] = [INVALID_NUMBER]
    modified = []
    for comparison in _DATE_COMPARISONS:
        name = f"modified_date__{comparison}"
        if args.get(name):
            try:
                modified.append((comparison, _moment(args[name])))
            except fields.Invalid:
                errors[name] = [INVALID_DATETIME]
    if errors:
        raise field_errors(errors)
    return OrderQuery(
        is_send=_BOOLEANS.get(args.get("is_send", "").lower()),
        status=status,
        cancel_status=cancel_status,
        number=args.get("number") or None,
        pks=pks,
        modified=tuple(modified),
        sort=args.get("sort", "id"),
    )


def _whole_numbers(listed: str) -> frozenset[int]:
    """The ids of a comma list; a number that is no whole one names no order."""
    found = set()
    for part in listed.split(","):
        if not part.strip():
            continue
        try:
            number = Decimal(part.strip())
        except InvalidOperation:
            raise ValueError(part) from None
        if not number.is_finite():
            raise ValueError(part)
        # Past 19 digits a number is no stored id: skipped before int() spends time on it.
        if number.adjusted() < 19 and number == number.to_integral_value():
            found.add(int(number))
    return frozenset(found)


def _moment(text: str) -> str:
    """A date and time as Django's ISO 8601 field reads it (a bare date is its
    midnight), rendered as stamps are stored."""
    if len(text) == len("2021-07-13") and "T" not in text:
        text = f"{text}T00:00:00"
    return fields.render_datetime(fields.iso_datetime(text))
