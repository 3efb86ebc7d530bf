"""Serving from PostgreSQL: a ``postgresql://`` database chooses the
PostgreSQL store, and what it cannot use stops the start with a clear message."""

from __future__ import annotations

from typing import Any

import pytest
from omnitron_mock import DEV_TOKEN, Settings, create_app
from omnitron_mock.store.choice import is_postgres_url, shown_db
from omnitron_mock.store.postgres import PostgresStore, SchemaTooNew

from tests.helpers import ContractCheckedClient
from tests.postgres import PostgresServer, free_port

AUTH = {"Authorization": f"Token {DEV_TOKEN}"}


def _app(db: str) -> Any:
    application = create_app(Settings(db=db))
    application.test_client_class = ContractCheckedClient
    return application


def test_a_postgresql_url_serves_from_postgresql(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database("served_app")
    first, second = _app(url), _app(url)
    assert isinstance(first.extensions["omnitron_mock"].store, PostgresStore)
    patch = {"status": "450"}
    answer = first.test_client().patch("/api/i1/order_items/1/", json=patch, headers=AUTH)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    # A second emulator on the database (another replica) sees the change and its journal entry.
    read = second.test_client().get("/api/i1/order_items/1/", headers=AUTH)
    assert read.get_json()["status"] == "450"
    assert any(
        entry["method"] == "PATCH" for entry in second.test_client().get("/_mock/requests").get_json()["requests"]
    )
    assert second.test_client().post("/_mock/reset").status_code == 200
    assert first.test_client().get("/api/i1/order_items/1/", headers=AUTH).get_json()["status"] == "400"


def test_an_unreachable_server_is_a_clear_error_naming_it_without_its_password() -> None:
    url = f"postgresql://someone:secret@127.0.0.1:{free_port()}/nothing?connect_timeout=5"
    with pytest.raises(ValueError, match=r"cannot use the PostgreSQL database postgresql://someone:\*\*\*@") as raised:
        _app(url)
    assert "secret" not in str(raised.value)


def test_a_database_of_a_newer_emulator_is_refused(postgres_server: PostgresServer) -> None:
    import psycopg

    url = postgres_server.create_database("newer_schema")
    PostgresStore(url).close()
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(SchemaTooNew, match="schema version 999"):
        PostgresStore(url)


@pytest.mark.parametrize(
    ("db", "postgres", "shown"),
    [
        ("postgresql://u:pw@h:5/d", True, "postgresql://u:***@h:5/d"),
        ("postgres://u@h/d", True, "postgres://u@h/d"),
        ("/var/lib/state.db", False, "/var/lib/state.db"),
        ("state.db", False, "state.db"),
    ],
)
def test_db_values_name_their_store_and_hide_passwords(db: str, postgres: bool, shown: str) -> None:
    assert (is_postgres_url(db), shown_db(db)) == (postgres, shown)
