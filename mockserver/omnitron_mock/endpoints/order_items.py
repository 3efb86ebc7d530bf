"""Order items: the bulk status update, one item, the item list."""

from __future__ import annotations

from omnitron_mock import errors
from omnitron_mock.bulk import BulkOutcome, apply_bulk, parse_bulk
from omnitron_mock.endpoint import field_errors
from omnitron_mock.endpoints.paging import int_param, page_url
from omnitron_mock.endpoints.path_ids import path_id
from omnitron_mock.errors import FieldErrors
from omnitron_mock.exchange import Call, Reply, json_reply
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
    state = call.state
    try:
        order_id = int_param(call, "order")
    except ValueError:
        raise field_errors({"order": ["Enter a number."]}) from None
    try:
        page = int_param(call, "page")
    except ValueError:
        page = 0
    if page is not None and page < 1:
        raise errors.detail(404, "Invalid page.")
    page = page or 1
    try:
        requested_size = int_param(call, "page_size")
    except ValueError:
        requested_size = None
    # DRF's pagination falls back to the default size on a bad page_size.
    page_size = min(
        requested_size if requested_size and requested_size > 0 else state.settings.page_size, state.settings.max_items
    )
    count, items = state.store.list_items(order_id, (page - 1) * page_size, page_size)
    last_page = max(1, -(-count // page_size))
    if page > last_page:
        raise errors.detail(404, "Invalid page.")
    return json_reply(
        {
            "count": count,
            "next": page_url(call, page + 1) if page < last_page else None,
            "previous": page_url(call, page - 1) if page > 1 else None,
            "results": items,
        }
    )
