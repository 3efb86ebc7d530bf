"""DRF page-number pagination: query numbers and the ``next``/``previous`` links."""

from __future__ import annotations

from urllib.parse import urlencode

from omnitron_mock.exchange import Call


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
