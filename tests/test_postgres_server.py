"""The tests' own PostgreSQL server (tests/postgres.py): it answers on its
port, and stops and leaves nothing behind when done."""

from __future__ import annotations

import psycopg
import pytest

from tests.postgres import PostgresServer, PostgresUnavailable, running_postgres


def test_the_session_server_answers_on_its_url(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as connection:
        [(version,)] = connection.execute("SHOW server_version_num").fetchall()
    assert int(version) >= 130000


def test_new_databases_are_separate(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database("separate_check")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE TABLE only_here (n INTEGER)")
    with psycopg.connect(postgres_server.url) as connection:
        assert connection.execute("SELECT to_regclass('only_here')").fetchone() == (None,)


def test_a_server_stops_and_its_directory_goes(postgres_server: PostgresServer) -> None:
    # The session's server proves the binaries are there; this one is its own.
    try:
        with running_postgres() as server:
            directory, url = server.directory, server.url
            assert server.port != postgres_server.port
            with psycopg.connect(url) as connection:
                assert connection.execute("SELECT 1").fetchone() == (1,)
    except PostgresUnavailable as missing:  # pragma: no cover - the session fixture skipped first
        pytest.skip(str(missing))
    assert not directory.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=5)
