"""Every test that touches SQL gets a real PostgreSQL database of its own.

The server comes from service.database.server_for_tests (TEST_DATABASE_URL,
else Docker through testcontainers, else an embedded PostgreSQL). Migrations
are applied once to a template database; each test gets a clone of it, which
costs milliseconds (CREATE DATABASE ... TEMPLATE ... STRATEGY FILE_COPY).
"""

from __future__ import annotations

import itertools
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2 as httpx
import psycopg
import pytest
from psycopg import sql
from starlette.testclient import TestClient

from service import migrations, tokens
from service.app import create_app
from service.config import PoolSettings
from service.database import server_for_tests, with_database

_RUN = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
_counter = itertools.count()


def pytest_report_header() -> str:
    if os.environ.get("TEST_DATABASE_URL"):
        return "worktrack test database: TEST_DATABASE_URL"
    return "worktrack test database: testcontainers if Docker answers, else embedded PostgreSQL"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """URL of a maintenance database on the test server."""
    with server_for_tests() as (url, source):
        with psycopg.connect(url) as conn:
            version = conn.info.server_version
        print(f"\nworktrack tests on PostgreSQL {version} ({source})")
        assert version >= 150000, "worktrack needs PostgreSQL 15 or newer"
        yield url


def _create_database(server_url: str, name: str, template: str | None = None) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        if template:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
        else:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    return with_database(server_url, name)


def _drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def template_db(pg_server: str) -> Iterator[str]:
    """Name of a database with every migration applied, cloned for each test."""
    name = f"worktrack_template_{_RUN}"
    url = _create_database(pg_server, name)
    migrations.apply(url)
    yield name
    _drop_database(pg_server, name)


class CloneFactory:
    """Keeps a few clones of the template ready, and drops used ones, in a background
    thread: creating a database costs a checkpoint (100-400 ms), which tests then
    do not wait for."""

    def __init__(self, server_url: str, template: str, ahead: int = 2) -> None:
        self.server_url, self.template, self.ahead = server_url, template, ahead
        self.ready: queue.Queue[str] = queue.Queue()
        self.used: queue.Queue[str] = queue.Queue()
        self.stopping = threading.Event()
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._work, name="clone-factory", daemon=True)
        self.thread.start()

    def _work(self) -> None:
        try:
            while not self.stopping.is_set():
                try:
                    _drop_database(self.server_url, self.used.get_nowait())
                    continue
                except queue.Empty:
                    pass
                if self.ready.qsize() < self.ahead:
                    name = f"worktrack_test_{_RUN}_{next(_counter)}"
                    _create_database(self.server_url, name, template=self.template)
                    self.ready.put(name)
                else:
                    time.sleep(0.005)
        except BaseException as exc:  # surfaced to the next test that asks for a clone
            self.failure = exc

    def take(self) -> str:
        while True:
            if self.failure is not None:
                raise RuntimeError("could not clone the template database") from self.failure
            try:
                return self.ready.get(timeout=0.1)
            except queue.Empty:
                continue

    def give_back(self, name: str) -> None:
        self.used.put(name)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join()
        for leftovers in (self.used, self.ready):
            while not leftovers.empty():
                _drop_database(self.server_url, leftovers.get())


@pytest.fixture(scope="session")
def clones(pg_server: str, template_db: str) -> Iterator[CloneFactory]:
    factory = CloneFactory(pg_server, template_db)
    yield factory
    factory.close()


@pytest.fixture
def db_url(pg_server: str, clones: CloneFactory) -> Iterator[str]:
    """A migrated database of this test's own."""
    name = clones.take()
    yield with_database(pg_server, name)
    clones.give_back(name)


@pytest.fixture
def empty_db_url(pg_server: str) -> Iterator[str]:
    """An empty database (no migrations) of this test's own."""
    name = f"worktrack_empty_{_RUN}_{next(_counter)}"
    url = _create_database(pg_server, name)
    yield url
    _drop_database(pg_server, name)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """An autocommit connection to this test's migrated database."""
    with psycopg.connect(db_url, autocommit=True) as connection:
        yield connection


TEST_POOL = PoolSettings(
    min_size=1, max_size=4, timeout=2.0, max_lifetime=600.0, max_idle=60.0, statement_timeout_ms=5000
)


def make_token(database_url: str, name: str, role: str = "admin", projects: list[str] | None = None) -> str:
    """A token made in the database, as `worktrack token create` makes it."""
    with psycopg.connect(database_url) as connection:
        return tokens.create(connection, name, role, projects or [])


def admin_token(database_url: str) -> str:
    return make_token(database_url, f"test-admin-{uuid.uuid4().hex[:8]}")


CLIENT_TOKEN = "test-admin"  # the name of the client fixture's token: the actor of its changes


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    """The ASGI app on this test's database, signed in as an admin (token CLIENT_TOKEN); the lifespan
    runs (pool opened and closed)."""
    app = create_app(db_url, TEST_POOL)
    # A loopback Host name: the API answers only the names it is served under.
    with TestClient(
        app,
        base_url="http://localhost",
        raise_server_exceptions=False,
        headers={"Authorization": f"Bearer {make_token(db_url, CLIENT_TOKEN)}"},
    ) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    """A running `worktrack serve`: its base URL, and its output once it stopped."""

    def __init__(self, base: str, process: subprocess.Popen[bytes]) -> None:
        self.base, self.process, self.output = base, process, ""


@contextmanager
def serving(database_url: str, *args: str, **env: str) -> Iterator[Served]:
    """`worktrack serve ARGS` on a free loopback port, once /healthz answers; stopped
    (SIGTERM, as a process manager would) when the block ends. Its output goes to a
    file, not a pipe, so a chatty server never blocks on a full pipe.

    Access control is off (WORKTRACK_AUTH=disabled, allowed on loopback: every
    caller is an admin) unless the test passes WORKTRACK_AUTH itself."""
    env = {"WORKTRACK_AUTH": "disabled", **env}
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(port), *args],
            env={**os.environ, "DATABASE_URL": database_url, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        served = Served(f"http://127.0.0.1:{port}", process)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{served.base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, "the server exited before it was up"
                assert time.monotonic() < deadline, "the server did not start in 30 s"
                time.sleep(0.2)
            yield served
        finally:
            process.terminate()
            process.wait(timeout=15)
            log.seek(0)
            served.output = log.read().decode("utf-8", "replace")


@pytest.fixture(scope="session")
def live_server(pg_server: str, clones: CloneFactory) -> Iterator[str]:
    """worktrack serve on a migrated database of its own, with a little data to find."""
    name = clones.take()
    try:
        with serving(
            with_database(pg_server, name),
            "--no-migrate",
            "--log-level",
            "warning",
            WORKTRACK_POOL_MAX_SIZE="4",
        ) as served:
            base = served.base
            httpx.post(f"{base}/projects", json={"key": "alpha", "name": "Alpha"})
            httpx.post(f"{base}/projects/alpha/epics", json={"key": "E01", "title": "Epic"})
            httpx.post(
                f"{base}/projects/alpha/features", json={"key": "E01-F01", "epic": "E01", "title": "F"}
            )
            httpx.post(
                f"{base}/projects/alpha/tasks/bulk", json=[{"key": f"T-{n}", "title": "t"} for n in range(5)]
            )
            yield base
    finally:
        clones.give_back(name)
