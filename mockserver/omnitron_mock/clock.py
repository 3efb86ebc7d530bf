"""``modified_date`` stamps: when they move, and how they sort."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from omnitron_mock.fields import iso_datetime, render_datetime

_ONE_MICROSECOND = timedelta(microseconds=1)
_LAST_MOMENT = datetime.max.replace(tzinfo=UTC)


def now_stamp() -> str:
    """Now, as DRF renders it."""
    return render_datetime(datetime.now(UTC))


def moved_on(previous: str) -> str:
    """Now, as DRF renders it, and strictly later than ``previous``: two changes
    within one clock tick (or a seed dated in the future) still move the stamp."""
    now = now_stamp()
    if instant_key(now) > instant_key(previous):
        # Every write moves a stamp: comparing texts spares parsing the old one.
        return now
    before = iso_datetime(previous)
    # A seed dated at the calendar's last microsecond leaves no later one: the stamp stays.
    return previous if before == _LAST_MOMENT else render_datetime(before + _ONE_MICROSECOND)


def instant_key(stamp: str) -> str:
    """A key that sorts rendered stamps (``…:00Z``, ``…:00.5Z``) by time: DRF drops
    a zero fraction, so the texts themselves do not sort."""
    body = stamp.removesuffix("Z")
    whole, _, fraction = body.partition(".")
    return f"{whole}.{fraction.ljust(6, '0')}"
