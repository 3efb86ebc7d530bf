"""Contract identifiers are versioned, and a running emulator serves each schema
at the path its identifier names, so a validator can resolve references there."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from omnitron_mock import Settings, contracts
from omnitron_mock.contracts import CONTRACTS_VERSION, ID_BASE, SCHEMA_NAMES
from referencing import Registry, Resource

from tests.helpers import documented

ROOT = Path(__file__).resolve().parents[1]


def test_the_contracts_version_is_the_projects_major_version() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert f"v{version.split('.')[0]}" == CONTRACTS_VERSION
    assert ID_BASE.endswith(f"/contracts/{CONTRACTS_VERSION}/")


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_each_id_is_the_base_and_the_file_name(name: str) -> None:
    assert contracts.load_schema(name)["$id"] == f"{ID_BASE}{name}.json"


def test_the_index_lists_the_versioned_addresses(client: FlaskClient) -> None:
    index = client.get("/contracts/").get_json()
    assert index == {
        "version": CONTRACTS_VERSION,
        "schemas": [f"/contracts/{CONTRACTS_VERSION}/{name}.json" for name in SCHEMA_NAMES],
    }


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_a_served_schema_is_the_file_named_where_it_was_fetched(client: FlaskClient, name: str) -> None:
    path = f"/contracts/{CONTRACTS_VERSION}/{name}.json"
    served = client.get(path).get_json()
    # An unchecked Host could name any site: the identifier is the path alone.
    assert served == {**contracts.load_schema(name), "$id": path}
    # The unversioned address and the validators keep the committed identifier.
    assert client.get(f"/contracts/{name}.json").get_json() == contracts.load_schema(name)


@pytest.mark.parametrize("settings", [Settings(allowed_hosts=("contracts.example",))])
def test_a_checked_host_gets_absolute_identifiers(client: FlaskClient) -> None:
    served = client.get("/contracts/v0/order.json", headers={"Host": "contracts.example"}).get_json()
    assert served["$id"] == "http://contracts.example/contracts/v0/order.json"


def test_an_unknown_schema_is_a_json_404(client: FlaskClient) -> None:
    response = client.get(f"/contracts/{CONTRACTS_VERSION}/no-such-contract.json")
    assert (response.status_code, response.get_json()) == (404, {"detail": "Not found."})


def test_a_validator_resolves_references_from_a_running_emulator(live_server: Any) -> None:
    """What a consumer in any language does: load the request contract from the
    emulator and let its references ($ref to the status table, say) load from there too."""
    fetched: list[str] = []

    def retrieve(uri: str) -> Resource[Any]:
        fetched.append(uri)
        return Resource.from_contents(requests.get(uri, timeout=10).json())

    base = f"{live_server.url}/contracts/{CONTRACTS_VERSION}/"
    root = requests.get(base + "bulk-status-update-request.json", timeout=10).json()
    # The identifier is a path, resolved against where the schema came from (a
    # validator fed the parsed document is told that address).
    assert root["$id"] == f"/contracts/{CONTRACTS_VERSION}/bulk-status-update-request.json"
    located = {**root, "$id": base + "bulk-status-update-request.json"}
    validator = Draft202012Validator(located, registry=Registry(retrieve=retrieve))  # type: ignore[call-arg]
    assert list(validator.iter_errors(documented("request"))) == []
    bad = {"orderitem_set": [{"id": 1, "status": "999"}]}
    assert [error.json_path for error in validator.iter_errors(bad)] == ["$.orderitem_set[0].status"]
    assert base + "order-item-status.json" in fetched
