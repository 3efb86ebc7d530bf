"""DRF page-number pagination: the page asked for, its size, and the page's links.

Akinon's lists take the page size as ``limit``; ``page_size`` (DRF's own
name) is kept as an alias, and ``limit`` wins when a request sends both.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from omnitron_mock import errors
from omnitron_mock.exchange import Call, Reply, json_reply
from omnitron_mock.store.base import Row

PAGE_SIZE_PARAMETERS = ("limit", "page_size")

Fetch = Callable[[int, int], tuple[int, list[Row]]]


def int_param(call: Call, name: str) -> int | None:
    """A query parameter as an integer; None when absent; ValueError when not one."""
    raw = call.request.args.get(name, "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.removeprefix("-").isdigit():
        raise ValueError(name)
    return int(raw)


def page_url(call: Call, page: int) -> str:
    query = [(k, v) for k, v in call.request.args.items(multi=True) if k != "page"]
    if page > 1:
        query.append(("page", str(page)))
    encoded = urlencode(query)
    return call.request.base_url + (f"?{encoded}" if encoded else "")


def _page_size(call: Call, default: int, largest: int) -> int:
    for name in PAGE_SIZE_PARAMETERS:
        if call.request.args.get(name, "").strip():
            try:
                requested = int_param(call, name)
            except ValueError:
                requested = None
            # DRF falls back to the default size on a size it cannot use.
            size = requested if requested is not None and requested > 0 else default
            return min(size, largest)
    return min(default, largest)


def paged_reply(call: Call, default_size: int, fetch: Fetch) -> Reply:
    """One page of what ``fetch(offset, limit)`` lists, as DRF's page-number
    pagination answers it; 404 "Invalid page." past the last page."""
    try:
        page = int_param(call, "page")
    except ValueError:
        page = 0
    if page is not None and page < 1:
        raise errors.detail(404, "Invalid page.")
    page = page or 1
    size = _page_size(call, default_size, call.state.settings.max_items)
    count, rows = fetch((page - 1) * size, size)
    last_page = max(1, -(-count // size))
    if page > last_page:
        raise errors.detail(404, "Invalid page.")
    return json_reply(
        {
            "count": count,
            "next": page_url(call, page + 1) if page < last_page else None,
            "previous": page_url(call, page - 1) if page > 1 else None,
            "results": rows,
        }
    )
