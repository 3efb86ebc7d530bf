"""One bulk through the whole WSGI app, this checkout against another.

    python bench/pipeline_overhead.py --baseline CHECKOUT [--alternations 8] [--calls 500]

No server and no socket: the documented 3-item bulk goes straight into each
emulator (memory store), host check, pipeline, journal and all. The two
checkouts run in alternating processes, each timing rounds of ``--calls``
bulks and keeping its fastest round; the figure is the fastest of all its
processes. On a shared machine the fastest round is the one least disturbed,
so it compares the code's own cost. A checkout is any tree of this
repository, such as ``git worktree add /tmp/before main~3``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DOCUMENTED_REQUEST, bulk_environ, save, table

ROUNDS = 15


def time_one_process(calls: int) -> float:
    """The fastest round's µs per bulk, for the emulator importable here."""
    from omnitron_mock import create_app

    body = json.dumps(DOCUMENTED_REQUEST).encode()
    app = create_app()

    def start_response(*_args: object) -> None:
        return None

    fastest = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(calls):
            b"".join(app(bulk_environ(body), start_response))
        fastest = min(fastest, (time.perf_counter() - started) / calls * 1e6)
    return fastest


def measure(checkout: Path | None, calls: int) -> float:
    environment = dict(os.environ)
    if checkout is not None:
        # The baseline's packages first on the path: the installed ones are this checkout's.
        parts = (checkout / "mockserver", checkout / "pytest_plugin", checkout)
        environment["PYTHONPATH"] = os.pathsep.join(str(part) for part in parts)
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--one-process", str(calls)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
        check=True,
    )
    return float(result.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="the checkout to compare with")
    parser.add_argument("--alternations", type=int, default=8)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument(
        "--json", type=Path, help="where to write the figures (default bench/results/pipeline_overhead.json)"
    )
    parser.add_argument("--one-process", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_process:
        print(f"{time_one_process(args.one_process):.2f}")
        return
    if args.baseline is None:
        parser.error("--baseline CHECKOUT is required")
    baseline = args.baseline.resolve()
    this, other = [], []
    for _ in range(args.alternations):
        this.append(measure(None, args.calls))
        other.append(measure(baseline, args.calls))
        print(f"this checkout {this[-1]:.1f} µs, baseline {other[-1]:.1f} µs")
    rows = [["this checkout", min(this)], ["baseline", min(other)]]
    print()
    print(table(["emulator (memory)", "fastest µs per bulk"], rows))
    print(f"\nthis checkout / baseline: {min(this) / min(other):.3f}x")
    figures = {
        "settings": {"alternations": args.alternations, "calls": args.calls, "rounds": ROUNDS},
        "baseline": str(baseline),
        "fastest_us_per_bulk": {"this checkout": min(this), "baseline": min(other)},
        "ratio": min(this) / min(other),
        "processes": {"this checkout": this, "baseline": other},
    }
    print(f"\nwrote {save('pipeline_overhead', figures, args.json)}")


if __name__ == "__main__":
    main()
