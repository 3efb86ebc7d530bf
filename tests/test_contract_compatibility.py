"""The compatibility guard: the current contracts against the last released
snapshot (contracts/released/), and the commands that write and compare snapshots."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

import pytest
from omnitron_mock.contracts import SCHEMA_NAMES
from omnitron_mock.contracts.compatibility import ContractSet, breaking_changes
from omnitron_mock.contracts.releases import (
    ReleaseError,
    current_contracts,
    latest_release,
    major,
    read_release,
    write_release,
)

from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]
RELEASED = ROOT / "contracts" / "released"


def _project_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]


def test_current_contracts_keep_the_last_release_unless_the_major_version_moved() -> None:
    folder = latest_release(RELEASED)
    released = read_release(folder)
    breaks = breaking_changes(released, current_contracts())
    if major(_project_version()) > major(released.version):
        return  # a new major version may break; its release takes a new snapshot
    lines = "\n".join(f"  {change}" for change in breaks)
    assert not breaks, (
        f"these changes break consumers of the contracts released as {released.version}; keep them compatible, "
        f"or raise the major version (pyproject.toml) and note them under CHANGELOG's Contracts:\n{lines}"
    )


def test_each_snapshot_names_its_version_and_is_complete() -> None:
    folders = sorted(entry for entry in RELEASED.iterdir() if entry.is_dir())
    assert folders, "contracts/released/ holds the last release"
    for folder in folders:
        release = read_release(folder)
        assert release.version == folder.name
        assert set(release.openapi) == {"openapi.json", "control-openapi.json"}
        assert release.schemas, folder
        for name, document in release.openapi.items():
            refs = re.findall(r'"\$ref": "([^"]*)"', json.dumps(document))
            assert all(ref.startswith("#/") for ref in refs), f"{folder.name}/{name} is not self-contained"


def test_the_last_release_is_not_newer_than_the_project() -> None:
    released = tuple(int(part) for part in latest_release(RELEASED).name.split("."))
    project = tuple(int(part) for part in _project_version().split("."))
    assert released <= project


def test_every_released_schema_is_still_shipped_or_the_major_version_moved() -> None:
    released = read_release(latest_release(RELEASED))
    gone = set(released.schemas) - set(SCHEMA_NAMES)
    assert not gone or major(_project_version()) > major(released.version), gone


def test_latest_release_picks_the_highest_version(tmp_path: Path) -> None:
    for name in ("0.9.0", "0.10.0", "0.2.5", "notes"):
        (tmp_path / name).mkdir()
    assert latest_release(tmp_path).name == "0.10.0"


# -- the commands ---------------------------------------------------------------


def test_contracts_diff_against_the_last_release() -> None:
    folder = latest_release(RELEASED)
    expected = f"no breaking changes from contracts {folder.name} to {current_contracts().version}\n"
    for args in ((), (str(RELEASED),), (str(folder),)):
        result = run_cli("contracts-diff", *args)
        assert (result.returncode, result.stdout) == (0, expected), args


def test_a_snapshot_round_trips_and_a_break_is_listed(tmp_path: Path) -> None:
    version = current_contracts().version
    result = run_cli("contracts-snapshot", str(tmp_path))
    assert result.returncode == 0, result.stderr
    snapshot = tmp_path / version
    assert result.stdout == f"wrote the contracts of {version} to {snapshot}\n"
    assert sorted(path.name for path in snapshot.iterdir()) == [
        "control-openapi.json",
        "openapi.json",
        "release.json",
        "schemas",
    ]
    assert sorted(path.stem for path in (snapshot / "schemas").iterdir()) == sorted(SCHEMA_NAMES)
    assert run_cli("contracts-diff", str(snapshot)).returncode == 0
    # As if the release had promised a field the current order no longer has.
    order_file = snapshot / "schemas" / "order.json"
    order = json.loads(order_file.read_text("utf-8"))
    order["properties"]["legacy_code"] = {"type": "string"}
    order["required"].append("legacy_code")
    order_file.write_text(json.dumps(order), "utf-8")
    result = run_cli("contracts-diff", str(tmp_path))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"1 breaking change from contracts {version} to {version}:",
        "  schema order $.legacy_code: removed from the response [removed-response-property]",
    ]


def test_contracts_diff_compares_two_snapshots(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    assert run_cli("contracts-snapshot", str(old)).returncode == 0
    shutil.copytree(old, new)
    version = current_contracts().version
    (new / version / "schemas" / "fault.json").unlink()
    result = run_cli("contracts-diff", str(old), str(new))
    assert result.returncode == 1
    assert "  schema fault: schema removed [removed-schema]" in result.stdout.splitlines()
    assert run_cli("contracts-diff", str(new), str(old)).returncode == 0  # a schema added is safe


def test_a_snapshot_is_never_overwritten(tmp_path: Path) -> None:
    existing = tmp_path / current_contracts().version
    existing.mkdir()
    (existing / "keep.txt").write_text("mine", "utf-8")
    result = run_cli("contracts-snapshot", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr == f"omnitron-mock: {existing} exists already: a released snapshot is never rewritten\n"
    assert [path.name for path in existing.iterdir()] == ["keep.txt"]


def test_contracts_diff_refuses_a_folder_that_is_no_snapshot(tmp_path: Path) -> None:
    result = run_cli("contracts-diff", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr == f"omnitron-mock: no released contracts under {tmp_path}\n"
    (tmp_path / "release.json").write_text("{not json", "utf-8")
    result = run_cli("contracts-diff", str(tmp_path))
    assert result.returncode == 2
    assert "release.json is not JSON" in result.stderr
    (tmp_path / "release.json").write_text('{"version": "1.0.0"}', "utf-8")
    result = run_cli("contracts-diff", str(tmp_path))
    assert (result.returncode, result.stderr) == (2, f"omnitron-mock: {tmp_path} has no schemas/ folder\n")


def test_a_snapshot_needs_a_release_version(tmp_path: Path) -> None:
    unreleased = ContractSet("0+unknown", {}, {})
    with pytest.raises(ReleaseError, match=r"not a release version \(X.Y.Z\): '0\+unknown'"):
        write_release(unreleased, tmp_path)
    assert list(tmp_path.iterdir()) == []
