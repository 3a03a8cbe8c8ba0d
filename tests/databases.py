"""The PostgreSQL server the tests use, and the databases they make on it.

The server: TEST_DATABASE_URL if set; else a throwaway container when a Docker
engine answers (testcontainers); else a throwaway embedded PostgreSQL.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from service import embedded
from service.postgres import first_line, normalize_url

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
        url = embedded.server_url(data_dir)
        with psycopg.connect(url, autocommit=True) as conn:
            # A throwaway server: durability buys nothing and costs every CREATE DATABASE.
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                conn.execute(sql.SQL("ALTER SYSTEM SET {} = off").format(sql.Identifier(setting)))
            conn.execute("SELECT pg_reload_conf()")
        yield url, "embedded"
    finally:
        embedded.stop()
        shutil.rmtree(data_dir.parent, ignore_errors=True)
