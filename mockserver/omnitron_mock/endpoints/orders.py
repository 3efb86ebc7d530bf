"""Orders: the list, one order by primary key or by number, marking one sent."""

from __future__ import annotations

from omnitron_mock import errors
from omnitron_mock.endpoint import field_errors
from omnitron_mock.endpoints.order_filters import order_query
from omnitron_mock.endpoints.paging import paged_reply
from omnitron_mock.endpoints.path_ids import path_id
from omnitron_mock.errors import FieldErrors
from omnitron_mock.exchange import Call, Reply, json_reply
from omnitron_mock.order_update import apply_order_update, parse_order_update
from omnitron_mock.store.base import Row

# Akinon documents 10 orders to a page.
ORDER_PAGE_SIZE = 10


def order_list(call: Call, _user: Row) -> Reply:
    query = order_query(call)
    store = call.state.store
    return paged_reply(call, ORDER_PAGE_SIZE, lambda offset, limit: store.list_orders(query, offset, limit))


def order_detail(call: Call, _user: Row, order_id: str) -> Reply:
    order = call.state.store.get_order(path_id(order_id))
    if order is None:
        raise errors.not_found()
    return json_reply(order)


def order_update(call: Call, _user: Row, order_id: str) -> Reply:
    identifier = path_id(order_id)
    # DRF's UpdateModelMixin finds the object before it reads the body: an
    # unknown order is a 404 whatever was sent.
    if call.state.store.get_order(identifier) is None:
        raise errors.not_found()
    try:
        is_send = parse_order_update(call.json())
    except FieldErrors as invalid:
        raise field_errors(invalid.errors) from None
    order = apply_order_update(call.transaction(), identifier, is_send)
    if order is None:
        raise errors.not_found()
    return json_reply(order)


def order_by_number(call: Call, _user: Row, number: str) -> Reply:
    order = call.state.store.get_order_by_number(number)
    if order is None:
        raise errors.not_found()
    return json_reply(order)
