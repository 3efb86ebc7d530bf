"""Shared store (issue 17): bulk throughput and latency on PostgreSQL beside
SQLite and memory, and from one emulator replica to two on one database.

    python bench/shared_store.py [--rounds 5] [--seconds 5] [--connections 16]
        [--threads 8] [--warm-up 1] [--client auto|wrk|python] [--max-requests N]
        [--baseline CHECKOUT] [--tenants N] [--pg-setting NAME=VALUE ...] [--json PATH]

It starts its own PostgreSQL (Debian's ``postgresql``, ``initdb`` into a
temporary folder, on a free port: tests/postgres.py's starter) and these
``omnitron-mock serve --port 0`` processes on 127.0.0.1, each one process of
``--threads`` threads (8, serve's default) on the startup seed:

- ``memory``: no ``--db``;
- ``sqlite``: ``--db`` a file in a temporary folder;
- ``postgres``: ``--db postgresql://…``, replica A of the next row;
- ``postgres, 2 replicas``: replicas A and B on that one database, the
  connections spread over them (connection i to replica i mod 2, as a
  round-robin TCP balancer would place them).

Every row gets the same load (bench/bulk_load.py: wrk, or Python threads
without it; ``--connections`` closed-loop connections, the documented 3-item
bulk with new tracking numbers each time), for ``--seconds`` per round, in
interleaved rounds whose order rotates; the figures are the medians of the
rounds, and each ratio is the median of the rounds' own ratios.

``--baseline CHECKOUT`` adds another checkout's emulator on PostgreSQL
(replica A alone and A+B, on a database of their own) to the same rounds:
a change to the PostgreSQL store, before and after, in one run.

``--tenants N`` adds tenant mode (``serve --tenant-per-user``) on a database
of its own, to the same rounds:

- ``postgres, tenant mode``: replica C, its startup seed the default seed's
  orders and N users with tokens of their own (bench/tenant_worlds.py);
  connection i sends its bulks with user i mod N's token, so to that user's
  world (a PostgreSQL schema with its own write lock);
- ``postgres, tenant mode, 2 replicas``: replicas C and D on that database,
  connection i to replica i mod 2 as above (with N even, each user's
  connections all reach one replica).

wrk then runs one thread per (replica, user) pair, lcm(2, N) threads, for
every row of the run alike (bench/bulk_load.py); ``--connections`` must be a
multiple of that. Each world gets its first bulk before the rounds (that
makes its schema), and is read back after them through both replicas.

PostgreSQL runs with ``fsync=on`` and ``synchronous_commit=off``: SQLite's
guarantee here (WAL, ``synchronous=NORMAL``), a crash of the machine may lose
the newest commits but corrupts nothing. ``--pg-setting`` changes any setting
(``synchronous_commit=on`` makes every commit wait for its WAL flush).

Replicas on one machine share its cores with PostgreSQL and the load
generator: the output names the core count, read the replica figures with it.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import cpu_use
from bulk_load import LoadResult, run_load
from common import DEV_TOKEN, Served, median, save, serving_all, table
from tenant_worlds import open_worlds, serve_options, tokens, tracking_numbers

from tests.postgres import running_postgres

MEMORY = "memory"
SQLITE = "sqlite"
POSTGRES = "postgres"
POSTGRES_2 = "postgres, 2 replicas"
BASELINE = "baseline postgres"
BASELINE_2 = "baseline postgres, 2 replicas"
TENANTS = "postgres, tenant mode"
TENANTS_2 = "postgres, tenant mode, 2 replicas"
# Durable as the SQLite store is (see the module's docstring); the tests' server runs without fsync.
PG_SETTINGS = {"fsync": "on", "synchronous_commit": "off"}


def serve_command(db: str | None, threads: int) -> list[str]:
    command = [sys.executable, "-m", "omnitron_mock", "serve", "--host", "127.0.0.1", "--port", "0"]
    command += ["--threads", str(threads)]
    return command if db is None else [*command, "--db", db]


def checkout_env(checkout: Path) -> dict[str, str]:
    """Another checkout's packages first on the path: the installed ones are this checkout's."""
    return {"PYTHONPATH": f"{checkout / 'mockserver'}:{checkout / 'pytest_plugin'}:{checkout}"}


def cores() -> dict[str, int | None]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu_count": os.cpu_count(), "usable_by_this_process": usable}


def parse_settings(pairs: list[str]) -> dict[str, str]:
    settings = dict(PG_SETTINGS)
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator:
            raise SystemExit(f"--pg-setting wants NAME=VALUE, got {pair!r}")
        settings[name] = value
    return settings


def tenant_journal_quota(args: argparse.Namespace) -> int:
    """More than every request the run can send one tenant (each run's cap and
    its connections in flight, the warm-up, the probes): a full journal would
    refuse the tenant's calls (403) mid-run, where the single world trims its own."""
    runs = 2 * (args.rounds + 1)
    return runs * (args.max_requests + args.connections) + 2 * args.tenants + 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=8, help="each emulator process's threads (serve --threads)")
    parser.add_argument("--warm-up", type=float, default=1.0, help="seconds of load per row before the rounds")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--max-requests", type=int, default=200_000, help="a run's request cap (a safety bound)")
    parser.add_argument("--baseline", type=Path, help="a checkout whose emulator is measured on PostgreSQL beside")
    parser.add_argument(
        "--tenants", type=int, default=0, metavar="N", help="add tenant-mode rows with N users (0: none)"
    )
    parser.add_argument("--pg-setting", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument(
        "--json", type=Path, help="where to write the figures (default bench/results/shared_store.json)"
    )
    args = parser.parse_args()
    settings = parse_settings(args.pg_setting)
    if args.tenants < 0:
        parser.error("--tenants wants 0 (no tenant rows) or more users")
    users = tokens(args.tenants)
    # Every row's wrk alike: a thread per (replica, user) pair of the tenant rows.
    wrk_threads = max(2, math.lcm(2, args.tenants)) if args.tenants else None
    if wrk_threads and args.connections % wrk_threads:
        parser.error(f"--tenants {args.tenants}: --connections must be a multiple of lcm(2, N) = {wrk_threads}")
    found_cores = cores()
    print(
        f"cores: {found_cores['usable_by_this_process']} (os.cpu_count {found_cores['cpu_count']}), shared by "
        "PostgreSQL, every emulator process and the load generator",
        flush=True,
    )

    with contextlib.ExitStack() as running, tempfile.TemporaryDirectory(prefix="omnitron-shared-bench-") as work:
        server = running.enter_context(running_postgres(settings))
        version, port = server.run("postgres", "--version").stdout.strip(), server.port
        print(f"{version} on port {server.port}, settings {settings}", flush=True)
        shared = server.create_database("shared")
        commands: list[tuple[list[str], dict[str, str] | None]] = [
            (serve_command(None, args.threads), None),
            (serve_command(str(Path(work) / "bench.db"), args.threads), None),
            (serve_command(shared, args.threads), None),
            (serve_command(shared, args.threads), None),
        ]
        if args.baseline is not None:
            environment = checkout_env(args.baseline.resolve())
            before = server.create_database("baseline")
            commands += [
                (serve_command(before, args.threads), environment),
                (serve_command(before, args.threads), environment),
            ]
        probes: list[str | None] = [None] * len(commands)
        if args.tenants:
            tenant_db = server.create_database("tenants")
            options = serve_options(Path(work), args.tenants, tenant_journal_quota(args))
            commands += [([*serve_command(tenant_db, args.threads), *options], None)] * 2
            probes += [users[0]] * 2
        started = running.enter_context(serving_all(commands, probe_tokens=probes))
        memory, sqlite, replica_a, replica_b = started[:4]
        servers: dict[str, list[Served]] = {
            MEMORY: [memory],
            SQLITE: [sqlite],
            POSTGRES: [replica_a],
            POSTGRES_2: [replica_a, replica_b],
        }
        if args.tenants:
            servers[TENANTS] = started[-2:-1]
            servers[TENANTS_2] = started[-2:]
        if args.baseline is not None:
            servers[BASELINE] = started[4:5]
            servers[BASELINE_2] = started[4:6]
        targets = {name: [served.url for served in row] for name, row in servers.items()}
        row_users = {TENANTS: users, TENANTS_2: users} if args.tenants else {}
        if args.tenants:
            open_worlds(targets[TENANTS_2], users)
            client = "wrk" if args.client == "wrk" or (args.client == "auto" and shutil.which("wrk")) else "python"
            print(
                f"tenant mode: {args.tenants} users, connection i with user i mod {args.tenants}'s token; "
                + (f"wrk with {wrk_threads} threads for every row" if client == "wrk" else "Python client, every row"),
                flush=True,
            )
        postmaster = cpu_use.postmaster_pid(server.data_dir) if cpu_use.available() else None

        def load(name: str, seconds: float) -> LoadResult:
            return run_load(
                targets[name],
                seconds,
                args.connections,
                args.max_requests,
                args.client,
                row_users.get(name, (DEV_TOKEN,)),
                wrk_threads,
            )

        def measured_load(name: str) -> tuple[LoadResult, dict[str, float] | None]:
            """A round's run, with the cores each part kept busy meanwhile (Linux)."""
            pids = [served.pid for served in servers[name]]
            before, started = (cpu_use.sample(pids, postmaster), time.perf_counter()) if postmaster else (None, 0.0)
            found = load(name, args.seconds)
            if before is None:
                return found, None
            return found, cpu_use.cores_busy(before, cpu_use.sample(pids, postmaster), time.perf_counter() - started)

        # Warm-up: connection pools filled, caches read, the journal started, on every row.
        if args.warm_up > 0:
            for name in targets:
                load(name, args.warm_up)
        results: dict[str, list[LoadResult]] = {name: [] for name in targets}
        busy: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        names = list(targets)
        for round_index in range(args.rounds):
            # Rotated each round: no row always runs right after the same other one.
            shift = round_index % len(names)
            for name in names[shift:] + names[:shift]:
                found, cores_busy = measured_load(name)
                if found.failed or found.socket_errors:
                    raise RuntimeError(f"{name}: {found.failed} failed answers, {found.socket_errors} socket errors")
                results[name].append(found)
                if cores_busy is not None:
                    busy[name].append(cores_busy)
            print(f"round {round_index + 1}: " + ", ".join(f"{n} {r[-1].rate:,.0f}/s" for n, r in results.items()))
        worlds = tracking_numbers(targets[TENANTS_2], users) if args.tenants else {}

    figures = {**summarise(results), **summarise_cpu(results, busy)}
    figures["cores"] = found_cores
    figures["postgres"] = {"version": version, "settings": settings, "port": port}
    figures["servers"] = targets
    figures["settings"] = {
        "rounds": args.rounds,
        "seconds": args.seconds,
        "connections": args.connections,
        "warm_up_seconds": args.warm_up,
        "client": results[MEMORY][0].client,
        "max_requests": args.max_requests,
        "serve": f"omnitron-mock serve, 1 process, {args.threads} threads, startup seed",
        "baseline": str(args.baseline) if args.baseline else None,
    }
    if args.tenants:
        figures["tenants"] = {
            "users": args.tenants,
            "connection_to_user": f"connection i: user i mod {args.tenants}",
            "journal_quota": tenant_journal_quota(args),
            # For every row of the run (None: the Python client ran them).
            "wrk_threads": wrk_threads if results[MEMORY][0].client == "wrk" else None,
            "tracking_numbers": worlds,
        }
    report(figures)
    print(f"\nwrote {save('shared_store', figures, args.json)}")


def per_round(results: dict[str, list[LoadResult]], over: str, under: str) -> float:
    """The median of the rounds' own ratios of two rows' rates (one round: the same load, the same minute)."""
    return median([a.rate / b.rate for a, b in zip(results[over], results[under], strict=True)])


def summarise(results: dict[str, list[LoadResult]]) -> dict[str, Any]:
    rows = {
        name: {
            "req_per_s": median([r.rate for r in runs]),
            "p50_ms": median([r.p50_ms for r in runs]),
            "p95_ms": median([r.p95_ms for r in runs]),
            "p99_ms": median([r.p99_ms for r in runs]),
            "answered": sum(r.answered for r in runs),
            "per_target": [sum(column) for column in zip(*(r.per_target for r in runs), strict=True)],
        }
        for name, runs in results.items()
    }
    ratios = {
        "postgres_over_sqlite": per_round(results, POSTGRES, SQLITE),
        "postgres_over_memory": per_round(results, POSTGRES, MEMORY),
        "sqlite_over_memory": per_round(results, SQLITE, MEMORY),
        "two_replicas_over_one": per_round(results, POSTGRES_2, POSTGRES),
    }
    if TENANTS in results:
        ratios["tenant_mode_over_single_world"] = per_round(results, TENANTS, POSTGRES)
        ratios["tenant_two_replicas_over_one"] = per_round(results, TENANTS_2, TENANTS)
        ratios["tenant_two_replicas_over_single_world_two"] = per_round(results, TENANTS_2, POSTGRES_2)
    if BASELINE in results:
        ratios["postgres_over_baseline"] = per_round(results, POSTGRES, BASELINE)
        ratios["two_replicas_over_baseline_two"] = per_round(results, POSTGRES_2, BASELINE_2)
        ratios["baseline_two_replicas_over_one"] = per_round(results, BASELINE_2, BASELINE)
    return {"rows": rows, "ratios": ratios, "rounds": {n: [r.as_dict() for r in runs] for n, runs in results.items()}}


def summarise_cpu(results: dict[str, list[LoadResult]], busy: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    """Cores each part kept busy (median of the rounds) and, from them, the
    CPU milliseconds one bulk cost the emulator and PostgreSQL (each round's
    cores over its rate, median of the rounds)."""
    cores_busy, cpu_ms = {}, {}
    for name, runs in busy.items():
        if not runs:
            continue
        cores_busy[name] = {part: median([run[part] for run in runs]) for part in runs[0]}
        cpu_ms[name] = {
            part: median([run[part] / found.rate * 1000 for run, found in zip(runs, results[name], strict=True)])
            for part in ("emulator", "postgres")
        }
    return {"cores_busy": cores_busy, "cpu_ms_per_bulk": cpu_ms}


def report(figures: dict[str, Any]) -> None:
    rows, ratios = figures["rows"], figures["ratios"]
    print()
    print(
        table(
            ["server", "median req/s", "p50 ms", "p95 ms", "p99 ms", "answered per replica"],
            [
                [name, row["req_per_s"], row["p50_ms"], row["p95_ms"], row["p99_ms"], row["per_target"]]
                for name, row in rows.items()
            ],
        )
    )
    if figures["cores_busy"]:
        parts = ["emulator", "postgres", "load_generator", "other"]
        print(f"\ncores kept busy (of {figures['cores']['usable_by_this_process']}), and CPU ms per bulk:")
        print(
            table(
                ["server", *(part.replace("_", " ") for part in parts), "emulator ms/bulk", "postgres ms/bulk"],
                [
                    [name, *(row[part] for part in parts), *figures["cpu_ms_per_bulk"][name].values()]
                    for name, row in figures["cores_busy"].items()
                ],
            )
        )
    print("\nmedian of the rounds' ratios:")
    for name, value in ratios.items():
        print(f"  {name.replace('_', ' ')}: {value:.2f}x")
    usable = figures["cores"]["usable_by_this_process"]
    print(
        f"\n{usable} cores ran PostgreSQL, both replicas and the load generator: a second replica adds a "
        "process, not a core, and every bulk still takes the one write lock in PostgreSQL."
    )
    if "tenants" in figures:
        print(
            f"Tenant mode: each of the {figures['tenants']['users']} users' bulks take their own world's lock "
            f"({figures['tenants']['connection_to_user']}; the {figures['settings']['client']} client for every "
            "row alike)."
        )


if __name__ == "__main__":
    main()
