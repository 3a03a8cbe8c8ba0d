"""The app skeleton through the real ASGI app: health, readiness, errors, request log."""

from __future__ import annotations

import logging

import psycopg
import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from service.app import create_app
from service.migrations import known_migration_ids
from tests.conftest import TEST_POOL

PROBLEM = "application/problem+json"


def test_healthz_answers_without_the_database(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_on_a_migrated_database(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["migrations"] == len(client.app.state.known_migrations)  # type: ignore[attr-defined]


def test_readyz_names_pending_migrations(empty_db_url: str) -> None:
    with TestClient(create_app(empty_db_url, TEST_POOL), base_url="http://localhost") as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["retry-after"]
    detail = response.json()["detail"]
    assert f"{len(known_migration_ids())} migration(s) pending" in detail
    assert "0001_updated_at_function" in detail


def test_readyz_names_a_migration_this_build_does_not_know(client: TestClient, db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO _yoyo_migration (migration_hash, migration_id, applied_at_utc)"
            " VALUES ('f00', '0099_from_the_future', now())"
        )
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "does not know: 0099_from_the_future" in response.json()["detail"]


def test_readyz_is_unavailable_when_the_database_does_not_answer(pg_server: str) -> None:
    unreachable = "host=127.0.0.1 port=1 dbname=nothing user=nobody connect_timeout=1"
    with TestClient(create_app(unreachable, TEST_POOL), base_url="http://localhost") as client:
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == "the database does not answer"


def test_unknown_route_is_problem_json_404(client: TestClient) -> None:
    response = client.get("/no/such/route")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "no route matches /no/such/route",
    }


def test_wrong_method_is_problem_json_405(client: TestClient) -> None:
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["title"] == "Method Not Allowed"
    assert {method.strip() for method in response.headers["allow"].split(",")} == {"GET", "HEAD"}


def test_an_unexpected_error_is_a_500_without_a_traceback(db_url: str) -> None:
    async def broken(request: object) -> None:
        raise RuntimeError("secret internals at /srv/app.py line 12")

    app = create_app(db_url, TEST_POOL)
    app.router.routes.append(Route("/broken", broken))
    with TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as client:
        response = client.get("/broken")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert "secret" not in response.text and "Traceback" not in response.text
    assert response.json()["detail"] == "an unexpected error occurred; it has been logged"


def test_each_request_is_logged_in_one_line(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="worktrack.access"):
        client.get("/healthz")
        client.get("/missing")
    lines = [r.getMessage() for r in caplog.records if r.name == "worktrack.access"]
    assert len(lines) == 2
    assert lines[0].startswith("GET /healthz 200 ")
    assert lines[1].startswith("GET /missing 404 ")


def test_the_pool_is_opened_by_the_lifespan_and_closed_after(db_url: str) -> None:
    app = create_app(db_url, TEST_POOL)
    pool = app.state.pool
    with TestClient(app, base_url="http://localhost") as client:
        assert client.get("/readyz").status_code == 200
        assert not pool.closed
    assert pool.closed
