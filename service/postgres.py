"""Finding and reaching a PostgreSQL: connection strings, connecting, creating
databases, and which database the server and the CLI use.

Order: an explicit URL (DATABASE_URL); otherwise the embedded PostgreSQL
(service.embedded). The tests find theirs in tests/databases.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, urlencode

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from service import config
from service.config import ConfigError


class DatabaseUnavailable(Exception):
    """The database cannot be reached or started; the message is one line for the user."""


def normalize_url(url: str) -> str:
    """A libpq connection string from a URL or key=value string.

    `postgresql+psycopg://` (yoyo's spelling) is accepted too, so one URL serves
    both worktrack and a DBA's yoyo command line.
    """
    url = url.strip()
    for prefix in ("postgresql+psycopg://", "postgres+psycopg://"):
        if url.startswith(prefix):
            url = "postgresql://" + url[len(prefix) :]
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise ConfigError(f"malformed database URL: {first_line(exc)}") from None
    if "://" in url and not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError("malformed database URL: the scheme must be postgresql://")
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None})


def with_database(url: str, dbname: str) -> str:
    """The same server and credentials, another database."""
    return make_conninfo(normalize_url(url), dbname=dbname)


def database_name(url: str) -> str:
    params = conninfo_to_dict(normalize_url(url))
    return str(params.get("dbname") or params.get("user") or "postgres")


def yoyo_url(url: str) -> str:
    """The URL yoyo understands (psycopg 3 backend), from any libpq connection string."""
    params: dict[str, Any] = dict(conninfo_to_dict(normalize_url(url)))
    dbname = str(params.pop("dbname", "") or "")
    query = urlencode({k: str(v) for k, v in params.items() if v is not None})
    return f"postgresql+psycopg:///{quote(dbname)}" + (f"?{query}" if query else "")


def redact(url: str) -> str:
    """The connection string without its password, for messages and logs."""
    params = conninfo_to_dict(normalize_url(url))
    params.pop("password", None)
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None})


def cannot_connect(url: str, exc: psycopg.Error) -> DatabaseUnavailable:
    """The one-line error of a failed connection (the password left out)."""
    return DatabaseUnavailable(f"cannot connect to {redact(url)}: {first_line(exc)}")


def connect(url: str, *, autocommit: bool = True, timeout: int = 5) -> psycopg.Connection[tuple[Any, ...]]:
    """A connection, or DatabaseUnavailable with one clear line."""
    try:
        return psycopg.connect(normalize_url(url), autocommit=autocommit, connect_timeout=timeout)
    except psycopg.Error as exc:
        raise cannot_connect(url, exc) from None


def check_connection(url: str, timeout: int = 5) -> None:
    """Connect once, or raise DatabaseUnavailable with one clear line."""
    with connect(url, timeout=timeout) as conn:
        conn.execute("SELECT 1")


def create_database_if_missing(url: str) -> bool:
    """Create the URL's database when it does not exist; True if it was created.

    The database itself is tried first, so a role that may not connect to the
    `postgres` maintenance database still works when its database exists.
    """
    try:
        check_connection(url)
        return False
    except DatabaseUnavailable as unavailable:
        if f'database "{database_name(url)}" does not exist' not in str(unavailable):
            raise
    dbname = database_name(url)
    admin = with_database(url, "postgres")
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
            return True
    except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
        # Created meanwhile by another process: a CREATE DATABASE that loses the race
        # after the catalog check fails on pg_database's unique index instead.
        return False
    except psycopg.Error as exc:
        raise DatabaseUnavailable(
            f"cannot create database {dbname!r} on {redact(admin)}: {first_line(exc)}"
        ) from None


def create_database(server_url: str, name: str, template: str | None = None) -> str:
    """A new database on the URL's server, empty (template0) or a copy of `template`; its URL."""
    with psycopg.connect(normalize_url(server_url), autocommit=True) as conn:
        if template:
            statement = sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        else:
            statement = sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
        conn.execute(statement)
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(normalize_url(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def scratch_database(server_url: str, prefix: str, *, keep: bool = False) -> Iterator[str]:
    """The URL of a new empty database on the URL's server (named `prefix_` and a
    random suffix), dropped when the block ends unless `keep`."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = with_database(server_url, "postgres")
    url = create_database(admin, name)
    try:
        yield url
    finally:
        if not keep:
            drop_database(admin, name)


def resolve_database_url() -> tuple[str, str]:
    """The database the server and CLI use, and where it came from.

    DATABASE_URL when set; otherwise the `worktrack` database on the embedded
    server, created when missing.
    """
    from service import embedded  # starts a server: imported only when needed

    url = config.database_url_from_env()
    if url:
        return normalize_url(url), "DATABASE_URL"
    url = with_database(embedded.server_url(), config.embedded_database_name())
    if create_database_if_missing(url):  # the embedded server and its database are ours
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    return url, "embedded"


def first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
