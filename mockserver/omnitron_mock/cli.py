"""``omnitron-mock`` command line: serve, validate, openapi, generate-seed,
contracts-diff, contracts-snapshot."""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import json
import os
import signal
import socket
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omnitron_mock.config import (
    ENV_PREFIX,
    Settings,
    UserSpec,
    env_users,
    env_value,
    parse_positive_int,
    parse_statuses,
    parse_whole_number,
)
from omnitron_mock.contracts import (
    SCHEMA_NAMES,
    UNKNOWN_FIELD,
    bundled_control_openapi,
    bundled_openapi,
    default_contracts,
)
from omnitron_mock.contracts.compatibility import breaking_changes, summary
from omnitron_mock.contracts.releases import (
    current_contracts,
    find_release,
    read_release,
    released_root,
    write_release,
)
from omnitron_mock.faults import FaultError, read_fault_profile
from omnitron_mock.hosts import allowed_hosts_for
from omnitron_mock.seed import SeedError, generate_seed_document, read_seed_file
from omnitron_mock.serving import (
    DEFAULT_CONNECTION_LIMIT,
    DEFAULT_REQUEST_HEAD_TIMEOUT,
    DEFAULT_THREADS,
    HTTPServer,
    listening_socket,
    raise_keyboard_interrupt,
    run_workers,
    socket_url,
)
from omnitron_mock.store.choice import shown_db
from omnitron_mock.store.posix import POSIXOnlyError

if TYPE_CHECKING:
    from flask import Flask

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def _port(text: str) -> int:
    text = text.strip()
    if not (text.isascii() and text.isdigit() and 0 <= int(text) <= 65535):
        raise argparse.ArgumentTypeError(f"port must be a number from 0 to 65535, got {text!r}")
    return int(text)


def _env_port(text: str) -> int:
    try:
        return _port(text)
    except argparse.ArgumentTypeError as problem:
        raise ValueError(f"{ENV_PREFIX}PORT: {problem}") from None


def _whole_number(text: str) -> int:
    try:
        return parse_whole_number(text, "value")
    except ValueError as problem:
        raise argparse.ArgumentTypeError(str(problem)) from None


def _positive(text: str) -> int:
    try:
        return parse_positive_int(text, "value")
    except ValueError as problem:
        raise argparse.ArgumentTypeError(str(problem)) from None


def _user(text: str) -> UserSpec:
    try:
        return UserSpec.parse(text)
    except ValueError as problem:
        raise argparse.ArgumentTypeError(str(problem)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="omnitron-mock",
        description="Emulator and contract kit for Omnitron's order item bulk status update API.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the emulator over HTTP")
    serve.add_argument("--host", help=f"interface to bind (env {ENV_PREFIX}HOST, default {DEFAULT_HOST})")
    serve.add_argument(
        "--port", type=_port, help=f"port; 0 picks a free one (env {ENV_PREFIX}PORT, default {DEFAULT_PORT})"
    )
    serve.add_argument("--seed", metavar="FILE", help=f"seed document to start from (env {ENV_PREFIX}SEED)")
    serve.add_argument(
        "--strict", action="store_true", default=None, help=f"strict status rules (env {ENV_PREFIX}STRICT)"
    )
    serve.add_argument(
        "--user",
        action="append",
        type=_user,
        metavar="NAME:PASSWORD[:TOKEN]",
        help=f"a user; repeatable; replaces the development user (env {ENV_PREFIX}USERS, comma-separated)",
    )
    serve.add_argument(
        "--faults",
        metavar="FILE",
        help=f"fault profile (one fault or a list) active from the start (env {ENV_PREFIX}FAULTS)",
    )
    serve.add_argument(
        "--admin-token",
        metavar="TOKEN",
        help=(
            f"require this X-Mock-Admin-Token on the control API; printable ASCII (env {ENV_PREFIX}ADMIN_TOKEN, "
            "which the flag overrides)"
        ),
    )
    serve.add_argument(
        "--db",
        metavar="PATH|URL",
        help=f"keep state in this SQLite file, or the PostgreSQL database of a postgresql:// URL (env {ENV_PREFIX}DB)",
    )
    serve.add_argument(
        "--threads",
        type=_positive,
        help=f"worker threads per process (env {ENV_PREFIX}THREADS, default {DEFAULT_THREADS})",
    )
    serve.add_argument(
        "--workers",
        type=_positive,
        help=f"worker processes sharing the port; more than 1 needs --db (env {ENV_PREFIX}WORKERS, default 1)",
    )
    serve.add_argument(
        "--connection-limit",
        type=_positive,
        metavar="N",
        help=f"open connections each process keeps; beyond it new ones wait unaccepted "
        f"(env {ENV_PREFIX}CONNECTION_LIMIT, default {DEFAULT_CONNECTION_LIMIT})",
    )
    serve.add_argument(
        "--request-head-timeout",
        type=_positive,
        metavar="SECONDS",
        help=f"seconds a connection gets to send its request head (a body as long again, plus 1 s per 500 "
        f"bytes); a slower one gets 408 and is closed (env {ENV_PREFIX}REQUEST_HEAD_TIMEOUT, "
        f"default {DEFAULT_REQUEST_HEAD_TIMEOUT})",
    )
    serve.add_argument(
        "--trusted-proxy",
        metavar="ADDR",
        help=f"believe X-Forwarded-For/-Host/-Proto/-Port from this proxy address, '*' for any; "
        f"by default they are removed (env {ENV_PREFIX}TRUSTED_PROXY)",
    )
    serve.add_argument(
        "--allowed-host",
        action="append",
        metavar="NAME",
        help=f"a Host name to answer besides loopback names; repeatable, '.example.com' for a domain "
        f"(env {ENV_PREFIX}ALLOWED_HOSTS, comma-separated)",
    )
    serve.add_argument(
        "--tenant-per-user",
        action="store_true",
        default=None,
        help=f"each user (or a seed's named tenant) gets a world of its own (env {ENV_PREFIX}TENANT_PER_USER)",
    )
    serve.add_argument(
        "--tenant-max-orders",
        type=_positive,
        metavar="N",
        help=f"orders one tenant may hold (env {ENV_PREFIX}TENANT_MAX_ORDERS, default 10000)",
    )
    serve.add_argument(
        "--tenant-max-journal",
        type=_positive,
        metavar="N",
        help=f"journal entries one tenant may hold before its API calls are refused "
        f"(env {ENV_PREFIX}TENANT_MAX_JOURNAL, default 10000)",
    )
    serve.add_argument(
        "--tenant-idle-seconds",
        type=_whole_number,
        metavar="SECONDS",
        help=f"a tenant unseen this long goes back to the startup seed; 0 never "
        f"(env {ENV_PREFIX}TENANT_IDLE_SECONDS, default 86400)",
    )
    serve.add_argument("--max-items", type=_positive, help=f"bulk item limit (env {ENV_PREFIX}MAX_ITEMS, default 1000)")
    serve.add_argument(
        "--max-body-bytes", type=_positive, help=f"request body limit (env {ENV_PREFIX}MAX_BODY_BYTES, default 1048576)"
    )
    serve.add_argument(
        "--extra-status",
        action="append",
        metavar="CODE:NAME",
        help=f"add a status code; repeatable (env {ENV_PREFIX}EXTRA_STATUSES, comma-separated)",
    )
    serve.add_argument(
        "--extra-shipping-company",
        action="append",
        metavar="SLUG",
        help=f"add a courier slug; repeatable (env {ENV_PREFIX}EXTRA_SHIPPING_COMPANIES, comma-separated)",
    )

    validate = commands.add_parser(
        "validate",
        help="check a JSON file against a contract (exit 0 valid, 1 errors or unknown fields)",
        description="Check a JSON file against a contract. A field the contract does not name (the service "
        "would ignore it: a misspelt tracking_no) is reported on a line of its own and fails the check, "
        "as the strict request profile does, unless --allow-unknown-fields.",
    )
    validate.add_argument("schema", metavar="SCHEMA", help="contract name: " + ", ".join(SCHEMA_NAMES))
    validate.add_argument("file", metavar="FILE", help="JSON file, or - for standard input")
    validate.add_argument(
        "--allow-unknown-fields",
        action="store_true",
        help="still list unknown fields, but exit 0 when they are the only finding",
    )

    openapi = commands.add_parser("openapi", help="print the OpenAPI 3.1 document, schemas inlined")
    openapi.add_argument("--control", action="store_true", help="the control API's (/_mock/) document instead")

    generate = commands.add_parser("generate-seed", help="print a seed of N orders x M items")
    generate.add_argument("--orders", type=int, required=True, metavar="N")
    generate.add_argument("--items", type=int, required=True, metavar="M", help="items per order")
    generate.add_argument("--output", "-o", metavar="FILE", help="write here instead of standard output")

    diff = commands.add_parser(
        "contracts-diff", help="list the changes that break consumers of released contracts (exit 0 none, 1 some)"
    )
    diff.add_argument(
        "old",
        metavar="OLD",
        nargs="?",
        help="a release snapshot, or a folder of them (the newest counts); the last release shipped when absent",
    )
    diff.add_argument("new", metavar="NEW", nargs="?", help="another snapshot; the installed contracts when absent")
    snapshot = commands.add_parser(
        "contracts-snapshot", help="write the installed contracts as the snapshot ROOT/<version>/ of a release"
    )
    snapshot.add_argument("root", metavar="ROOT", help="the folder of snapshots: contracts/released in a checkout")
    return parser


def _serve_settings(args: argparse.Namespace, host: str) -> Settings:
    environ = dict(os.environ)
    if args.admin_token is not None:
        # The flag wins: the variable is not read, so an empty one does not
        # stop a start that names its token.
        environ.pop(ENV_PREFIX + "ADMIN_TOKEN", None)
    settings = Settings.from_env(environ)
    changes: dict[str, Any] = {}
    if args.strict:
        changes["strict"] = True
    if args.tenant_per_user:
        changes["tenant_per_user"] = True
    for name in ("tenant_max_orders", "tenant_max_journal", "tenant_idle_seconds", "max_items"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    if args.max_body_bytes is not None:
        changes["max_body_bytes"] = args.max_body_bytes
    if args.extra_status:
        changes["extra_statuses"] = {**settings.extra_statuses, **parse_statuses(",".join(args.extra_status))}
    if args.db:
        changes["db"] = args.db
    if args.admin_token is not None:
        # Even when empty: Settings refuses an empty token rather than run unprotected.
        changes["admin_token"] = args.admin_token
    if args.extra_shipping_company:
        changes["extra_shipping_companies"] = settings.extra_shipping_companies + tuple(args.extra_shipping_company)
    changes["allowed_hosts"] = allowed_hosts_for(host, (*(settings.allowed_hosts or ()), *(args.allowed_host or ())))
    return replace(settings, **changes)


def _positive_setting(raw: str | None, name: str, default: int) -> int:
    return parse_positive_int(raw or str(default), ENV_PREFIX + name)


def serve(args: argparse.Namespace) -> int:
    from omnitron_mock.app import create_app

    host = args.host or env_value("HOST") or DEFAULT_HOST
    port = args.port if args.port is not None else _env_port(env_value("PORT") or str(DEFAULT_PORT))
    settings = _serve_settings(args, host)
    threads = args.threads or _positive_setting(env_value("THREADS"), "THREADS", DEFAULT_THREADS)
    workers = args.workers or _positive_setting(env_value("WORKERS"), "WORKERS", 1)
    connection_limit = args.connection_limit or _positive_setting(
        env_value("CONNECTION_LIMIT"), "CONNECTION_LIMIT", DEFAULT_CONNECTION_LIMIT
    )
    request_head_timeout = args.request_head_timeout or _positive_setting(
        env_value("REQUEST_HEAD_TIMEOUT"), "REQUEST_HEAD_TIMEOUT", DEFAULT_REQUEST_HEAD_TIMEOUT
    )
    server_options: dict[str, Any] = {
        "threads": threads,
        "connection_limit": connection_limit,
        "request_head_timeout": request_head_timeout,
        "trusted_proxy": args.trusted_proxy or env_value("TRUSTED_PROXY"),
    }
    if workers > 1 and not settings.db:
        raise ValueError(
            f"--workers {workers} needs --db PATH ({ENV_PREFIX}DB): with the memory store each worker "
            "process would keep a state of its own"
        )
    if workers > 1 and not hasattr(os, "fork"):
        raise ValueError("--workers above 1 needs a system with fork()")
    seed_path = args.seed or env_value("SEED")
    faults_path = args.faults or env_value("FAULTS")
    seed = read_seed_file(seed_path) if seed_path else None
    users = args.user or env_users()
    faults = read_fault_profile(faults_path) if faults_path else None

    def build(startup_writes: bool = True) -> Flask:
        return create_app(settings, seed=seed, users=users, faults=faults, startup_writes=startup_writes)

    # Built here in every case: a bad seed or profile stops the start with its
    # message, and the banner shows the users and faults the state holds.
    app = build()
    if workers == 1:
        server = HTTPServer(app, sock=_listen(host, port), **server_options)
        print(_banner(server.url, app, settings, workers), flush=True)
        signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
        return 0
    sock = _listen(host, port)
    banner = _banner(socket_url(sock), app, settings, workers)
    # Each worker opens the database itself; no SQLite connection may cross a fork.
    del app
    gc.collect()

    def work() -> None:
        with contextlib.suppress(KeyboardInterrupt):
            HTTPServer(build(startup_writes=False), sock=sock, **server_options).serve_forever()

    # Printed once the workers exist: the socket queues connections until one accepts.
    return run_workers(workers, work, started=lambda: print(banner, flush=True))


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket; a port another process holds is one clear line, not a traceback."""
    try:
        return listening_socket(host, port)
    except OSError as problem:
        reason = (problem.strerror or str(problem)).lower()
        if problem.errno == errno.EADDRINUSE:
            reason += (
                f" (another process holds the port: stop it, or choose another with --port or {ENV_PREFIX}PORT;"
                " 0 takes a free one)"
            )
        raise ValueError(f"cannot listen on {host}:{port}: {reason}") from None


def _banner(url: str, app: Flask, settings: Settings, workers: int) -> str:
    from omnitron_mock.app import emulator_of

    store = emulator_of(app).store
    lines = [f"omnitron-mock listening on {url}", f"  inspector {url}/_mock/  OpenAPI {url}/openapi.json"]
    lines += [
        f"  user {user['username']}  password {user['password']}  token {user['token']}" for user in store.users()
    ]
    if active := store.faults():
        lines.append(f"  faults active: {', '.join(fault['kind'] for fault in active)}")
    if settings.tenant_per_user:
        # Which tenants there are is the seed's to say: show them, for the teams to check.
        from omnitron_mock.tenants import tenant_of

        tenants = sorted({tenant_of(user) for user in store.users()})
        lines.append(f"  tenant mode: {len(tenants)} tenant(s) ({', '.join(tenants)}); control calls need a token")
    if settings.admin_token is not None:
        lines.append("  control API protected by admin token")
    elif settings.tenant_per_user:
        lines.append("  no admin token: each tenant reaches only its own world, nobody all of them")
    else:
        lines.append(
            "  control API open: anyone who can reach this port can reset, reseed and read it (set --admin-token)"
        )
    if workers > 1:
        lines.append(f"  {workers} worker processes sharing {shown_db(settings.db or '')}")
    lines.append(f"  strict mode {'on' if settings.strict else 'off'}; press Ctrl-C to stop")
    return "\n".join(lines)


def validate(args: argparse.Namespace) -> int:
    if args.schema not in SCHEMA_NAMES:
        print(f"unknown contract {args.schema!r}; known: {', '.join(SCHEMA_NAMES)}", file=sys.stderr)
        return 2
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
        instance = json.loads(text)
    except (OSError, ValueError) as problem:
        print(f"{args.file}: cannot read JSON: {problem}", file=sys.stderr)
        return 2
    verdict = default_contracts().validate_strict(args.schema, instance)
    unknown = [finding for finding in verdict if finding.message == UNKNOWN_FIELD]
    errors = [finding for finding in verdict if finding.message != UNKNOWN_FIELD]
    findings = [f"{len(errors)} error(s)"] if errors else []
    findings += [f"{len(unknown)} unknown field(s)"] if unknown else []
    if not findings:
        print(f"{args.file}: valid {args.schema}")
    elif not errors and args.allow_unknown_fields:
        print(f"{args.file}: valid {args.schema}, {findings[0]} allowed")
    else:
        hint = " (--allow-unknown-fields accepts them)" if unknown and not args.allow_unknown_fields else ""
        print(f"{args.file}: {' and '.join(findings)} against {args.schema}{hint}")
    for finding in verdict:
        print(f"  {finding}")
    return 1 if errors or (unknown and not args.allow_unknown_fields) else 0


def contracts_diff(args: argparse.Namespace) -> int:
    """Print each breaking change on a line; exit 1 when there is any."""
    old = read_release(find_release(Path(args.old) if args.old else released_root()))
    new = read_release(find_release(Path(args.new))) if args.new else current_contracts()
    breaks = breaking_changes(old, new)
    print(summary(old, new, breaks))
    for change in breaks:
        print(f"  {change}")
    return 1 if breaks else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            return serve(args)
        if args.command == "validate":
            return validate(args)
        if args.command == "openapi":
            document = bundled_control_openapi() if args.control else bundled_openapi()
            print(json.dumps(document, indent=2, ensure_ascii=False))
            return 0
        if args.command == "contracts-diff":
            return contracts_diff(args)
        if args.command == "contracts-snapshot":
            folder = write_release(current_contracts(), Path(args.root))
            print(f"wrote the contracts of {current_contracts().version} to {folder}")
            return 0
        document = generate_seed_document(args.orders, args.items)
        text = json.dumps(document, separators=(",", ":"))
        if args.output:
            with open(args.output, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
        else:
            print(text)
        return 0
    except (SeedError, FaultError) as problem:
        print(f"{'seed' if isinstance(problem, SeedError) else 'fault profile'} error:", file=sys.stderr)
        for path, message in problem.errors:
            print(f"  {path}: {message}", file=sys.stderr)
        return 2
    except (ValueError, POSIXOnlyError) as problem:
        print(f"omnitron-mock: {problem}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
