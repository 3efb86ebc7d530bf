"""A throwaway PostgreSQL server for the tests: Debian's ``postgresql``
binaries, ``initdb`` into a temporary directory, ``pg_ctl`` on a free port.

No mock database: the PostgreSQL store is tested against the real server.
PostgreSQL refuses to run as root, so a root test run starts it as the
``postgres`` system user (which Debian's package creates).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

# The server's superuser and the database the tests get first.
SUPERUSER = "omnitron"
DATABASE = "omnitron_mock"
# The system user a root run starts the server as.
SYSTEM_USER = "postgres"
# How long a start may take.
READY_WITHIN_SECONDS = 60.0
# A port another process took between our probe and the server's bind: try another.
START_ATTEMPTS = 5


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server binaries are not installed."""


def postgres_bin() -> Path:
    """The newest installed ``/usr/lib/postgresql/*/bin`` holding ``initdb``."""
    found = [Path(path).parent for path in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    if not found:
        raise PostgresUnavailable(
            "PostgreSQL's server binaries are missing (no /usr/lib/postgresql/*/bin/initdb); "
            "install Debian's package: apt-get install postgresql"
        )
    return max(found, key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0)


def free_port() -> int:
    """A loopback port free at this moment (the server binds it a moment later:
    a start that loses the race tries another)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresServer:
    """A running server: where it listens and how to reach it."""

    bin_dir: Path
    directory: Path
    port: int
    as_user: str | None

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def url(self) -> str:
        return self.database_url(DATABASE)

    def database_url(self, name: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{name}"

    def run(self, tool: str, *arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run one of the server's binaries, as the server's user."""
        command = [str(self.bin_dir / tool), *arguments]
        if self.as_user is not None:
            command = ["runuser", "-u", self.as_user, "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def create_database(self, name: str) -> str:
        """A new, empty database on this server; its URL."""
        self._administer(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        """Remove a database made by :meth:`create_database`, ending any session still on it."""
        self._administer(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def _administer(self, statement: sql.Composed) -> None:
        # Through the driver, not createdb/dropdb: a process (and runuser) per
        # database costs a quarter of a second, and the suite makes hundreds.
        with psycopg.connect(self.database_url("postgres"), autocommit=True) as connection:
            connection.execute(statement)

    def stop(self) -> None:
        self.run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w", check=False)


def _server_user() -> str | None:
    """Who runs the server: the postgres system user under root, else whoever runs the tests."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root, and there is no {SYSTEM_USER!r} system user to run PostgreSQL as "
            "(Debian's postgresql package creates it)"
        ) from None
    return SYSTEM_USER


def _start(server: PostgresServer, options: str, log: Path) -> bool:
    """Whether the server started and accepts connections on ``server.port``;
    False when it stopped first (say, another process took the port).

    ``pg_ctl start -w`` waits on the postmaster it started: until that one
    accepts connections, or exits. Asking ``pg_ctl status`` after a ``-W``
    start instead read "no server" before the new postmaster had written its
    pid file, and the next attempt then met the first one's lock file."""
    started = server.run(
        "pg_ctl", "start", "-D", str(server.data_dir), "-l", str(log), "-o", options,
        "-w", "-t", str(int(READY_WITHIN_SECONDS)), check=False,
    )  # fmt: skip
    if started.returncode != 0:
        if server.run("pg_ctl", "status", "-D", str(server.data_dir), check=False).returncode != 3:
            raise TimeoutError(f"PostgreSQL on port {server.port} did not answer within {READY_WITHIN_SECONDS} s")
        return False
    return True


# What the tests run with: no fsync, since nothing here outlives a crash. The
# benchmarks override it (see ``settings`` below) to measure a durable server.
TEST_SETTINGS = {"listen_addresses": "127.0.0.1", "fsync": "off"}


@contextmanager
def running_postgres(settings: Mapping[str, str] | None = None) -> Iterator[PostgresServer]:
    """A fresh PostgreSQL server with an empty database :data:`DATABASE`;
    stopped and its directory removed at the end. ``settings``: server
    settings (``name: value``) over :data:`TEST_SETTINGS`."""
    chosen = {**TEST_SETTINGS, **(settings or {})}
    for name, value in chosen.items():
        # They travel in one pg_ctl -o string, split at white space.
        if not name or not value or any(character.isspace() for character in name + value):
            raise ValueError(f"a PostgreSQL setting without white space is needed, got {name!r} = {value!r}")
    bin_dir = postgres_bin()
    as_user = _server_user()
    directory = Path(tempfile.mkdtemp(prefix="omnitron-pg-"))
    try:
        if as_user is not None:
            entry = pwd.getpwnam(as_user)
            os.chown(directory, entry.pw_uid, entry.pw_gid)
        server = PostgresServer(bin_dir, directory, 0, as_user)
        server.run(
            "initdb", "-D", str(server.data_dir), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--no-sync"
        )
        log = directory / "server.log"
        # Stopped whatever happens from the first start on: a server still
        # starting at the deadline would outlive its removed directory.
        try:
            for _attempt in range(START_ATTEMPTS):
                server.port = free_port()
                options = f"-p {server.port} -k {directory} " + " ".join(f"-c {k}={v}" for k, v in chosen.items())
                if _start(server, options, log):
                    break
            else:
                raise RuntimeError(f"PostgreSQL did not start in {START_ATTEMPTS} attempts:\n{log.read_text()[-2000:]}")
            server.create_database(DATABASE)
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
