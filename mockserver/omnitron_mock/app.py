"""The Flask application factory."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from omnitron_mock import errors
from omnitron_mock.access import EXTENSION_KEY, TENANTS_KEY
from omnitron_mock.config import Settings, UserSpec, env_users, env_value
from omnitron_mock.context import emulator
from omnitron_mock.contracts import CONTRACTS_VERSION, SCHEMA_NAMES, Contracts, bundled_openapi
from omnitron_mock.control import blueprint as control_blueprint
from omnitron_mock.errors import APIError
from omnitron_mock.faults import normalise_all, read_fault_profile
from omnitron_mock.hosts import HostGuard, redirect_location
from omnitron_mock.inspector import blueprint as inspector_blueprint
from omnitron_mock.jsonio import json_response
from omnitron_mock.pipeline import Pipeline
from omnitron_mock.rules import Rules
from omnitron_mock.seed import read_seed_file, startup_seed
from omnitron_mock.service import Emulator
from omnitron_mock.site_guard import INSPECTOR_HEADERS, cross_site_problem
from omnitron_mock.store.base import SeedData, Store
from omnitron_mock.store.choice import open_store, open_tenant_space
from omnitron_mock.store.memory import MemoryStore
from omnitron_mock.tenants import Tenants, check_startup_seed


def create_app(
    settings: Settings | None = None,
    seed: SeedData | dict | None = None,
    store: Store | None = None,
    users: Sequence[UserSpec] = (),
    faults: object = None,
    *,
    startup_writes: bool = True,
) -> Flask:
    """An emulator app.

    ``seed`` is a seed document (dict) or prepared :class:`SeedData`; the
    default seed when ``None``. ``store`` defaults to the database ``settings.db`` names when set
    (a SQLite file, or a ``postgresql://`` URL), else a fresh in-memory store. The seed is what
    ``POST /_mock/reset`` restores; a database that already holds state keeps it.
    ``users`` replace the development user (see :func:`omnitron_mock.seed.startup_seed`).
    ``faults`` (one fault spec or a list: a fault profile) are active from the
    start and come back with every reset.
    ``startup_writes=False`` leaves out what a server's start writes into a
    store that already holds state: the strict switch back to the settings'
    and, in tenant mode, the root world back to the startup seed. For the
    worker processes of one server, whose parent wrote them already: a worker
    starting late (or replacing one that died) must not undo what another did.
    """
    settings = settings or Settings()
    contracts = Contracts(settings.extra_statuses, settings.extra_shipping_companies, settings.max_items)
    initial = seed if isinstance(seed, SeedData) else startup_seed(seed, users, contracts)
    if faults is not None:
        initial = replace(initial, faults=[*initial.faults, *normalise_all(faults, contracts)])
    if settings.tenant_per_user:
        # Before anything is written: a refused start leaves a shared database as it was.
        check_startup_seed(initial, settings)
    if store is None and settings.db:
        store = open_store(settings.db, settings.journal_limit, settings.journal_bytes)
    elif store is None:
        store = MemoryStore(settings.journal_limit, settings.journal_bytes)
    state = Emulator(
        settings=settings,
        contracts=contracts,
        rules=Rules.from_contracts(contracts, settings.max_items, settings.strict),
        store=store,
    )
    store.initialize(initial)
    # A mode, not state: a database from an earlier run keeps its rows, but the
    # settings this server started with decide strictness until switched.
    if startup_writes:
        state.set_strict(settings.strict)
    # In tenant mode users decide the tenants, and every replica must read the same ones.
    state.users_fixed = settings.tenant_per_user
    tenants = (
        Tenants(state, open_tenant_space(settings, store), initial, startup_writes=startup_writes)
        if settings.tenant_per_user
        else None
    )

    app = Flask("omnitron_mock")
    app.extensions[EXTENSION_KEY] = state
    if tenants is not None:
        app.extensions[TENANTS_KEY] = tenants
    app.register_blueprint(control_blueprint)
    app.register_blueprint(inspector_blueprint)
    _add_contract_routes(app)
    app.before_request(_guard_request)
    app.after_request(_add_page_headers)
    app.register_error_handler(APIError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    # The host check first; then the emulated API's pipeline, which hands
    # every other path (control API, inspector, contracts) to Flask.
    app.wsgi_app = HostGuard(Pipeline(app.wsgi_app, state, tenants), settings.allowed_hosts)  # type: ignore[method-assign]
    return app


def emulator_of(app: Flask) -> Emulator:
    """The service API of an app made by :func:`create_app`: seed, reset,
    strict mode, faults and the journal, from Python (what ``/_mock/``
    offers over HTTP)."""
    return app.extensions[EXTENSION_KEY]


def tenants_of(app: Flask) -> Tenants | None:
    """The tenants of an app started in tenant mode (``tenant_per_user``), else
    None: ``tenants_of(app).world("team-a")`` is that tenant's
    :class:`~omnitron_mock.service.Emulator`, as its token reaches it over HTTP."""
    return app.extensions.get(TENANTS_KEY)


def create_app_from_env(environ: Mapping[str, str] | None = None) -> Flask:
    """An app configured by ``OMNITRON_MOCK_*`` variables alone (WSGI servers, Docker)."""
    seed_path = env_value("SEED", environ)
    faults_path = env_value("FAULTS", environ)
    return create_app(
        Settings.from_env(environ),
        seed=read_seed_file(seed_path) if seed_path else None,
        users=env_users(environ),
        faults=read_fault_profile(faults_path) if faults_path else None,
    )


def _guard_request() -> Response | None:
    current = request._get_current_object()  # type: ignore[attr-defined]
    if request.path.startswith("/_mock/"):
        problem = cross_site_problem(
            request.headers.get("Origin"), request.headers.get("Sec-Fetch-Site"), request.host, request.scheme
        )
        if problem is not None:
            raise problem
    if isinstance(current.routing_exception, RequestRedirect):
        # A missing trailing slash is a 301, as on the emulated endpoints.
        location = redirect_location(current.routing_exception.new_url, emulator().settings.allowed_hosts)
        return Response(status=301, headers={"Location": location})
    return None


def _add_page_headers(response: Response) -> Response:
    if request.path.startswith("/_mock/"):
        headers = INSPECTOR_HEADERS if response.mimetype == "text/html" else {"X-Content-Type-Options": "nosniff"}
        for name, value in headers.items():
            response.headers.setdefault(name, value)
    return response


def _api_error(error: APIError) -> Response:
    return json_response(error.body, error.status, error.headers)


def _http_error(error: HTTPException) -> Response:
    code = error.code or 500
    if code == 404:
        return json_response({"detail": "Not found."}, 404)
    if code == 405:
        allow = ", ".join(getattr(error, "valid_methods", None) or [])
        return json_response({"detail": f'Method "{request.method}" not allowed.'}, 405, {"Allow": allow})
    return json_response({"detail": error.description or error.name}, code)


def _unexpected_error(error: Exception) -> Response:
    failure = errors.unexpected(error, request.method, request.path)
    return json_response(failure.body, failure.status)


def _add_contract_routes(app: Flask) -> None:
    @app.get("/")
    def front_door() -> Response:
        # Someone opened the bare URL: say where things are.
        return json_response(
            {
                "emulator": "omnitron-mock",
                "api": ["/api/i1/", "/api/v1/"],
                "inspector": "/_mock/",
                "control": "/_mock/health",
                "openapi": "/openapi.json",
                "contracts": "/contracts/",
            }
        )

    @app.get("/openapi.json")
    def openapi_document() -> Response:
        return json_response(bundled_openapi(emulator().contracts))

    @app.get("/contracts/")
    def contract_index() -> Response:
        return json_response(
            {
                "version": CONTRACTS_VERSION,
                "schemas": [f"/contracts/{CONTRACTS_VERSION}/{name}.json" for name in SCHEMA_NAMES],
            }
        )

    @app.get(f"/contracts/{CONTRACTS_VERSION}/<name>.json")
    def versioned_contract_schema(name: str) -> Response:
        # Named by this emulator's own address: a validator that loads a schema
        # from here resolves its references here too.
        schema = _schema_or_404(name)
        # Absolute only when the Host was checked; otherwise a reference that
        # resolves against wherever the schema was fetched from.
        schema["$id"] = redirect_location(request.base_url, emulator().settings.allowed_hosts)
        return json_response(schema)

    @app.get("/contracts/<name>.json")
    def contract_schema(name: str) -> Response:
        # As committed, $id and all: the unversioned address of earlier versions.
        return json_response(_schema_or_404(name))


def _schema_or_404(name: str) -> dict[str, Any]:
    """A copy of the named schema (the one the validators hold stays as it is)."""
    try:
        return copy.deepcopy(emulator().contracts.schema(name))
    except KeyError:
        raise errors.not_found() from None
