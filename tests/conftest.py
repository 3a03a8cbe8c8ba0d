"""The fixtures: every test that touches SQL gets a real PostgreSQL database of its own.

The server comes from tests.databases.server_for_tests (TEST_DATABASE_URL, else
Docker through testcontainers, else an embedded PostgreSQL). Migrations are
applied once to a template database; each test gets a clone of it, which costs
milliseconds (CREATE DATABASE ... TEMPLATE ... STRATEGY FILE_COPY). What tests
share besides fixtures is in tests/helpers.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx2 as httpx
import psycopg
import pytest
from starlette.testclient import TestClient

from service import migrations
from service.app import create_app
from service.postgres import create_database, drop_database, with_database
from tests.databases import server_for_tests
from tests.helpers import (
    CLIENT_TOKEN,
    RUN,
    TEST_POOL,
    CloneFactory,
    make_token,
    serving,
    unique_database_name,
)


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


@pytest.fixture(scope="session")
def template_db(pg_server: str) -> Iterator[str]:
    """Name of a database with every migration applied, cloned for each test."""
    name = f"worktrack_template_{RUN}"
    url = create_database(pg_server, name)
    migrations.apply(url)
    yield name
    drop_database(pg_server, name)


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
    name = unique_database_name("empty")
    url = create_database(pg_server, name)
    yield url
    drop_database(pg_server, name)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """An autocommit connection to this test's migrated database."""
    with psycopg.connect(db_url, autocommit=True) as connection:
        yield connection


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
