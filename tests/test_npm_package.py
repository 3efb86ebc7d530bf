"""The npm package (contracts/) as another team gets it, checked by Node's toolchain.

`npm pack` makes the package; a scratch TypeScript project installs it with
ajv, ajv-formats and TypeScript from the npm registry; `tsc --strict`
type-checks the consumer of docs/contracts.md, which then runs and prints
what the page says; and ajv judges every golden example with the verdicts of
Python's jsonschema and of the example's file. Any disagreement between the
two validators fails, listed in full.

npm writes only inside the test's temporary folders (its cache included).
The slow tier (a local run skips it; `pytest -m slow` runs it): CI runs it,
with Node from Debian (.ci/run installs it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from omnitron_mock.contracts import SCHEMA_NAMES

from tests import docs
from tests import golden_examples as golden
from tests.docs import Block
from tests.helpers import in_ci

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "contracts"
VERDICTS_SCRIPT = Path(__file__).resolve().parent / "npm" / "golden-verdicts.mjs"
# What the scratch project installs beside the package: the majors the package is written for.
DEPENDENCIES = ("ajv@8", "ajv-formats@3", "typescript@7")
TSCONFIG = {
    "compilerOptions": {
        "strict": True,
        "module": "nodenext",
        "moduleResolution": "nodenext",
        "target": "es2022",
        "types": [],
        "outDir": "out",
    },
    "files": ["consumer.ts"],
}


def package_json() -> dict[str, Any]:
    return json.loads((PACKAGE / "package.json").read_text("utf-8"))


def test_the_package_version_is_the_project_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert package_json()["version"] == project["version"]


def test_the_package_is_an_es_module_with_types_and_ajv_as_peers() -> None:
    package = package_json()
    assert package["name"] == "@omnitron-mock/contracts"
    assert package["type"] == "module"
    assert package["exports"]["."] == {"types": "./index.d.ts", "default": "./index.js"}
    assert package["types"] == "./index.d.ts"
    assert set(package["peerDependencies"]) == {"ajv", "ajv-formats"}
    for entry in ("index.js", "index.d.ts", "types/", "schemas/", "bundles/", "examples/"):
        assert entry in package["files"]


# -- with Node ----------------------------------------------------------------------------------


def run(command: list[str], cwd: Path, env: dict[str, str], timeout: int = 300) -> str:
    try:
        result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"{' '.join(command)} took over {timeout} s:\n{expired.stdout}\n{expired.stderr}")
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A scratch project with the packed package, ajv, ajv-formats and TypeScript
    installed, and the environment that keeps npm's files in temporary folders."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        if in_ci():
            pytest.fail("node and npm must be on CI's machine: .ci/run installs them from Debian")
        pytest.skip("node and npm are not installed (apt-get install nodejs npm); CI runs this")
    home = tmp_path_factory.mktemp("npm-home")
    env = {
        **os.environ,
        "npm_config_cache": str(home / "cache"),
        "npm_config_userconfig": str(home / "npmrc"),
        "npm_config_update_notifier": "false",
        "npm_config_fund": "false",
        "npm_config_audit": "false",
        "npm_config_loglevel": "error",
    }
    packed = tmp_path_factory.mktemp("packed")
    listing = json.loads(run(["npm", "pack", "--json", "--pack-destination", str(packed)], PACKAGE, env, 120))
    [tarball] = packed.glob("*.tgz")
    assert_packed_files({entry["path"] for entry in listing[0]["files"]})
    project = tmp_path_factory.mktemp("consumer")
    (project / "package.json").write_text(json.dumps({"name": "consumer", "private": True, "type": "module"}))
    run(["npm", "install", "--no-save", str(tarball), *DEPENDENCIES], project, env)
    return project, env


def assert_packed_files(files: set[str]) -> None:
    expected = {
        "package.json",
        "index.js",
        "index.d.ts",
        "types/index.d.ts",
        "openapi.json",
        *(f"schemas/{name}.json" for name in SCHEMA_NAMES),
        *(f"bundles/strict/{name}.json" for name in golden.REQUEST_CONTRACTS),
        *(f"examples/{golden.name_of(path)}" for path in golden.example_files()),
    }
    assert not expected - files, f"npm pack left out: {sorted(expected - files)}"


def expected_output(snippet: str) -> list[str]:
    """What the snippet prints: the comment after each console.log line."""
    return [line.split(" // ", 1)[1] for line in snippet.splitlines() if line.strip().startswith("console.log(")]


@pytest.mark.slow
@docs.examples
def test_a_typescript_consumer_type_checks_and_runs(example: Block, scratch: tuple[Path, dict[str, str]]) -> None:
    project, env = scratch
    (project / "consumer.ts").write_text(example.text)
    (project / "tsconfig.json").write_text(json.dumps(TSCONFIG))
    run(["npx", "--no", "--", "tsc", "--strict", "--noEmit", "--project", "."], project, env, 120)
    run(["npx", "--no", "--", "tsc", "--project", "."], project, env, 120)
    printed = run(["node", "out/consumer.js"], project, env, 60).splitlines()
    assert printed == expected_output(example.text)


@pytest.mark.slow
def test_a_type_error_fails_the_check(scratch: tuple[Path, dict[str, str]]) -> None:
    """The check above can fail: a status code not in the table is a type error."""
    project, env = scratch
    (project / "wrong.ts").write_text(
        'import type { StatusCode } from "@omnitron-mock/contracts";\nexport const status: StatusCode = "999";\n'
    )
    (project / "tsconfig.wrong.json").write_text(json.dumps({**TSCONFIG, "files": ["wrong.ts"]}))
    result = subprocess.run(
        ["npx", "--no", "--", "tsc", "--noEmit", "--project", "tsconfig.wrong.json"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "'\"999\"' is not assignable to type 'StatusCode'" in result.stdout


@pytest.mark.slow
def test_ajv_agrees_with_python_on_every_golden_example(scratch: tuple[Path, dict[str, str]]) -> None:
    project, env = scratch
    shutil.copy(VERDICTS_SCRIPT, project / VERDICTS_SCRIPT.name)
    ajv = json.loads(run(["node", VERDICTS_SCRIPT.name], project, env, 120))
    names = [golden.name_of(path) for path in golden.example_files()]
    assert sorted(ajv) == sorted(names), "the package ships other examples than contracts/examples/"
    disagreements = []
    for path in golden.example_files():
        example = golden.read(path)
        name = golden.name_of(path)
        python_valid = golden.schema_verdict(example)
        python_strict_valid, python_unknown = golden.strict_verdict(example)
        file_strict_valid = example["valid"] and not example["unknown_fields"]
        judged = ajv[name]
        verdicts = {
            "valid": (judged["valid"], python_valid, example["valid"]),
            "strict valid": (judged["strict_valid"], python_strict_valid, file_strict_valid),
            "unknown fields": (judged["unknown_fields"], python_unknown, example["unknown_fields"]),
        }
        for what, (by_ajv, by_python, in_file) in verdicts.items():
            # ajv and the file list unknown fields in the body's order; jsonschema by object.
            python_agrees = sorted(by_python) == sorted(in_file) if what == "unknown fields" else by_python == in_file
            if by_ajv != in_file or not python_agrees:
                errors = f"\n    ajv's errors: {judged['errors']}" if what == "valid" else ""
                disagreements.append(
                    f"{name}: {what}: ajv {by_ajv!r}, Python jsonschema {by_python!r}, the file {in_file!r}{errors}"
                )
    assert not disagreements, "ajv and Python disagree:\n" + "\n".join(disagreements)
