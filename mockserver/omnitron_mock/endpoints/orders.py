"""Orders: one order with its item ids, by primary key or by number."""

from __future__ import annotations

from omnitron_mock import errors
from omnitron_mock.endpoints.path_ids import path_id
from omnitron_mock.exchange import Call, Reply, json_reply
from omnitron_mock.store.base import Row


def order_detail(call: Call, _user: Row, order_id: str) -> Reply:
    order = call.state.store.get_order(path_id(order_id))
    if order is None:
        raise errors.not_found()
    return json_reply(order)


def order_by_number(call: Call, _user: Row, number: str) -> Reply:
    order = call.state.store.get_order_by_number(number)
    if order is None:
        raise errors.not_found()
    return json_reply(order)
