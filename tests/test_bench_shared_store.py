"""The shared-store benchmarks (bench/shared_store.py, bench/postgres_round_trips.py)
run end to end in a tiny configuration, so that they keep working: every
row is measured, the load reaches both replicas, and nothing is left running.

Speed is never asserted here (BENCHMARKS.md reports it); what the scripts
claim to do is.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[1]
ROWS = ("memory", "sqlite", "postgres", "postgres, 2 replicas")
BASELINE_ROWS = ("baseline postgres", "baseline postgres, 2 replicas")


def run_bench(script: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *arguments],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert result.returncode == 0, f"{script} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def refuses_connections(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(5)
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize(
    ("client", "baseline"),
    [
        # The Python client against a baseline (this checkout again): every row and ratio.
        ("python", True),
        # wrk's Lua script; the same rows again, so only in the slow tier.
        pytest.param("wrk", False, marks=pytest.mark.slow),
    ],
)
def test_shared_store_bench_measures_every_row_and_stops_everything(
    postgres_server: PostgresServer, tmp_path: Path, client: str, baseline: bool
) -> None:
    # postgres_server: the tests' server proves PostgreSQL is installed (or skips, as elsewhere);
    # the bench starts its own.
    if client == "wrk" and shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install wrk)")
    output = tmp_path / "shared_store.json"
    arguments = ["--rounds", "1", "--seconds", "0.5", "--warm-up", "0", "--connections", "4", "--client", client]
    arguments += ["--json", str(output)]
    result = run_bench("shared_store.py", *arguments, *(["--baseline", str(ROOT)] if baseline else []))
    figures = json.loads(output.read_text())

    expected = ROWS + (BASELINE_ROWS if baseline else ())
    assert tuple(figures["rows"]) == expected
    for name, row in figures["rows"].items():
        assert row["answered"] > 0, name
        assert row["req_per_s"] > 0, name
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"], name
    # Two replicas: the connections are spread, so both served bulks.
    assert len(figures["rows"]["postgres, 2 replicas"]["per_target"]) == 2
    assert all(count > 0 for count in figures["rows"]["postgres, 2 replicas"]["per_target"])
    assert figures["rounds"]["postgres"][0]["client"] == client
    assert figures["rounds"]["postgres"][0]["failed"] == 0
    assert set(figures["ratios"]) >= {"postgres_over_sqlite", "two_replicas_over_one"}
    if baseline:
        assert "postgres_over_baseline" in figures["ratios"]

    # The core count is in the output and the figures, as the report reads it.
    cores = len(os.sched_getaffinity(0))
    assert figures["cores"]["usable_by_this_process"] == cores
    assert f"cores: {cores}" in result.stdout
    assert figures["postgres"]["settings"]["fsync"] == "on"
    # Where the CPU went, per row: the emulator and (on PostgreSQL rows) the database worked.
    assert set(figures["cores_busy"]) == set(expected)
    assert figures["cores_busy"]["memory"]["emulator"] > 0
    assert figures["cores_busy"]["postgres, 2 replicas"]["postgres"] > 0
    assert all(value >= 0 for row in figures["cores_busy"].values() for value in row.values())

    # Nothing left running: PostgreSQL and every emulator refuse connections.
    assert refuses_connections(figures["postgres"]["port"])
    for urls in figures["servers"].values():
        for url in urls:
            assert refuses_connections(urlsplit(url).port), url


def test_round_trip_bench_counts_a_bulk_against_a_baseline(postgres_server: PostgresServer, tmp_path: Path) -> None:
    output = tmp_path / "round_trips.json"
    arguments = ["--alternations", "1", "--calls", "5", "--baseline", str(ROOT), "--json", str(output)]
    run_bench("postgres_round_trips.py", *arguments)
    figures = json.loads(output.read_text())

    for name in ("this checkout", "baseline"):
        changing, unchanged = figures[name]["changing"], figures[name]["unchanged"]
        # A bulk writes under the lock (at least the lock, its journal entry and the commit) ...
        assert changing["under_lock"] >= 3
        assert changing["round_trips"] > changing["under_lock"]
        # ... and one that changes its items and order does more than one that changes nothing.
        assert changing["under_lock"] > unchanged["under_lock"]
        assert figures[name]["fastest_us_per_bulk"] > 0
    # The same code on both sides: the same counts.
    assert figures["this checkout"]["changing"] == figures["baseline"]["changing"]
