"""contracts/control-openapi.json: the control API's own OpenAPI document,
checked against the control blueprint's routes, its examples against its
schemas, and served at /_mock/openapi.json. (Every control answer the suite
gets through the checked clients is validated against it: tests/helpers.py.)"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from omnitron_mock import Settings, contracts, create_app
from omnitron_mock.control import ADMIN_COOKIE, ADMIN_HEADER
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.helpers import ContractCheckedClient, control_response_problems, run_cli

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "contracts" / "control-openapi.json"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
BUNDLE_URI = "urn:omnitron-mock:control-openapi-under-test"


def _source() -> dict[str, Any]:
    return json.loads(SOURCE.read_text("utf-8"))


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _validator(pointer: str) -> Draft202012Validator:
    registry = Registry().with_resource(
        BUNDLE_URI, Resource.from_contents(contracts.bundled_control_openapi(), default_specification=DRAFT202012)
    )
    return Draft202012Validator({"$ref": f"{BUNDLE_URI}#{pointer}"}, registry=registry)


def _media_with_examples(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(label, JSON pointer of the media type object, media) of every JSON body the document describes."""
    for path, method, operation in _operations(document):
        base = f"/paths/{_escape(path)}/{method}"
        if "requestBody" in operation:
            yield (
                f"{method.upper()} {path} request",
                f"{base}/requestBody/content/application~1json",
                operation["requestBody"]["content"]["application/json"],
            )
        for status, response in operation["responses"].items():
            if "content" in response:
                yield (
                    f"{method.upper()} {path} {status}",
                    f"{base}/responses/{status}/content/application~1json",
                    response["content"]["application/json"],
                )
    for name, response in document["components"]["responses"].items():
        yield (
            f"components/responses/{name}",
            f"/components/responses/{name}/content/application~1json",
            response["content"]["application/json"],
        )


def _blueprint_routes() -> set[tuple[str, str]]:
    """(path with {name} parameters, method) of every route of the control blueprint, from Flask's URL map."""
    app = create_app()
    return {
        (re.sub(r"<(?:[^:>]*:)?([^>]*)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("mock_control.")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }


def _concrete(path: str) -> str:
    """A path template with a value in each parameter."""
    return re.sub(r"\{[^}]*\}", "1", path)


# -- the document -------------------------------------------------------------


def test_paths_and_methods_are_the_control_blueprints_routes() -> None:
    documented = {(path, method) for path, method, _ in _operations(_source())}
    assert documented == _blueprint_routes()
    assert ("/_mock/openapi.json", "get") in documented


def test_document_header_and_version() -> None:
    document = _source()
    assert document["openapi"] == "3.1.0"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    assert document["info"]["version"] == project


def test_document_is_two_space_indented_json() -> None:
    text = SOURCE.read_text("utf-8")
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def test_bundled_document_is_valid_openapi_3_1_and_self_contained() -> None:
    bundled = contracts.bundled_control_openapi()
    validate_openapi(bundled)
    text = json.dumps(bundled)
    refs = re.findall(r'"\$ref": "([^"]*)"', text)
    assert refs and all(ref.startswith("#/") for ref in refs), [ref for ref in refs if not ref.startswith("#/")]


def test_file_references_name_schema_files_and_inline_names_do_not_clash() -> None:
    text = SOURCE.read_text("utf-8")
    files = {ref.partition("#")[0] for ref in re.findall(r'"\$ref": "(schemas/[^"]*)"', text)}
    assert files and all((ROOT / "contracts" / name).is_file() for name in files), files
    inline = set(_source()["components"]["schemas"])
    assert inline.isdisjoint(contracts.SCHEMA_NAMES)


def test_operations_have_unique_ids_and_document_their_errors() -> None:
    operations = list(_operations(_source()))
    ids = [operation["operationId"] for _, _, operation in operations]
    assert len(ids) == len(set(ids))
    for path, method, operation in operations:
        responses = operation["responses"]
        assert "403" in responses, f"{method} {path}: cross-site requests get 403"
        assert "400" in responses, f"{method} {path}: a Host the emulator does not answer gets 400"
        if operation.get("security") == []:
            assert "401" not in responses, f"{method} {path}"
        else:
            assert "401" in responses, f"{method} {path} needs the admin token when one is configured"
        if "requestBody" in operation or path in ("/_mock/reset",):
            assert {"413", "415"} <= set(responses), f"{method} {path} reads a body"


def test_every_body_has_examples_and_each_matches_its_schema() -> None:
    checked, without = 0, []
    for label, pointer, media in _media_with_examples(_source()):
        validator = _validator(f"{pointer}/schema")
        values = [("example", media["example"])] if "example" in media else []
        values += [(name, example["value"]) for name, example in media.get("examples", {}).items()]
        if not values:
            without.append(label)
        for name, value in values:
            errors = [error.message for error in validator.iter_errors(value)]
            assert errors == [], f"{label} [{name}]: {errors}"
            checked += 1
    # The document itself is its own example.
    assert without == ["GET /_mock/openapi.json 200"]
    assert checked >= 35


def test_parameter_schemas_take_what_the_routes_take() -> None:
    """The documented query values are ones the emulator answers with 200."""
    client = create_app().test_client()
    for query in ("order=1", "order=0"):
        assert client.get(f"/_mock/state/items?{query}").status_code == 200
    for query in ("is_send=true", "is_send=false"):
        assert client.get(f"/_mock/state/orders?{query}").status_code == 200
    assert client.get("/_mock/state/mappings?item=9223372036854775807").status_code == 200
    assert client.get("/_mock/requests?status=9999999999&method=GET&path=x").status_code == 200
    parameters = _source()["paths"]["/_mock/state/items"]["get"]["parameters"]
    assert parameters[0]["schema"]["maximum"] == 2**63 - 1


def test_derived_schemas_keep_up_with_the_files_they_extend() -> None:
    """The stored shapes repeat their source contract's properties; a property
    added there must be added here too (the checked clients would fail first)."""
    schemas = _source()["components"]["schemas"]
    order = contracts.load_schema("order")
    assert set(schemas["StoredOrder"]["properties"]) == set(order["properties"]) - {"orderitem_set"} | {"items"}
    assert set(schemas["StoredOrder"]["required"]) == set(order["required"]) - {"orderitem_set"} | {"items"}
    fault = contracts.load_schema("fault")
    assert set(schemas["ActiveFault"]["properties"]) == set(fault["properties"]) | {"id", "used"}
    mapping = contracts.load_schema("mapping")
    assert set(schemas["StoredMapping"]["properties"]) == set(mapping["properties"]) | {"update_stock"}


def test_security_schemes_name_the_admin_header_and_cookie() -> None:
    document = _source()
    schemes = document["components"]["securitySchemes"]
    assert (schemes["AdminToken"]["in"], schemes["AdminToken"]["name"]) == ("header", ADMIN_HEADER)
    assert (schemes["AdminCookie"]["in"], schemes["AdminCookie"]["name"]) == ("cookie", ADMIN_COOKIE)
    assert (schemes["UserToken"]["in"], schemes["UserToken"]["name"]) == ("header", "Authorization")
    # Optional as a whole: without an admin token configured (and tenant mode), no call needs one.
    assert document["security"] == [{"AdminToken": []}, {"AdminCookie": []}, {"UserToken": []}, {}]


def test_documented_security_is_what_the_emulator_asks_for() -> None:
    """With an admin token configured, exactly the operations documented
    without security answer a call that carries none."""
    app = create_app(Settings(admin_token="s3cret-admin"))
    app.test_client_class = ContractCheckedClient
    client = app.test_client()
    for path, method, operation in _operations(_source()):
        response = client.open(_concrete(path), method=method.upper())
        if operation.get("security") == []:
            assert response.status_code == 200, f"{method} {path}"
        else:
            assert response.status_code == 401, f"{method} {path}"
            assert response.get_json() == {"detail": f"The control API needs the {ADMIN_HEADER} header."}


# -- served -------------------------------------------------------------------


def test_served_at_mock_openapi_json_without_the_admin_token() -> None:
    app = create_app(Settings(admin_token="s3cret-admin"))
    app.test_client_class = ContractCheckedClient
    client = app.test_client()
    response = client.get("/_mock/openapi.json")
    assert response.status_code == 200
    assert response.get_json() == contracts.bundled_control_openapi()
    assert client.get("/_mock/state").status_code == 401


def test_served_document_carries_the_enum_extensions() -> None:
    app = create_app(Settings(extra_statuses={"700": "lost"}, extra_shipping_companies=("fedex",)))
    served = app.test_client().get("/_mock/openapi.json").get_json()
    assert "fedex" in served["components"]["schemas"]["shipping-company"]["enum"]
    assert {"const": "700", "title": "lost"} in served["components"]["schemas"]["order-item-status"]["oneOf"]
    # What was served is a copy: the next answer is the same.
    assert app.test_client().get("/_mock/openapi.json").get_json() == served


def test_served_document_refuses_cross_site_pages(client: FlaskClient) -> None:
    response = client.get("/_mock/openapi.json", headers={"Origin": "http://elsewhere.example"})
    assert response.status_code == 403
    assert response.get_json()["detail"].startswith("Cross-site request refused")


def test_cli_prints_the_control_document() -> None:
    result = run_cli("openapi", "--control")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == contracts.bundled_control_openapi()


# -- the check every control answer in the suite goes through -------------------


@pytest.mark.parametrize(
    ("method", "path", "status", "text", "problem"),
    [
        ("GET", "/_mock/health", 200, '{"status": "ok"}', "'version' is a required property"),
        ("GET", "/_mock/health", 500, '{"detail": "A server error occurred."}', "500 is not a documented status"),
        ("DELETE", "/_mock/faults", 204, "{}", "a body where the document says none"),
        ("GET", "/_mock/state/items/7", 200, '{"id": 7}', "is a required property"),
        ("POST", "/_mock/seed", 400, '{"detail": "x", "errors": []}', "is not valid under any of the given schemas"),
        ("GET", "/_mock/strict", 200, "strict", "the body is not JSON"),
    ],
)
def test_the_control_check_flags_wrong_answers(method: str, path: str, status: int, text: str, problem: str) -> None:
    problems = control_response_problems(method, path, status, text)
    assert problems and problem in " ".join(problems), problems


def test_the_control_check_takes_right_answers_and_leaves_other_pages_alone() -> None:
    assert control_response_problems("GET", "/_mock/health", 200, '{"status": "ok", "version": "1.2.3"}') == []
    assert control_response_problems("DELETE", "/_mock/faults/abc", 404, '{"detail": "Not found."}') == []
    # The inspector's page and a method the route does not take are outside the document.
    assert control_response_problems("GET", "/_mock/", 200, "<!doctype html>") == []
    assert control_response_problems("GET", "/_mock/reset", 405, '{"detail": "Method \\"GET\\" not allowed."}') == []
