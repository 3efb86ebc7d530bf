"""What the installed plugin adds to every pytest run that does not use it.

pytest loads the ``omnitron`` plugin (the ``pytest11`` entry point) in every
project whose environment has omnitron-mock installed, whether or not a test
asks for the fixture. This times a pytest run of one trivial test that uses no
fixture, with the plugin (as installed) and with ``-p no:omnitron``,
alternating the two, and prints the median of each and their difference; and,
as a figure that machine load does not blur, the import time of the plugin's
module (``python -X importtime``) with pytest already imported.

    python bench/plugin_startup.py [--runs N] [--python PATH] [--json PATH]

``--python`` times another environment (for instance a fresh venv with only
the wheel installed); by default this interpreter's. Every other pytest plugin
installed there is turned off in both runs, so only this one is measured.
pytest rewrites the asserts of a plugin's modules and caches the result as
bytecode, as it does a project's tests; the runs may write that cache (as in a
user's venv) unless ``--dont-write-bytecode`` times the uncached case
(``PYTHONDONTWRITEBYTECODE=1``, common in containers: every run rewrites anew).
Target: under 50 ms. Nothing leaves the machine; no port is opened.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save

TARGET_MS = 50.0
LIST_PLUGINS = (
    "from importlib.metadata import entry_points\n"
    "print('\\n'.join(sorted({f'{e.name}={e.module}' for e in entry_points(group='pytest11')})))\n"
)


def installed_plugins(python: str) -> dict[str, str]:
    """Every pytest plugin installed for ``python``: entry point name -> module."""
    listed = subprocess.run([python, "-c", LIST_PLUGINS], capture_output=True, text=True, check=True, timeout=60)
    plugins = dict(line.split("=", 1) for line in listed.stdout.split())
    if "omnitron" not in plugins:
        raise SystemExit(f"{python} has no omnitron pytest plugin installed")
    return plugins


def pytest_run_seconds(command: list[str], folder: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - started
    if result.returncode != 0 or "1 passed" not in result.stdout:
        raise RuntimeError(f"{command} failed:\n{result.stdout}\n{result.stderr}")
    return elapsed


def plugin_import_ms(python: str, module: str, env: dict[str, str]) -> float:
    """Cumulative import time of the entry point's module and what it pulls in, pytest already imported."""
    # An import statement: -X importtime does not report importlib.import_module.
    command = [python, "-X", "importtime", "-c", f"import pytest; import {module}"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=60)
    for line in result.stderr.splitlines():
        _, _, cumulative, name = (part.strip() for part in line.replace("|", ":", 2).split(":"))
        if name == module:
            return int(cumulative) / 1000
    raise RuntimeError(f"{module} not imported:\n{result.stderr[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=31, help="runs of each variant (default 31)")
    parser.add_argument("--python", default=sys.executable, help="interpreter of the environment to time")
    parser.add_argument(
        "--dont-write-bytecode", action="store_true", help="time with PYTHONDONTWRITEBYTECODE=1 (no bytecode cache)"
    )
    parser.add_argument(
        "--json", type=Path, help="where to write the figures (default bench/results/plugin_startup.json)"
    )
    args = parser.parse_args()

    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    if args.dont_write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    plugins = installed_plugins(args.python)
    others = [option for name in sorted(plugins) if name != "omnitron" for option in ("-p", f"no:{name}")]
    base = [args.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *others]
    variants = {"with_plugin": base, "without_plugin": [*base, "-p", "no:omnitron"]}
    samples: dict[str, list[float]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory(prefix="omnitron-startup-") as folder:
        Path(folder, "test_unrelated.py").write_text("def test_unrelated():\n    assert 1 + 1 == 2\n")
        for command in variants.values():  # warm the file system cache and the .pyc files
            pytest_run_seconds(command, folder, env)
        for _ in range(args.runs):
            for name, command in variants.items():
                samples[name].append(pytest_run_seconds(command, folder, env))

    with_plugin = statistics.median(samples["with_plugin"]) * 1000
    without_plugin = statistics.median(samples["without_plugin"]) * 1000
    pairs = zip(samples["with_plugin"], samples["without_plugin"], strict=True)
    figures: dict[str, float | bool] = {
        "runs_each": args.runs,
        "bytecode_cache": not args.dont_write_bytecode,
        "pytest_run_with_plugin_ms": with_plugin,
        "pytest_run_with_p_no_omnitron_ms": without_plugin,
        "plugin_startup_cost_ms": with_plugin - without_plugin,
        # Each run beside the one just before it: less blurred by the machine's load drifting.
        "median_paired_difference_ms": statistics.median(a - b for a, b in pairs) * 1000,
        "plugin_module_import_ms": statistics.median(
            plugin_import_ms(args.python, plugins["omnitron"], env) for _ in range(args.runs)
        ),
        "target_ms": TARGET_MS,
    }
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value!s:>10}" if isinstance(value, bool) else f"{name:<{width}}  {value:10.1f}")
    verdict = "within" if figures["plugin_startup_cost_ms"] < TARGET_MS else "OVER"
    print(f"\nthe plugin adds {figures['plugin_startup_cost_ms']:.1f} ms: {verdict} the {TARGET_MS:.0f} ms target")
    print(f"wrote {save('plugin_startup', figures, args.json)}")


if __name__ == "__main__":
    main()
