"""Record memory: what a stored item costs as a slots record against a tuple.

    python bench/record_memory.py [--items 200000]

Builds ``--items`` items as the seed builds them (``build_seed``'s item step
over a generated seed document: ids, SKUs, prices, defaults shared), then
keeps the same values once as tuples in wire order (how the stores held them
before issue 13) and once as :class:`~omnitron_mock.records.ItemRecord`.
tracemalloc counts the bytes each kind holds once built: the containers and
the SKU strings, which are new for every item; the seed document and the
shared defaults are allocated before counting starts, as they are shared by
both kinds.

It also times rendering every item in wire form (a fresh dict, nested
objects copied), as reads and bulks do: ``ItemRecord.to_wire()`` against the
tuple unpacking the stores did before (copied below).
"""

from __future__ import annotations

import argparse
import copy
import gc
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save, table
from omnitron_mock.records import ITEM_FIELDS, ItemRecord
from omnitron_mock.seed import _item, generate_seed_document

ITEMS_PER_ORDER = 10


def held_bytes(build: Callable[[], list[Any]]) -> tuple[int, list[Any]]:
    """The bytes ``build``'s result still holds once built (its garbage collected)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        built = build()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before, built
    finally:
        tracemalloc.stop()


def unpack(values: tuple[Any, ...]) -> dict[str, Any]:
    """``omnitron_mock.rows.unpack_item`` as it was before records."""
    return {
        name: (copy.deepcopy(value) if value else type(value)()) if isinstance(value, (dict, list)) else value
        for name, value in zip(ITEM_FIELDS, values, strict=True)
    }


def render_us(render: Callable[[Any], dict[str, Any]], built: list[Any], rounds: int = 5) -> float:
    """Median over ``rounds`` of the microseconds one item takes to render."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for item in built:
            render(item)
        times.append((time.perf_counter() - started) / len(built) * 1e6)
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument(
        "--json", type=Path, help="where to write the figures (default bench/results/record_memory.json)"
    )
    args = parser.parse_args()
    orders = generate_seed_document(args.items // ITEMS_PER_ORDER, ITEMS_PER_ORDER)["orders"]
    raw = [(item, order["id"]) for order in orders for item in order["items"]]

    # The record's values, read into a tuple: exactly what the seed's tuple held.
    tuples, built_tuples = held_bytes(lambda: [_item(item, order_id).to_values() for item, order_id in raw])
    records, built_records = held_bytes(lambda: [_item(item, order_id) for item, order_id in raw])
    assert [record.to_values() for record in built_records] == built_tuples
    count = len(raw)
    ratio = records / tuples
    print(
        table(
            ["kind", "items", "MiB held", "bytes per item"],
            [
                ["tuple (before)", f"{count:,}", tuples / 2**20, tuples / count],
                ["ItemRecord, slots dataclass", f"{count:,}", records / 2**20, records / count],
            ],
        )
    )
    print(f"\nrecord / tuple: {ratio:.3f}")
    assert [unpack(values) for values in built_tuples[:1000]] == [r.to_wire() for r in built_records[:1000]]
    # Interleaved, so that the machine's other work weighs on both alike.
    unpack_us, wire_us = [], []
    for _ in range(3):
        unpack_us.append(render_us(unpack, built_tuples))
        wire_us.append(render_us(ItemRecord.to_wire, built_records))
    unpack_median, wire_median = sorted(unpack_us)[1], sorted(wire_us)[1]
    print(f"wire form, us per item: tuple unpacked {unpack_median:.2f}, record to_wire() {wire_median:.2f}")
    figures = {
        "items": count,
        "bytes_held": {"tuple": tuples, "record": records},
        "bytes_per_item": {"tuple": tuples / count, "record": records / count},
        "record_over_tuple": ratio,
        "wire_form_us_per_item": {"tuple_unpack": unpack_median, "record_to_wire": wire_median},
        "record_class_slots": "__slots__" in ItemRecord.__dict__,
    }
    print(f"\nwrote {save('record_memory', figures, args.json)}")


if __name__ == "__main__":
    main()
