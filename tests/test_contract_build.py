"""The generator of contracts/bundles/ and contracts/types/, run as a developer runs it:
``python -m omnitron_mock.contracts.build [--check] [--root DIR]``.

Every test but the first works on a copy of contracts/, so the checkout is
never written."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import docs
from tests.docs import Block

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / "contracts"
BUILD = [sys.executable, "-m", "omnitron_mock.contracts.build"]


def build(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BUILD, *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


def copy_contracts(tmp_path: Path) -> Path:
    target = tmp_path / "contracts"
    shutil.copytree(CONTRACTS, target)
    return target


def snapshot(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def test_the_committed_files_are_what_the_sources_give() -> None:
    result = build("--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("generated files in contracts/ are up to date")


def test_check_names_each_stale_file_and_writes_nothing(tmp_path: Path) -> None:
    root = copy_contracts(tmp_path)
    stale = root / "bundles" / "openapi-3.0.json"
    stale.write_text(stale.read_text("utf-8").replace('"3.0.3"', '"3.0.2"'), "utf-8")
    types = root / "types" / "index.d.ts"
    types.write_text(types.read_text("utf-8") + "// edited by hand\n", "utf-8")
    before = snapshot(root)
    result = build("--check", "--root", str(root))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "stale: contracts/bundles/openapi-3.0.json",
        "stale: contracts/types/index.d.ts",
        f"2 generated file(s) out of date; run: python -m omnitron_mock.contracts.build --root {root}",
    ]
    assert snapshot(root) == before


def test_a_schema_change_not_regenerated_is_caught_and_a_build_brings_it_in(tmp_path: Path) -> None:
    root = copy_contracts(tmp_path)
    source = root / "schemas" / "shipping-company.json"
    schema = json.loads(source.read_text("utf-8"))
    schema["enum"].append("fedex")
    source.write_text(json.dumps(schema, indent=2), "utf-8")

    check = build("--check", "--root", str(root))
    assert check.returncode == 1
    named = {line.removeprefix("stale: contracts/") for line in check.stdout.splitlines() if line.startswith("stale")}
    assert {
        "bundles/omnitron-mock.schema.json",
        "bundles/openapi-3.1.json",
        "bundles/openapi-3.0.json",
        "bundles/draft-07/shipping-company.json",
        "bundles/draft-07/order-item.json",
        "bundles/strict/bulk-status-update-request.json",
        "types/index.d.ts",
    } <= named
    assert "bundles/draft-07/login-request.json" not in named
    assert "bundles/strict/login-request.json" not in named

    written = build("--root", str(root))
    assert written.returncode == 0, written.stderr
    assert {line.removeprefix("wrote contracts/") for line in written.stdout.splitlines()[:-1]} == named
    assert build("--check", "--root", str(root)).returncode == 0
    bundle = json.loads((root / "bundles" / "omnitron-mock.schema.json").read_text("utf-8"))
    assert "fedex" in bundle["$defs"]["shipping-company"]["enum"]
    assert '| "fedex"' in (root / "types" / "index.d.ts").read_text("utf-8")


def test_missing_and_stray_files_are_named_then_restored_and_removed(tmp_path: Path) -> None:
    root = copy_contracts(tmp_path)
    committed = snapshot(root)
    (root / "bundles" / "strict" / "login-request.json").unlink()
    (root / "bundles" / "draft-07" / "retired.json").write_text("{}\n", "utf-8")
    (root / "bundles" / "old").mkdir()
    (root / "bundles" / "old" / "thing.json").write_text("{}\n", "utf-8")

    check = build("--check", "--root", str(root))
    assert check.returncode == 1
    assert check.stdout.splitlines()[:-1] == [
        "missing: contracts/bundles/strict/login-request.json",
        "not generated: contracts/bundles/draft-07/retired.json",
        "not generated: contracts/bundles/old/thing.json",
    ]
    written = build("--root", str(root))
    assert written.stdout.splitlines()[:-1] == [
        "wrote contracts/bundles/strict/login-request.json",
        "removed contracts/bundles/draft-07/retired.json",
        "removed contracts/bundles/old/thing.json",
    ]
    assert snapshot(root) == committed
    assert not (root / "bundles" / "old").exists()
    # The same sources give the same bytes: a second build touches nothing.
    generated = len([name for name in committed if name.startswith(("bundles/", "types/"))])
    assert build("--root", str(root)).stdout.splitlines() == [
        f"0 file(s) changed; {generated} generated files in contracts/"
    ]


def test_a_folder_without_schemas_is_refused(tmp_path: Path) -> None:
    result = build("--check", "--root", str(tmp_path))
    assert result.returncode == 2
    assert "holds no schemas/ folder" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_reference_to_no_schema_stops_the_build_and_writes_nothing(tmp_path: Path) -> None:
    root = copy_contracts(tmp_path)
    source = root / "schemas" / "order-item-page.json"
    source.write_text(source.read_text("utf-8").replace('"order-item.json"', '"order-line.json"'), "utf-8")
    before = snapshot(root)
    result = build("--root", str(root))
    assert result.returncode == 2
    assert "no schema 'order-line'" in result.stderr
    assert snapshot(root) == before


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("fault", "bundles/draft-07/fault.json: #: dependentRequired has no draft-07 form"),
        (
            "login-request",
            "bundles/openapi-3.0.json: components/schemas/login-request: dependentRequired has no OpenAPI",
        ),
    ],
)
def test_a_construct_without_an_older_form_stops_the_build(tmp_path: Path, name: str, message: str) -> None:
    root = copy_contracts(tmp_path)
    source = root / "schemas" / f"{name}.json"
    schema = json.loads(source.read_text("utf-8"))
    schema["dependentRequired"] = {"method": ["path"]}
    source.write_text(json.dumps(schema), "utf-8")
    before = snapshot(root)
    result = build("--root", str(root))
    assert result.returncode == 2
    assert message in result.stderr
    assert snapshot(root) == before


@docs.examples
def test_regeneration_commands_run(example: Block, tmp_path: Path) -> None:
    root = copy_contracts(tmp_path)
    (root / "bundles" / "openapi-3.0.json").unlink()
    commands = [line.split("#", 1)[0].split() for line in example.text.splitlines() if line.strip()]
    assert [command[:3] for command in commands] == [["python", "-m", "omnitron_mock.contracts.build"]] * 2
    results = [build(*command[3:], "--root", str(root)) for command in commands]
    assert [result.returncode for result in results] == [0, 0], [r.stdout + r.stderr for r in results]
    assert "wrote contracts/bundles/openapi-3.0.json" in results[0].stdout


GENERATED = sorted(
    path.relative_to(CONTRACTS).as_posix()
    for path in [*CONTRACTS.glob("bundles/**/*.json"), CONTRACTS / "types/index.d.ts"]
)


@pytest.mark.parametrize("relative", GENERATED)
def test_generated_text_ends_with_one_newline(relative: str) -> None:
    text = (CONTRACTS / relative).read_text("utf-8")
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert "\r" not in text
