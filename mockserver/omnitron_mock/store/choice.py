"""Which store a ``--db`` value names: a ``postgresql://`` URL the PostgreSQL
store, anything else a SQLite file."""

from __future__ import annotations

from typing import cast
from urllib.parse import urlsplit, urlunsplit

from omnitron_mock.config import Settings
from omnitron_mock.store.base import Store
from omnitron_mock.store.tenant_space import MemoryTenantSpace, TenantSpace

POSTGRES_SCHEMES = ("postgresql", "postgres")


def is_postgres_url(db: str) -> bool:
    """Whether ``db`` is a PostgreSQL connection URL."""
    return urlsplit(db).scheme.lower() in POSTGRES_SCHEMES


def shown_db(db: str) -> str:
    """``db`` as a banner or an error may show it: a URL's password hidden."""
    if not is_postgres_url(db):
        return db
    parts = urlsplit(db)
    if parts.password is None:
        return db
    hidden = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=hidden))


def open_store(db: str, journal_limit: int, journal_bytes: int) -> Store:
    """The store ``db`` names (see the module's docstring); raise ValueError
    when a PostgreSQL server does not answer, saying where."""
    # Imported only when chosen: the SQLite store's locking is POSIX-only,
    # and the PostgreSQL driver is an optional extra.
    if is_postgres_url(db):
        import psycopg

        from omnitron_mock.store.postgres import PostgresStore

        try:
            return PostgresStore(db, journal_limit, journal_bytes)
        except psycopg.OperationalError as problem:
            raise ValueError(f"cannot use the PostgreSQL database {shown_db(db)}: {problem}".strip()) from None
    from omnitron_mock.store.sqlite import SQLiteStore

    return SQLiteStore(db, journal_limit, journal_bytes)


def open_tenant_space(settings: Settings, store: Store) -> TenantSpace:
    """Where tenants keep their worlds, beside ``store`` (the root world's,
    opened from ``settings.db``): the same kind of store, each tenant's
    journal limited to its quota."""
    journal_limit = settings.tenant_max_journal
    if not settings.db:
        return MemoryTenantSpace(journal_limit, settings.journal_bytes)
    if is_postgres_url(settings.db):
        from omnitron_mock.store.postgres import PostgresStore, PostgresTenantSpace

        return PostgresTenantSpace(cast(PostgresStore, store), journal_limit, settings.journal_bytes)
    from omnitron_mock.store.sqlite_tenants import SQLiteTenantSpace

    return SQLiteTenantSpace(settings.db, journal_limit, settings.journal_bytes)
