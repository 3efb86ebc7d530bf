"""The shared-store benchmarks (bench/shared_store.py, bench/postgres_round_trips.py)
run end to end in a tiny configuration, so that they keep working: every
row is measured, the load reaches both replicas (in tenant mode, each user's
own world), and nothing is left running.

Speed is never asserted here (BENCHMARKS.md reports it); what the scripts
claim to do is.
"""

from __future__ import annotations

import json
import os
import re
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
TENANT_ROWS = ("postgres, tenant mode", "postgres, tenant mode, 2 replicas")
# The tag bench/bulk_load.py puts in a bulk's tracking number: its connection (wrk: its thread) and count.
LOAD_TRACKING_NUMBER = re.compile(r"TR(\d+)-\d+")


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
    ("client", "baseline", "tenants"),
    [
        # The Python client against a baseline (this checkout again), with tenants: every row and ratio.
        ("python", True, 2),
        # wrk's Lua script, its per-thread tokens (4 users: 4 threads), and the default run
        # without tenants; the same rows again, so only in the slow tier.
        pytest.param("wrk", False, 4, marks=pytest.mark.slow),
        pytest.param("wrk", False, 0, marks=pytest.mark.slow),
    ],
)
def test_shared_store_bench_measures_every_row_and_stops_everything(
    postgres_server: PostgresServer, tmp_path: Path, client: str, baseline: bool, tenants: int
) -> None:
    # postgres_server: the tests' server proves PostgreSQL is installed (or skips, as elsewhere);
    # the bench starts its own.
    if client == "wrk" and shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install wrk)")
    output = tmp_path / "shared_store.json"
    arguments = ["--rounds", "1", "--seconds", "0.5", "--warm-up", "0", "--connections", "4", "--client", client]
    arguments += ["--json", str(output), "--tenants", str(tenants)]
    result = run_bench("shared_store.py", *arguments, *(["--baseline", str(ROOT)] if baseline else []))
    figures = json.loads(output.read_text())

    expected = ROWS + (TENANT_ROWS if tenants else ()) + (BASELINE_ROWS if baseline else ())
    assert tuple(figures["rows"]) == expected
    for name, row in figures["rows"].items():
        assert row["answered"] > 0, name
        assert row["req_per_s"] > 0, name
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"], name
    # Two replicas: the connections are spread, so both served bulks.
    for name in ["postgres, 2 replicas", *(["postgres, tenant mode, 2 replicas"] if tenants else [])]:
        assert len(figures["rows"][name]["per_target"]) == 2, name
        assert all(count > 0 for count in figures["rows"][name]["per_target"]), name
    # One client for every row, tenant rows too: like is measured with like.
    assert {runs[0]["client"] for runs in figures["rounds"].values()} == {client}
    assert figures["rounds"]["postgres"][0]["failed"] == 0
    assert set(figures["ratios"]) >= {"postgres_over_sqlite", "two_replicas_over_one"}
    tenant_ratios = {"tenant_mode_over_single_world", "tenant_two_replicas_over_one"}
    assert tenant_ratios <= set(figures["ratios"]) if tenants else not tenant_ratios & set(figures["ratios"])
    if baseline:
        assert "postgres_over_baseline" in figures["ratios"]
    if tenants:
        assert_each_user_wrote_its_own_world(figures["tenants"]["tracking_numbers"], tenants, client)
    else:
        assert "tenants" not in figures

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


def assert_each_user_wrote_its_own_world(read: dict[str, list[str | None]], tenants: int, client: str) -> None:
    """Each user's tracked item, read through both tenant replicas after the
    load: the replicas agree on a world, every world took the load's bulks,
    and each its own (in one shared world all would read the same)."""
    assert len(read) == tenants
    numbers = []
    for user, (through_a, through_b) in enumerate(read.values()):
        assert through_a == through_b, user
        found = LOAD_TRACKING_NUMBER.fullmatch(through_a or "")
        assert found is not None, (user, through_a)
        numbers.append(through_a)
        # Tagged with its connection i (wrk: its thread, from 1), which sends as user i mod N.
        sender = int(found.group(1)) - (1 if client == "wrk" else 0)
        assert sender % tenants == user, (user, through_a)
    assert len(set(numbers)) == tenants


def test_round_trip_bench_counts_a_bulk_against_a_baseline_and_in_tenant_mode(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    output = tmp_path / "round_trips.json"
    arguments = ["--alternations", "1", "--calls", "5", "--baseline", str(ROOT), "--tenant-mode", "--json", str(output)]
    run_bench("postgres_round_trips.py", *arguments)
    figures = json.loads(output.read_text())

    for name in ("this checkout", "this checkout, tenant mode", "baseline"):
        changing, unchanged = figures[name]["changing"], figures[name]["unchanged"]
        # A bulk writes under the lock (at least the lock, its journal entry and the commit) ...
        assert changing["under_lock"] >= 3
        assert changing["round_trips"] > changing["under_lock"]
        # ... and one that changes its items and order does more than one that changes nothing.
        assert changing["under_lock"] > unchanged["under_lock"]
        assert figures[name]["fastest_us_per_bulk"] > 0
    # The same code on both sides: the same counts.
    assert figures["this checkout"]["changing"] == figures["baseline"]["changing"]
