"""The app skeleton through the real ASGI app: health, readiness, errors, request log."""

from __future__ import annotations

import logging
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor

import httpx2 as httpx
import psycopg
import pytest
from starlette.routing import Match, Route
from starlette.testclient import TestClient

from service import request_log
from service.app import create_app
from service.migrations import known_migration_ids
from tests.helpers import TEST_POOL, serving

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


def test_each_request_is_logged_in_one_line(
    client: TestClient, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    request_log.flush()  # lines of earlier tests in this process, still buffered
    capsys.readouterr()
    with caplog.at_level(logging.INFO, logger="worktrack.access"):
        client.get("/healthz")
        client.get("/missing")
    request_log.flush()
    lines = [line for line in capsys.readouterr().err.splitlines() if " worktrack.access " in line]
    assert len(lines) == 2
    pid = os.getpid()
    assert re.fullmatch(
        rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d,\d{{3}} {pid} INFO worktrack.access GET /healthz 200 [\d.]+ms",
        lines[0],
    )
    assert f"{pid} INFO worktrack.access GET /missing 404 " in lines[1]


def test_no_request_line_below_info(
    client: TestClient, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    request_log.flush()
    capsys.readouterr()
    with caplog.at_level(logging.WARNING, logger="worktrack.access"):
        client.get("/healthz")
    request_log.flush()
    assert " worktrack.access " not in capsys.readouterr().err


def test_the_pool_is_opened_by_the_lifespan_and_closed_after(db_url: str) -> None:
    app = create_app(db_url, TEST_POOL)
    pool = app.state.pool
    with TestClient(app, base_url="http://localhost") as client:
        assert client.get("/readyz").status_code == 200
        assert not pool.closed
    assert pool.closed


def test_every_worker_logs_its_requests(db_url: str) -> None:
    """`serve --workers 2`: request lines come from both workers, each with its pid."""
    line = re.compile(r"^\S+ \S+ (\d+) INFO worktrack\.access GET /healthz 200 ", re.MULTILINE)
    with serving(db_url, "--no-migrate", "--workers", "2") as served:
        pids: set[int] = set()
        deadline = time.monotonic() + 30
        with ThreadPoolExecutor(8) as pool:
            while len(pids) < 2 and time.monotonic() < deadline:
                # A new connection each time, so that either worker may accept it.
                statuses = list(
                    pool.map(lambda _: httpx.get(f"{served.base}/healthz").status_code, range(40))
                )
                assert statuses == [200] * 40
                time.sleep(request_log.FLUSH_AFTER_SECONDS * 3)
                pids = {int(pid) for pid in line.findall(served.output_so_far())}
    assert len(pids) == 2, served.output
    assert served.process.pid not in pids  # the workers log, not (only) the parent
    # Each worker's logging is set up (not only the parent's): uvicorn's lines are in our format too.
    started = re.findall(
        r"^\S+ \S+ (\d+) INFO uvicorn.error Application startup complete", served.output, re.M
    )
    assert {int(pid) for pid in started} == pids


def test_each_route_is_reached_by_its_own_paths(client: TestClient) -> None:
    """The router takes the first route that matches; a route listed after another
    whose pattern also takes its paths would never be reached."""
    router = client.app.router  # type: ignore[attr-defined]
    checked = 0
    for route in router.routes:
        if not isinstance(route, Route) or route.methods is None:
            continue
        path = re.sub(r"\{[^}]+\}", "x1", re.sub(r"\{[^}]+:id\}", "1", route.path))
        for method in route.methods - {"HEAD"}:
            scope = {"type": "http", "path": path, "method": method, "root_path": ""}
            first = next(r for r in router.routes if r.matches(scope)[0] == Match.FULL)
            assert first is route, (method, route.path, getattr(first, "path", first))
            checked += 1
    assert checked > 60
