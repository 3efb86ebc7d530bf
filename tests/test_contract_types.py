"""contracts/types/index.d.ts, the TypeScript declarations generated from the schemas:
the enums' unions hold the schema files' values, each object type the schema's
fields, and (slow tier) ``tsc --strict`` accepts a consumer and refuses ``tracking_no``."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from omnitron_mock import contracts

from tests.helpers import in_ci

ROOT = Path(__file__).resolve().parents[1]
TYPES = ROOT / "contracts" / "types" / "index.d.ts"
SCHEMAS = ROOT / "contracts" / "schemas"


def declarations() -> str:
    return TYPES.read_text("utf-8")


def schema_file(name: str) -> Any:
    return json.loads((SCHEMAS / f"{name}.json").read_text("utf-8"))


def union(name: str) -> list[Any]:
    """The literal members of ``export type NAME = ...;``, comments left out."""
    match = re.search(rf"^export type {name} =(.*?);$", declarations(), re.MULTILINE | re.DOTALL)
    assert match, f"no type {name}"
    members = re.sub(r"/\*\*.*?\*/", "", match.group(1), flags=re.DOTALL)
    return [json.loads(member.strip()) for member in members.split("|") if member.strip()]


def interface(name: str) -> list[tuple[str, bool]]:
    """(field, optional) of the top-level members of ``export interface NAME``."""
    match = re.search(rf"^export interface {name} \{{\n(.*?)^\}}$", declarations(), re.MULTILINE | re.DOTALL)
    assert match, f"no interface {name}"
    return [
        (m.group(1), m.group(2) == "?") for m in re.finditer(r'^  "?([\w-]+)"?(\??): ', match.group(1), re.MULTILINE)
    ]


def test_status_code_is_the_status_tables_codes() -> None:
    codes = [branch["const"] for branch in schema_file("order-item-status")["oneOf"]]
    assert union("StatusCode") == codes
    assert "export type OrderItemStatus = StatusCode;" in declarations()


def test_shipping_company_is_the_courier_list() -> None:
    assert union("ShippingCompany") == schema_file("shipping-company")["enum"]


def test_cancel_status_is_the_cancellation_list() -> None:
    assert union("CancelStatus") == schema_file("cancel-status")["enum"]


def test_every_contract_has_its_type_by_name() -> None:
    match = re.search(r"^export interface ContractTypes \{\n(.*?)^\}$", declarations(), re.MULTILINE | re.DOTALL)
    assert match
    names = re.findall(r'^  "([\w-]+)": (\w+);$', match.group(1), re.MULTILINE)
    assert [name for name, _ in names] == list(contracts.SCHEMA_NAMES)
    for _, type_name in names:
        assert re.search(rf"^export (type|interface) {type_name}\b", declarations(), re.MULTILINE), type_name


def test_request_contract_name_lists_the_strict_profiles_contracts() -> None:
    strict = sorted(path.stem for path in (ROOT / "contracts" / "bundles" / "strict").glob("*.json"))
    assert union("RequestContractName") == strict


def pascal(text: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_]", text))


@pytest.mark.parametrize("name", contracts.SCHEMA_NAMES)
def test_object_types_have_the_schemas_fields(name: str) -> None:
    schema = schema_file(name)
    objects = [(pascal(name), schema)]
    objects += [(pascal(name) + pascal(sub), definition) for sub, definition in schema.get("$defs", {}).items()]
    for type_name, definition in objects:
        if definition.get("type") != "object" or "properties" not in definition:
            continue
        required = set(definition.get("required", []))
        expected = [(field, field not in required) for field in definition["properties"]]
        assert interface(type_name) == expected, type_name


def test_a_free_form_or_open_object_says_so_and_a_named_one_has_no_index_signature() -> None:
    assert "[key: string]: string[];" in declarations()  # field-errors
    body = re.search(r"^export interface BulkStatusUpdateRequestItem \{\n(.*?)^\}$", declarations(), re.M | re.S)
    assert body and "[key: string]" not in body.group(1)


CONSUMER = """
import type { BulkStatusUpdateRequest, ContractTypes, OrderItem, ShippingCompany, StatusCode } from "./index";

const status: StatusCode = "500";
const courier: ShippingCompany = "ups";
export const body: BulkStatusUpdateRequest = {
  orderitem_set: [{ id: 1, status, shipping_company: courier, tracking_number: "TR1" }],
};
export const update: ContractTypes["order-item-update-request"] = { cancel_status: null, extra_field: { a: [1] } };
export function tracking(item: OrderItem): string | null {
  return item.tracking_number;
}
"""
MISSPELT = """
import type { BulkStatusUpdateRequest } from "./index";

export const body: BulkStatusUpdateRequest = { orderitem_set: [{ id: 1, tracking_no: "TR1" }] };
"""


def tsc(folder: Path, source: str) -> subprocess.CompletedProcess[str]:
    (folder / "consumer.ts").write_text(source, "utf-8")
    command = ["npx", "--yes", "-p", "typescript@5", "tsc", "--strict", "--noEmit", "consumer.ts"]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=folder)


@pytest.mark.slow
def test_tsc_strict_takes_a_consumer_and_refuses_a_misspelt_field(tmp_path: Path) -> None:
    if shutil.which("npx") is None:
        assert not in_ci(), "CI needs Node and npx to type-check contracts/types/index.d.ts"
        pytest.skip("npx is not installed: no TypeScript compiler to run")
    shutil.copy(TYPES, tmp_path / "index.d.ts")
    accepted = tsc(tmp_path, CONSUMER)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    refused = tsc(tmp_path, MISSPELT)
    assert refused.returncode != 0
    assert "'tracking_no' does not exist in type 'BulkStatusUpdateRequestItem'" in refused.stdout
