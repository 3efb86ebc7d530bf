"""Throughput of the bulk endpoint against the framework ceiling and a peer.

    python bench/throughput.py [--rounds 5] [--seconds 5] [--no-prism]
        [--baseline CHECKOUT] [--serve-only]

Servers measured side by side in interleaved rounds (median of the rounds),
all on 127.0.0.1 with the same load (wrk, 2 threads, 16 connections, the
documented 3-item body):

- emulator, image config: ``omnitron-mock serve`` as the Docker image runs it
  (the Dockerfile's ``CMD`` and ``OMNITRON_MOCK_*`` variables, read from it:
  2 worker processes, state shared in SQLite);
- emulator, serve 1 process (memory): ``omnitron-mock serve`` with its
  defaults, as a developer starts it;
- emulator, gunicorn: 2 sync workers on SQLite (``omnitron_mock.wsgi:application``,
  still offered to those who run gunicorn themselves);
- bare: a Flask endpoint returning the emulator's answer as static bytes (the
  framework ceiling), on each of these three servers with the same settings;
- Prism (``@stoplight/prism-cli``, installed into a temporary folder) mocking
  our own ``contracts/openapi.json``, at ``-v error`` and at its default
  logging; skipped with a message when npm cannot install it.

``--baseline CHECKOUT`` adds the emulator of another checkout of this
repository (say, ``git worktree add /tmp/before main~3``), served as
``serve 1 process (memory)`` is, to the same interleaved rounds: a change's
effect on the ratio to bare Flask, before and after, measured in one run.
``--serve-only`` leaves out the image and gunicorn configurations.

waitress keeps connections alive; gunicorn's sync workers answer
``Connection: close``, so wrk reconnects for every request there. Each
emulator is compared with bare Flask on the same server; the Prism figures are
for orientation.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
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
    image_serve,
    image_serve_config,
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
IMAGE = "emulator, image config"
SERVE = "emulator, serve 1 process (memory)"
BASELINE = "baseline, serve 1 process (memory)"
GUNICORN = "emulator, gunicorn 2 sync workers"
# Each emulator and the bare Flask server it is compared with.
CEILINGS = {
    IMAGE: "bare, image config",
    SERVE: "bare, serve 1 process",
    GUNICORN: "bare, gunicorn 2 sync workers",
}
# A baseline checkout's emulator is served as SERVE is, and compared with the same bare server.
BASELINE_CEILING = CEILINGS[SERVE]


def serve_bare(port: int, workers: int) -> None:
    """The bare Flask app on the emulator's own server code, as ``serve`` runs it."""
    from bare_app import app
    from omnitron_mock.serving import HTTPServer, listening_socket, run_workers

    if workers == 1:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        HTTPServer(app, host="127.0.0.1", port=port).serve_forever()
        return
    sock = listening_socket("127.0.0.1", port)
    run_workers(workers, lambda: HTTPServer(app, sock=sock).serve_forever())


def bare_on_serve(workers: int) -> tuple[list[str], int]:
    port = free_port()
    return [sys.executable, str(Path(__file__).resolve()), "--serve-bare", str(port), str(workers)], port


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
    parser.add_argument("--baseline", type=Path, help="a checkout whose emulator is measured beside this one")
    parser.add_argument("--serve-only", action="store_true", help="leave out the image and gunicorn configurations")
    parser.add_argument("--json", type=Path, help="where to write the figures (default bench/results/throughput.json)")
    parser.add_argument("--serve-bare", nargs=2, type=int, metavar=("PORT", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(*args.serve_bare)
        return

    work = Path(tempfile.mkdtemp(prefix="omnitron-bench-"))
    openapi = work / "openapi.json"
    openapi.write_text(
        subprocess.run(
            [sys.executable, "-m", "omnitron_mock", "openapi"], capture_output=True, text=True, check=True
        ).stdout
    )
    # Prism is compared with the image's bare server, which --serve-only leaves out.
    prism = None if args.no_prism or args.serve_only else install_prism(work / "prism")

    image_command, image_env, image_port = image_serve(work / "image.db")
    image_workers = int(image_env.get("OMNITRON_MOCK_WORKERS", "1"))
    serve_port = free_port()
    gunicorn_command, gunicorn_port = gunicorn("omnitron_mock.wsgi:application", 2)
    env_bare = {"PYTHONPATH": str(ROOT / "bench")}
    # name: (command, environment, port)
    servers: dict[str, tuple[list[str], dict[str, str], int]] = {
        IMAGE: (image_command, image_env, image_port),
        CEILINGS[IMAGE]: _with_env(bare_on_serve(image_workers), env_bare),
        SERVE: ([sys.executable, "-m", "omnitron_mock", "serve", "--port", str(serve_port)], {}, serve_port),
        CEILINGS[SERVE]: _with_env(bare_on_serve(1), env_bare),
        GUNICORN: (gunicorn_command, {"OMNITRON_MOCK_DB": str(work / "gunicorn.db")}, gunicorn_port),
        CEILINGS[GUNICORN]: _with_env(gunicorn("bare_app:app", 2), env_bare),
    }
    if args.serve_only:
        for name in (IMAGE, GUNICORN):
            del servers[CEILINGS[name]], servers[name]
    if args.baseline is not None:
        checkout = args.baseline.resolve()
        # Its own packages first on the path: the installed ones are this checkout's.
        path = f"{checkout / 'mockserver'}:{checkout / 'pytest_plugin'}:{checkout}"
        port = free_port()
        command = [sys.executable, "-m", "omnitron_mock", "serve", "--port", str(port)]
        servers[BASELINE] = (command, {"PYTHONPATH": path}, port)
    targets: dict[str, str] = {}
    startup: dict[str, float] = {}
    with contextlib.ExitStack() as running:
        for name, (command, env, port) in servers.items():
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

    if not args.serve_only:
        startup.update(measure_startup(work))
    medians = {name: median(rates) for name, rates in results.items()}
    ratios = {name: rate / medians[_ceiling(name)] for name, rate in medians.items()}
    rows = [[name, rate, ratios[name]] for name, rate in medians.items()]
    print()
    print(table(["server", "median req/s", "x bare Flask, same server"], rows))
    image_cmd, image_vars = image_serve_config()
    figures = {
        "settings": {
            "rounds": args.rounds,
            "seconds": args.seconds,
            "connections": CONNECTIONS,
            "wrk": bool(shutil.which("wrk")),
            "baseline": str(args.baseline) if args.baseline else None,
        },
        "image_config": {"cmd": image_cmd, "env": image_vars},
        "req_per_s": medians,
        "ratio_to_bare_same_server": ratios,
        "rounds": results,
        "startup_to_first_200_s": startup,
    }
    if BASELINE in results:
        # Rounds interleave the servers: each round's ratio compares servers under the same load.
        per_round = [new / old for new, old in zip(results[SERVE], results[BASELINE], strict=True)]
        figures["emulator_over_baseline_per_round_median"] = median(per_round)
        print(f"\nthis checkout / baseline, median of the rounds' ratios: {median(per_round):.2f}x")
    fastest_prism = max((rate for name, rate in medians.items() if name.startswith("prism")), default=None)
    if fastest_prism:
        figures["emulator_over_fastest_prism"] = medians[IMAGE] / fastest_prism
        print(f"\nemulator (image config) / fastest Prism: {figures['emulator_over_fastest_prism']:.2f}x")
    print("\nstart-up, spawn to first 200 (s): " + ", ".join(f"{k} {v:.2f}" for k, v in startup.items()))
    print(f"\nwrote {save('throughput', figures, args.json)}")
    shutil.rmtree(work, ignore_errors=True)


def _with_env(command_and_port: tuple[list[str], int], env: dict[str, str]) -> tuple[list[str], dict[str, str], int]:
    command, port = command_and_port
    return command, env, port


def _ceiling(name: str) -> str:
    """The bare server a server is compared with: the one on the same server (Prism: the image's)."""
    if name.startswith("prism"):
        return CEILINGS[IMAGE]
    if name == BASELINE:
        return BASELINE_CEILING
    return CEILINGS.get(name, name)


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
    found: dict[str, list[float]] = {
        "omnitron-mock serve": [],
        "image config (serve, 2 workers, SQLite)": [],
        "gunicorn emulator (2 workers, SQLite)": [],
    }
    for attempt in range(5):
        port = free_port()
        commands = [
            ("omnitron-mock serve", [sys.executable, "-m", "omnitron_mock", "serve", "--port", str(port)], {}, port),
            ("image config (serve, 2 workers, SQLite)", *image_serve(work / f"startup-image-{attempt}.db")),
        ]
        gunicorn_command, gunicorn_port = gunicorn("omnitron_mock.wsgi:application", 2)
        gunicorn_env = {"OMNITRON_MOCK_DB": str(work / f"startup-{attempt}.db")}
        commands.append(("gunicorn emulator (2 workers, SQLite)", gunicorn_command, gunicorn_env, gunicorn_port))
        for name, command, env, server_port in commands:
            started = time.perf_counter()
            with process(command, env):
                wait_for(f"http://127.0.0.1:{server_port}{BULK_PATH}", method="PATCH", body=BODY, headers=HEADERS)
                found[name].append(time.perf_counter() - started)
    return {name: median(times) for name, times in found.items()}


if __name__ == "__main__":
    main()
