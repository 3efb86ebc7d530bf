"""Released contracts: snapshots under ``contracts/released/<version>/``.

A snapshot holds what a consumer of that release had: the self-contained
OpenAPI documents (``openapi.json``, ``control-openapi.json``), every schema
file under ``schemas/``, and ``release.json`` naming the version. A release
writes one (``omnitron-mock contracts-snapshot contracts/released``); the
compatibility test compares the newest with the current contracts.
"""

from __future__ import annotations

import json
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from omnitron_mock.contracts.catalogue import SCHEMA_NAMES, data_root, load_schema
from omnitron_mock.contracts.compatibility import ContractSet
from omnitron_mock.contracts.openapi import bundled_control_openapi, bundled_openapi

RELEASED = "released"
RELEASE_FILE = "release.json"
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


class ReleaseError(ValueError):
    """A folder that is not a readable snapshot, or one that must not be overwritten."""


def project_version() -> str:
    """The installed omnitron-mock version (pyproject.toml's in a checkout)."""
    try:
        return version("omnitron-mock")
    except PackageNotFoundError:
        return "0+unknown"


def major(release: str) -> int:
    """The major part of ``X.Y.Z``."""
    found = _VERSION.match(release)
    if found is None:
        raise ReleaseError(f"not a release version (X.Y.Z): {release!r}")
    return int(found.group(1))


def current_contracts() -> ContractSet:
    """The contracts as this checkout or installation ships them."""
    return ContractSet(
        version=project_version(),
        openapi={"openapi.json": bundled_openapi(), "control-openapi.json": bundled_control_openapi()},
        schemas={name: load_schema(name) for name in SCHEMA_NAMES},
    )


def released_root() -> Path:
    """``contracts/released`` of the checkout (or the installed copy)."""
    return Path(str(data_root().joinpath(RELEASED)))


def latest_release(root: Path | None = None) -> Path:
    """The snapshot folder of the highest version under ``root``."""
    root = root or released_root()
    found = (
        [entry for entry in root.iterdir() if entry.is_dir() and _VERSION.match(entry.name)] if root.is_dir() else []
    )
    if not found:
        raise ReleaseError(f"no released contracts under {root}")
    return max(found, key=lambda entry: tuple(int(part) for part in entry.name.split(".")))


def read_release(folder: Path) -> ContractSet:
    """The snapshot in ``folder``."""
    manifest = _read_json(folder / RELEASE_FILE)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("version"), str):
        raise ReleaseError(f"{folder / RELEASE_FILE} must be an object with a version")
    documents = {}
    for name in sorted(manifest.get("openapi", [])):
        documents[name] = _read_json(folder / name)
    schema_folder = folder / "schemas"
    if not schema_folder.is_dir():
        raise ReleaseError(f"{folder} has no schemas/ folder")
    schemas = {path.stem: _read_json(path) for path in sorted(schema_folder.glob("*.json"))}
    return ContractSet(version=manifest["version"], openapi=documents, schemas=schemas)


def find_release(path: Path) -> Path:
    """``path`` when it is a snapshot, else the newest snapshot under it."""
    return path if (path / RELEASE_FILE).exists() else latest_release(path)


def write_release(contracts: ContractSet, root: Path) -> Path:
    """Write ``contracts`` as the snapshot ``root/<version>/``; a released
    snapshot is never rewritten, so that folder must not exist yet."""
    major(contracts.version)  # refuses "0+unknown" and the like
    folder = root / contracts.version
    if folder.exists():
        raise ReleaseError(f"{folder} exists already: a released snapshot is never rewritten")
    (folder / "schemas").mkdir(parents=True)
    manifest = {"version": contracts.version, "openapi": sorted(contracts.openapi)}
    _write_json(folder / RELEASE_FILE, manifest)
    for name, document in contracts.openapi.items():
        _write_json(folder / name, document)
    for name, schema in contracts.schemas.items():
        _write_json(folder / "schemas" / f"{name}.json", schema)
    return folder


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ReleaseError(f"{path} is missing") from None
    except ValueError as problem:
        raise ReleaseError(f"{path} is not JSON: {problem}") from None


def _write_json(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
