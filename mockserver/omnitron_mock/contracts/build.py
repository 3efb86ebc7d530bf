"""The generated contract files: ``python -m omnitron_mock.contracts.build [--check] [--root DIR]``.

From the sources (``schemas/*.json`` and ``openapi.json`` of a contracts
folder) it writes every file under ``bundles/`` and ``types/index.d.ts``;
``--check`` writes nothing and exits 1 naming each file that is missing,
differs from what the sources give, or lies in ``bundles/`` without being
generated.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from omnitron_mock.contracts.bundle import BUNDLE_FILE, schema_bundle, self_contained
from omnitron_mock.contracts.catalogue import ID_BASE, data_root
from omnitron_mock.contracts.draft07 import to_draft07
from omnitron_mock.contracts.openapi import bundle_openapi
from omnitron_mock.contracts.openapi30 import to_openapi30
from omnitron_mock.contracts.sources import ContractSources
from omnitron_mock.contracts.strict import strict_profile
from omnitron_mock.contracts.typescript import typescript_declarations

COMMAND = "python -m omnitron_mock.contracts.build"
# Wholly generated: a file here that the generator does not make is stale.
BUNDLES = "bundles"
TYPES_FILE = "types/index.d.ts"


def generated_files(sources: ContractSources) -> dict[str, str]:
    """Each generated file's text by its path relative to the contracts folder."""
    requests = sources.request_contracts()
    openapi = bundle_openapi(sources.openapi, sources.schema)
    renderings: dict[str, Callable[[], Any]] = {
        BUNDLE_FILE: lambda: schema_bundle(sources),
        "openapi-3.1.json": lambda: openapi,
        "openapi-3.0.json": lambda: to_openapi30(openapi),
    }
    for name in sorted(sources.schemas):
        renderings[f"draft-07/{name}.json"] = partial(_draft07, sources, name)
    for name in requests:
        renderings[f"strict/{name}.json"] = partial(_strict, sources, name)
    files = {f"{BUNDLES}/{path}": _json(path, render) for path, render in renderings.items()}
    files[TYPES_FILE] = typescript_declarations(sources, requests)
    return files


def _draft07(sources: ContractSources, name: str) -> dict[str, Any]:
    return to_draft07(self_contained(name, sources, f"{ID_BASE}draft-07/{name}.json"))


def _strict(sources: ContractSources, name: str) -> dict[str, Any]:
    return strict_profile(self_contained(name, sources, f"{ID_BASE}strict/{name}.json"))


def _json(path: str, render: Callable[[], Any]) -> str:
    try:
        document = render()
    except ValueError as problem:
        raise ValueError(f"{BUNDLES}/{path}: {problem}") from None
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def out_of_date(root: Path, files: dict[str, str]) -> list[str]:
    """``missing: PATH``, ``stale: PATH`` or ``not generated: PATH`` for each file that is not as generated."""
    problems = []
    for relative, text in sorted(files.items()):
        path = root / relative
        if not path.is_file():
            problems.append(f"missing: {root.name}/{relative}")
        elif path.read_bytes() != text.encode("utf-8"):
            problems.append(f"stale: {root.name}/{relative}")
    problems += [f"not generated: {root.name}/{relative}" for relative in _strays(root, files)]
    return problems


def write(root: Path, files: dict[str, str]) -> list[str]:
    """Write what differs and remove what is no longer generated; the paths touched."""
    touched = []
    for relative, text in sorted(files.items()):
        path = root / relative
        if not path.is_file() or path.read_bytes() != text.encode("utf-8"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
            touched.append(f"wrote {root.name}/{relative}")
    for relative in _strays(root, files):
        (root / relative).unlink()
        touched.append(f"removed {root.name}/{relative}")
    for folder in sorted((root / BUNDLES).rglob("*"), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return touched


def _strays(root: Path, files: dict[str, str]) -> list[str]:
    found = (path.relative_to(root).as_posix() for path in (root / BUNDLES).rglob("*") if path.is_file())
    return sorted(relative for relative in found if relative not in files)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=COMMAND,
        description="Generate contracts/bundles/ and contracts/types/index.d.ts from the schema files.",
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 naming each out-of-date file")
    parser.add_argument(
        "--root", type=Path, metavar="DIR", help="the contracts folder (default: the one this package reads)"
    )
    args = parser.parse_args(argv)
    root: Path = args.root or Path(str(data_root()))
    try:
        files = generated_files(ContractSources.read(root))
    except (OSError, ValueError, KeyError) as problem:
        print(f"{COMMAND}: {problem}", file=sys.stderr)
        return 2
    if args.check:
        problems = out_of_date(root, files)
        for line in problems:
            print(line)
        if problems:
            again = f"{COMMAND} --root {root}" if args.root else COMMAND
            print(f"{len(problems)} generated file(s) out of date; run: {again}")
            return 1
        print(f"{len(files)} generated files in {root.name}/ are up to date")
        return 0
    touched = write(root, files)
    for line in touched:
        print(line)
    print(f"{len(touched)} file(s) changed; {len(files)} generated files in {root.name}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
