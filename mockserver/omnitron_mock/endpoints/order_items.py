"""Order items: the bulk status update, one item (read, update, map), the item list."""

from __future__ import annotations

from omnitron_mock import errors, mapping
from omnitron_mock.bulk import BulkOutcome, apply_bulk, parse_bulk
from omnitron_mock.endpoint import field_errors
from omnitron_mock.endpoints.paging import int_param, paged_reply
from omnitron_mock.endpoints.path_ids import path_id
from omnitron_mock.errors import FieldErrors
from omnitron_mock.exchange import Call, Reply, json_reply
from omnitron_mock.item_update import apply_item_update, parse_item_update
from omnitron_mock.mapping import parse_mapping
from omnitron_mock.store.base import Row


def bulk_status_update(call: Call, _user: Row) -> Reply:
    # Read once: the body's checks and the write follow the same rules.
    rules = call.state.current_rules()
    try:
        requests = parse_bulk(call.json(), rules)
    except FieldErrors as invalid:
        raise field_errors(invalid.errors) from None
    return _bulk_reply(apply_bulk(call.transaction(), requests, rules))


def _bulk_reply(outcome: BulkOutcome) -> Reply:
    if outcome.errors:
        return json_reply(outcome.errors, status=400)
    # The store hands back each item already encoded: the list needs no second pass.
    return Reply(200, f"[{','.join(outcome.updated)}]")


def order_item_detail(call: Call, _user: Row, item_id: str) -> Reply:
    item = call.state.store.get_item(path_id(item_id))
    if item is None:
        raise errors.not_found()
    return json_reply(item)


def order_item_list(call: Call, _user: Row) -> Reply:
    try:
        order_id = int_param(call, "order")
    except ValueError:
        raise field_errors({"order": ["Enter a number."]}) from None
    store = call.state.store
    return paged_reply(
        call, call.state.settings.page_size, lambda offset, limit: store.list_items(order_id, offset, limit)
    )


def _existing_item(call: Call, item_id: str) -> int:
    """The id of an item that exists; a 404 before the body is read, as DRF's
    ``get_object()`` comes before ``request.data`` in its detail views."""
    identifier = path_id(item_id)
    if call.state.store.get_item(identifier) is None:
        raise errors.not_found()
    return identifier


def order_item_update(call: Call, _user: Row, item_id: str) -> Reply:
    identifier = _existing_item(call, item_id)
    rules = call.state.current_rules()
    try:
        changes = parse_item_update(call.json(), rules)
        item = apply_item_update(call.transaction(), identifier, changes, rules)
    except FieldErrors as invalid:
        raise field_errors(invalid.errors) from None
    if item is None:
        raise errors.not_found()
    return json_reply(item)


def create_mapping(call: Call, _user: Row, item_id: str) -> Reply:
    identifier = _existing_item(call, item_id)
    try:
        request = parse_mapping(call.json())
        outcome = mapping.create_mapping(call.transaction(), identifier, request)
    except FieldErrors as invalid:
        raise field_errors(invalid.errors) from None
    if outcome is None:
        raise errors.not_found()
    return json_reply(mapping.wire_mapping(outcome.mapping), status=201 if outcome.created else 200)
