"""Test-kit overhead: session start-up, per-test reset, one bulk call live vs in-process.

Run from a checkout with the package installed:

    python bench/plugin_overhead.py [--json PATH]

All traffic goes to 127.0.0.1; every loop is bounded. Figures are medians of
one run on this machine; compare them as ratios, not across machines.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save
from omnitron_mock import DEV_PASSWORD, DEV_TOKEN, DEV_USERNAME, Settings
from omnitron_mock_pytest.handle import Credentials, EmulatorHandle
from omnitron_mock_pytest.sessions import InProcessEmulator, LiveEmulator

CREDENTIALS = Credentials(DEV_USERNAME, DEV_PASSWORD, DEV_TOKEN)
BODY = {"orderitem_set": [{"id": 1, "status": "450"}, {"id": 2, "status": "500", "tracking_number": "T2"}]}


def median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


def time_calls(function: Any, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return samples


def cold_start_seconds(repeat: int) -> list[float]:
    """Process spawn to the first 200 from a live emulator, as a plugin session starts one."""
    script = textwrap.dedent(
        """
        import requests
        from omnitron_mock import Settings, DEV_USERNAME, DEV_PASSWORD, DEV_TOKEN
        from omnitron_mock_pytest.handle import Credentials, EmulatorHandle
        from omnitron_mock_pytest.sessions import LiveEmulator
        emulator = LiveEmulator.start(Settings(), Credentials(DEV_USERNAME, DEV_PASSWORD, DEV_TOKEN))
        assert requests.get(emulator.server.url + "/_mock/health", timeout=10).status_code == 200
        emulator.stop()
        """
    )
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
        samples.append(time.perf_counter() - started)
    return samples


def bare_python_seconds(repeat: int) -> list[float]:
    return time_calls(lambda: subprocess.run([sys.executable, "-c", "import requests"], check=True, timeout=60), repeat)


def time_bulks(handle: EmulatorHandle, repeat: int) -> list[float]:
    with requests.Session() as session:
        url = f"{handle.base_url}/order_items/bulk_status_update/"
        return time_calls(lambda: session.patch(url, json=BODY, headers=handle.headers, timeout=10), repeat)


def bulk_live(repeat: int) -> list[float]:
    emulator = LiveEmulator.start(Settings(), CREDENTIALS)
    try:
        return time_bulks(emulator.handle(), repeat)
    finally:
        emulator.stop()


def bulk_inprocess(repeat: int) -> list[float]:
    emulator = InProcessEmulator.start(Settings(), CREDENTIALS)
    transport = emulator.transport().start()
    try:
        return time_bulks(emulator.handle(), repeat)
    finally:
        transport.stop()


def reset(repeat: int) -> list[float]:
    handle = InProcessEmulator.start(Settings(), CREDENTIALS).handle()
    return time_calls(handle.reset, repeat)


def pytest_suite_seconds(tests: int, with_fixture: bool, mode: str) -> float:
    """Wall time of a pytest run of ``tests`` trivial tests, with or without the fixture."""
    argument = "omnitron" if with_fixture else ""
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "test_many.py").write_text(
            "\n".join(f"def test_{i}({argument}):\n    pass\n" for i in range(tests))
        )
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--omnitron-mode", mode],
            cwd=folder,
            check=True,
            capture_output=True,
            timeout=300,
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--json", type=Path, help="where to write the figures (default bench/results/plugin_overhead.json)"
    )
    parser.add_argument("--tests", type=int, default=300, help="tests in the synthetic suite (default 300)")
    args = parser.parse_args()

    bare = statistics.median(bare_python_seconds(5))
    cold = statistics.median(cold_start_seconds(5))
    figures: dict[str, float] = {
        "python_with_requests_import_ms": bare * 1000,
        "session_cold_start_ms": cold * 1000,
        "session_start_over_bare_python_ms": (cold - bare) * 1000,
        "reset_default_seed_us": median_us(reset(2000)),
        "bulk_live_us": median_us(bulk_live(500)),
        "bulk_inprocess_us": median_us(bulk_inprocess(500)),
    }
    figures["bulk_inprocess_over_live"] = figures["bulk_inprocess_us"] / figures["bulk_live_us"]
    for mode in ("live", "inprocess"):
        plain = min(pytest_suite_seconds(args.tests, False, mode) for _ in range(3))
        with_fixture = min(pytest_suite_seconds(args.tests, True, mode) for _ in range(3))
        figures[f"per_test_overhead_{mode}_us"] = (with_fixture - plain) / args.tests * 1e6
        figures[f"suite_with_fixture_over_plain_{mode}"] = with_fixture / plain

    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value:10.2f}")
    print(f"\nwrote {save('plugin_overhead', figures, args.json)}")


if __name__ == "__main__":
    main()
