"""The memory store's order indexes: what answers an order list without reading every order.

Kept by every write of an order (load, reset, the commit of a transaction).
Flat in the store's size: a list filtered by ``is_send`` and ``status``
(either, both or neither) sorted by id, and a list sorted by ``modified_date``
(restricted by its date filters) or by ``date_placed``, when no other filter
applies. The rest read their candidates one by one: ``pk__in`` and ``number``
(few candidates), ``cancel_status``, date filters beside another filter or
another sort (linear in the orders the index narrows them to).
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
from collections.abc import Iterable

from omnitron_mock.clock import instant_key
from omnitron_mock.records import OrderRecord
from omnitron_mock.store.base import ORDER_SORTS, OrderQuery

# Sorted (instant key, pk) pairs.
_Dated = list[tuple[str, int]]


def _remove(sorted_list: list, entry: object) -> None:
    position = bisect.bisect_left(sorted_list, entry)
    if position < len(sorted_list) and sorted_list[position] == entry:
        del sorted_list[position]


def _date_range(entries: _Dated, bounds: Iterable[tuple[str, str]]) -> tuple[int, int]:
    """The slice of ``entries`` whose keys pass every (comparison, stamp) bound."""
    low, high = 0, len(entries)
    for comparison, stamp in bounds:
        key = instant_key(stamp)
        if comparison == "gte":
            low = max(low, bisect.bisect_left(entries, (key,)))
        elif comparison == "gt":
            low = max(low, bisect.bisect_left(entries, (key, math.inf)))
        elif comparison == "lte":
            high = min(high, bisect.bisect_left(entries, (key, math.inf)))
        else:
            high = min(high, bisect.bisect_left(entries, (key,)))
    return low, max(low, high)


def _descending_page(entries: _Dated, low: int, high: int, offset: int, limit: int) -> list[int]:
    """The pks of one page of ``entries[low:high]`` by descending key, ties by
    ascending pk, found by bisection: a run of equal keys sits mirrored at the
    same place in either direction."""
    found: list[int] = []
    position = offset
    while position < high - low and len(found) < limit:
        key = entries[high - 1 - position][0]
        start = bisect.bisect_left(entries, (key,), low, high)
        end = bisect.bisect_left(entries, (key, math.inf), low, high)
        first = start + position - (high - end)
        taken = entries[first : min(end, first + limit - len(found))]
        found.extend(pk for _, pk in taken)
        position += len(taken)
    return found


class OrderIndex:
    """Pks by ascending id, by (is_send, status) and by number; (instant key,
    pk) pairs by ``modified_date`` and (built when first asked) ``date_placed``."""

    def __init__(self) -> None:
        self._pks: list[int] = []
        self._by_state: dict[tuple[bool, str], list[int]] = {}
        self._by_number: dict[str, list[int]] = {}
        self._modified: _Dated = []
        self._placed: _Dated | None = None

    def rebuild(self, orders: dict[int, OrderRecord]) -> None:
        self._pks = sorted(orders)
        self._by_state = {}
        self._by_number = {}
        # One key object per distinct stamp: seeded orders often share their dates.
        keys: dict[str, str] = {}
        modified = []
        for pk in self._pks:
            order = orders[pk]
            self._by_state.setdefault((order.is_send, order.status), []).append(pk)
            self._by_number.setdefault(order.number, []).append(pk)
            stamp = order.modified_date
            key = keys.get(stamp)
            if key is None:
                key = keys[stamp] = instant_key(stamp)
            modified.append((key, pk))
        modified.sort()
        self._modified = modified
        self._placed = None

    def add(self, order: OrderRecord) -> None:
        pk = order.pk
        bisect.insort(self._pks, pk)
        bisect.insort(self._by_state.setdefault((order.is_send, order.status), []), pk)
        bisect.insort(self._by_number.setdefault(order.number, []), pk)
        bisect.insort(self._modified, (instant_key(order.modified_date), pk))
        if self._placed is not None:
            bisect.insort(self._placed, (instant_key(order.date_placed), pk))

    def remove(self, order: OrderRecord) -> None:
        pk = order.pk
        _remove(self._pks, pk)
        _remove(self._by_state.get((order.is_send, order.status), []), pk)
        _remove(self._by_number.get(order.number, []), pk)
        _remove(self._modified, (instant_key(order.modified_date), pk))
        if self._placed is not None:
            _remove(self._placed, (instant_key(order.date_placed), pk))

    def replace(self, old: OrderRecord, new: OrderRecord) -> None:
        """``old`` became ``new`` (same pk): move only what changed (a bulk moves
        ``modified_date`` alone)."""
        if (old.is_send, old.status, old.number, old.date_placed) != (
            new.is_send,
            new.status,
            new.number,
            new.date_placed,
        ):
            self.remove(old)
            self.add(new)
        elif old.modified_date != new.modified_date:
            pk = new.pk
            _remove(self._modified, (instant_key(old.modified_date), pk))
            bisect.insort(self._modified, (instant_key(new.modified_date), pk))

    def first_by_number(self, number: str) -> int | None:
        found = self._by_number.get(number)
        return found[0] if found else None

    def _placed_entries(self, orders: dict[int, OrderRecord]) -> _Dated:
        if self._placed is None:
            keys: dict[str, str] = {}
            self._placed = sorted(
                (keys.setdefault(order.date_placed, instant_key(order.date_placed)), pk) for pk, order in orders.items()
            )
        return self._placed

    def page(
        self,
        orders: dict[int, OrderRecord],
        query: OrderQuery,
        offset: int,
        limit: int,
    ) -> tuple[int, list[int]] | None:
        """(how many orders pass ``query``, the pks of one page of them), when
        the indexes answer it; None when each of :meth:`candidates` must be
        read (see the module's docstring)."""
        field_name, descending = ORDER_SORTS.get(query.sort, ORDER_SORTS["id"])
        others = query.cancel_status is not None or query.number is not None or query.pks is not None
        if field_name == "pk":
            if others or query.modified:
                return None
            runs = [run for run in self._state_runs(query) if run]
            count = sum(map(len, runs))
            if len(runs) == 1:
                run = runs[0]
                if not descending:
                    return count, run[offset : offset + limit]
                end = max(0, count - offset)
                return count, run[max(0, end - limit) : end][::-1]
            merged = heapq.merge(*(reversed(run) for run in runs), reverse=True) if descending else heapq.merge(*runs)
            return count, list(itertools.islice(merged, offset, offset + limit))
        entries = self._modified if field_name == "modified_date" else self._placed_entries(orders)
        if (
            others
            or query.is_send is not None
            or query.status is not None
            or (query.modified and field_name != "modified_date")
        ):
            return None
        low, high = _date_range(entries, query.modified)
        if descending:
            return high - low, _descending_page(entries, low, high, offset, limit)
        start = low + offset
        return high - low, [pk for _, pk in entries[start : max(start, min(high, start + limit))]]

    def candidates(self, query: OrderQuery) -> Iterable[int]:
        """The pks that may pass ``query`` (any order), the fewest the indexes
        narrow them to: ``pk__in``, else ``number``, else the date filters,
        else ``is_send`` and ``status``."""
        if query.pks is not None:
            return query.pks
        if query.number is not None:
            return list(self._by_number.get(query.number, []))
        if query.modified:
            low, high = _date_range(self._modified, query.modified)
            return [pk for _, pk in self._modified[low:high]]
        return itertools.chain.from_iterable(self._state_runs(query))

    def _state_runs(self, query: OrderQuery) -> list[list[int]]:
        if query.is_send is None and query.status is None:
            return [self._pks]
        return [
            pks
            for (is_send, status), pks in self._by_state.items()
            if (query.is_send is None or is_send is query.is_send) and (query.status is None or status == query.status)
        ]
