"""Throughput of the bulk endpoint against the framework ceiling and a peer.

    python bench/throughput.py [--rounds 5] [--seconds 5] [--no-prism]

Servers measured side by side in interleaved rounds (median of the rounds),
all on 127.0.0.1 with the same load (wrk, 2 threads, 16 connections, the
documented 3-item body):

- emulator: gunicorn, 2 sync workers, state shared in SQLite
  (``mockserver.wsgi:application``), as the Docker image runs it;
- emulator (memory): the same with the in-memory store (each worker then
  keeps its own state: a speed reference, not a configuration to use);
- bare: a Flask endpoint returning the emulator's answer as static bytes,
  on the same gunicorn settings (the framework ceiling);
- each gunicorn server twice: with the image's own flags (the Dockerfile's
  CMD: an access log line per request) and without them;
- Prism (``@stoplight/prism-cli``, installed into a temporary folder) mocking
  our own ``contracts/openapi.json``, at ``-v error`` and at its default
  logging; skipped with a message when npm cannot install it.

gunicorn's sync workers answer ``Connection: close``, so wrk reconnects for
every request there; Prism keeps connections alive. Each emulator is compared
with bare Flask on equal settings; the Prism figures are for orientation.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    BULK_PATH,
    DEV_TOKEN,
    DOCUMENTED_REQUEST,
    ROOT,
    free_port,
    gunicorn,
    image_gunicorn_flags,
    load,
    median,
    process,
    save,
    table,
    wait_for,
)

BODY = json.dumps(DOCUMENTED_REQUEST).encode()
HEADERS = {"Authorization": f"Token {DEV_TOKEN}", "Content-Type": "application/json"}
CONNECTIONS = 16


def install_prism(folder: Path) -> Path | None:
    if not shutil.which("npm"):
        print("Prism skipped: npm is not installed")
        return None
    result = subprocess.run(
        ["npm", "install", "--prefix", str(folder), "--no-audit", "--no-fund", "@stoplight/prism-cli@5"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    binary = folder / "node_modules" / ".bin" / "prism"
    if result.returncode != 0 or not binary.exists():
        print(f"Prism skipped: npm could not install it:\n{result.stderr[-1500:]}")
        return None
    return binary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--no-prism", action="store_true", help="leave the peer out")
    parser.add_argument("--json", type=Path, help="where to write the figures (default bench/results/throughput.json)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="omnitron-bench-"))
    openapi = work / "openapi.json"
    openapi.write_text(
        subprocess.run(
            [sys.executable, "-m", "mockserver", "openapi"], capture_output=True, text=True, check=True
        ).stdout
    )
    prism = None if args.no_prism else install_prism(work / "prism")

    env_bare = {"PYTHONPATH": str(ROOT / "bench")}
    # name: (app, access log as in the image, environment)
    servers = {
        "emulator, image flags": ("mockserver.wsgi:application", True, {"OMNITRON_MOCK_DB": str(work / "image.db")}),
        "bare, image flags": ("bare_app:app", True, env_bare),
        "emulator": ("mockserver.wsgi:application", False, {"OMNITRON_MOCK_DB": str(work / "emulator.db")}),
        "emulator (memory)": ("mockserver.wsgi:application", False, {"OMNITRON_MOCK_DB": ""}),
        "bare": ("bare_app:app", False, env_bare),
    }
    targets: dict[str, str] = {}
    startup: dict[str, float] = {}
    with contextlib.ExitStack() as running:
        for name, (app, image_flags, env) in servers.items():
            command, port = gunicorn(app, 2, image_flags)
            running.enter_context(process(command, env))
            url = f"http://127.0.0.1:{port}{BULK_PATH}"
            wait_for(url, method="PATCH", body=BODY, headers=HEADERS)
            targets[name] = url
        prism_servers = []
        if prism is not None:
            for label, verbosity in (("prism -v error", ["-v", "error"]), ("prism default", [])):
                port = free_port()
                command = [str(prism), "mock", "-h", "127.0.0.1", "-p", str(port), *verbosity, str(openapi)]
                prism_servers.append((label, port, command))
        with _prism_servers(prism_servers, targets, startup):
            results: dict[str, list[float]] = {name: [] for name in targets}
            for round_index in range(args.rounds):
                for name, url in targets.items():
                    rate = load(url, "PATCH", BODY, HEADERS, args.seconds, CONNECTIONS)
                    results[name].append(rate)
                print(f"round {round_index + 1}: " + ", ".join(f"{n} {r[-1]:,.0f}/s" for n, r in results.items()))

    startup.update(measure_startup(work))
    medians = {name: median(rates) for name, rates in results.items()}
    ratios = {name: rate / medians[_ceiling(name)] for name, rate in medians.items()}
    rows = [[name, rate, ratios[name]] for name, rate in medians.items()]
    print()
    print(table(["server", "median req/s", "x bare Flask, same flags"], rows))
    figures = {
        "settings": {
            "rounds": args.rounds,
            "seconds": args.seconds,
            "connections": CONNECTIONS,
            "wrk": bool(shutil.which("wrk")),
        },
        "image_flags": image_gunicorn_flags(),
        "req_per_s": medians,
        "ratio_to_bare_same_flags": ratios,
        "rounds": results,
        "startup_to_first_200_s": startup,
    }
    fastest_prism = max((rate for name, rate in medians.items() if name.startswith("prism")), default=None)
    if fastest_prism:
        figures["emulator_over_fastest_prism"] = medians["emulator, image flags"] / fastest_prism
        print(f"\nemulator (image flags) / fastest Prism: {figures['emulator_over_fastest_prism']:.2f}x")
    print("\nstart-up, spawn to first 200 (s): " + ", ".join(f"{k} {v:.2f}" for k, v in startup.items()))
    print(f"\nwrote {save('throughput', figures, args.json)}")
    shutil.rmtree(work, ignore_errors=True)


def _ceiling(name: str) -> str:
    """The bare server a server is compared with: the one with the same gunicorn flags."""
    if name.startswith("prism"):
        return "bare"
    return "bare, image flags" if name.endswith("image flags") else "bare"


class _prism_servers:
    """Start each Prism, wait for its first 200, and add it to the targets."""

    def __init__(
        self, servers: list[tuple[str, int, list[str]]], targets: dict[str, str], startup: dict[str, float]
    ) -> None:
        self.servers, self.targets, self.startup = servers, targets, startup
        self._contexts: list = []

    def __enter__(self) -> None:
        for label, port, command in self.servers:
            context = process(command)
            context.__enter__()
            self._contexts.append(context)
            started = time.perf_counter()
            # Prism serves the document's paths without the servers' base path.
            url = f"http://127.0.0.1:{port}{BULK_PATH.removeprefix('/api/i1')}"
            wait_for(url, deadline=120, method="PATCH", body=BODY, headers=HEADERS)
            self.targets[label] = url
            self.startup[label] = time.perf_counter() - started

    def __exit__(self, *exc: object) -> None:
        for context in reversed(self._contexts):
            context.__exit__(None, None, None)


def measure_startup(work: Path) -> dict[str, float]:
    """Process spawn to the first 200 of the documented bulk, median of 5."""
    found: dict[str, list[float]] = {"omnitron-mock serve": [], "gunicorn emulator (2 workers, SQLite)": []}
    for attempt in range(5):
        port = free_port()
        started = time.perf_counter()
        with process([sys.executable, "-m", "mockserver", "serve", "--port", str(port)]):
            wait_for(f"http://127.0.0.1:{port}{BULK_PATH}", method="PATCH", body=BODY, headers=HEADERS)
            found["omnitron-mock serve"].append(time.perf_counter() - started)
        command, port = gunicorn("mockserver.wsgi:application", 2)
        started = time.perf_counter()
        with process(command, {"OMNITRON_MOCK_DB": str(work / f"startup-{attempt}.db")}):
            wait_for(f"http://127.0.0.1:{port}{BULK_PATH}", method="PATCH", body=BODY, headers=HEADERS)
            found["gunicorn emulator (2 workers, SQLite)"].append(time.perf_counter() - started)
    return {name: median(times) for name, times in found.items()}


if __name__ == "__main__":
    main()
