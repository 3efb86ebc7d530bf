"""What ``PRAGMA synchronous = NORMAL`` costs the SQLite store against OFF.

    python bench/sqlite_sync.py [--calls 3000] [--rounds 5] [--dir PATH]

Two emulators on SQLite files in one folder, one with each setting (the
store's private ``_SYNCHRONOUS`` knob, set while each opens; NORMAL is what
ships). In interleaved rounds, each takes the documented 3-item bulk straight
into its WSGI app (as ``bench/inprocess.py`` does) and then journal entries
through the store API alone; the median of the rounds' mean time per call is
reported, and NORMAL ÷ OFF. In WAL mode NORMAL syncs only at checkpoints, so
the cost is an fsync every few hundred commits: it depends on the disk under
``--dir`` (a tmpfs syncs for free).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from flask import Flask

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, save, table
from inprocess import mean_call_us
from omnitron_mock import Settings, create_app
from omnitron_mock.app import emulator_of
from omnitron_mock.store import sqlite as sqlite_store

SETTINGS = ("OFF", "NORMAL")
# PRAGMA synchronous reads back as a number.
PRAGMA_VALUE = {"OFF": 0, "NORMAL": 1}


def open_app(folder: Path, synchronous: str) -> Flask:
    shipped = sqlite_store._SYNCHRONOUS
    sqlite_store._SYNCHRONOUS = synchronous
    try:
        # The pragma is set per connection when it opens: the app's thread opens it here.
        app = create_app(Settings(db=str(folder / f"{synchronous.lower()}.db")))
    finally:
        sqlite_store._SYNCHRONOUS = shipped
    store = emulator_of(app).store
    found = store._connection().execute("PRAGMA synchronous").fetchone()[0]
    assert found == PRAGMA_VALUE[synchronous], (synchronous, found)
    return app


def mean_append_us(store: sqlite_store.SQLiteStore, calls: int) -> float:
    entry = {"method": "PATCH", "path": "/bench", "status": 200, "body": "x" * 300, "response": "[]"}
    started = time.perf_counter()
    for _ in range(calls):
        store.append_request(dict(entry))
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", type=Path, help="folder for the database files (default: a new one in the temp dir)")
    parser.add_argument("--json", type=Path, help="where to write the figures (default bench/results/sqlite_sync.json)")
    args = parser.parse_args()
    if sqlite_store._SYNCHRONOUS != "NORMAL":
        raise SystemExit(f"the store ships synchronous={sqlite_store._SYNCHRONOUS}; this compares NORMAL with OFF")

    folder = Path(tempfile.mkdtemp(prefix="omnitron-sync-", dir=args.dir))
    try:
        apps = {setting: open_app(folder, setting) for setting in SETTINGS}
        stores = {setting: emulator_of(app).store for setting, app in apps.items()}
        for app in apps.values():
            mean_call_us(app, 200)  # warm-up: caches, the statement cache, the journal table
        bulk: dict[str, list[float]] = {setting: [] for setting in SETTINGS}
        append: dict[str, list[float]] = {setting: [] for setting in SETTINGS}
        for _ in range(args.rounds):
            for setting in SETTINGS:
                bulk[setting].append(mean_call_us(apps[setting], args.calls))
                append[setting].append(mean_append_us(stores[setting], args.calls))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    per_bulk = {setting: median(values) for setting, values in bulk.items()}
    per_append = {setting: median(values) for setting, values in append.items()}
    ratios = {
        "bulk": per_bulk["NORMAL"] / per_bulk["OFF"],
        "journal_append": per_append["NORMAL"] / per_append["OFF"],
    }
    rows = [
        ["documented bulk, in-process WSGI", per_bulk["OFF"], per_bulk["NORMAL"], ratios["bulk"]],
        ["journal entry, store API", per_append["OFF"], per_append["NORMAL"], ratios["journal_append"]],
    ]
    print(table(["call", "µs OFF", "µs NORMAL", "NORMAL ÷ OFF"], rows))
    figures = {
        "settings": {"calls": args.calls, "rounds": args.rounds, "folder": str(folder.parent)},
        "us_per_bulk": per_bulk,
        "us_per_journal_append": per_append,
        "normal_over_off": ratios,
        "rounds": {"bulk": bulk, "journal_append": append},
    }
    print(f"\nwrote {save('sqlite_sync', figures, args.json)}")


if __name__ == "__main__":
    main()
