"""Unlucky and hostile clients: what a write answers once it committed, bounded
bodies, headers and waits, settings checked once, concurrent starts, and the HTTP
hygiene a public service needs. Raw sockets where the attack is below HTTP clients."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx2 as httpx
import psycopg
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.types import Message

from service import migrations, request_log
from service.postgres import with_database
from service.request_input import NUL_MESSAGE
from tests.helpers import CloneFactory, Served, serving

PROBLEM = "application/problem+json"


# --- a write that committed answers 2xx, naming the stored key ------------------


def test_a_project_key_outside_ascii_names_no_project_and_stores_nothing(
    client: TestClient, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    assert client.post("/projects", json={"key": "idea", "name": "Idea"}).status_code == 201
    # İ (U+0130) and the Kelvin sign (U+212A) fold to ASCII under lower(): no project
    for spelling in ("%C4%B0dea", "%E2%84%AAelvin"):
        response = client.post(f"/projects/{spelling}/tasks", json={"key": "T-1", "title": "t"})
        assert response.status_code == 404
        assert "ASCII" in response.json()["detail"]
    assert conn.execute("SELECT count(*) FROM tasks").fetchone() == (0,)


def test_location_names_the_stored_key_whatever_case_the_path_used(client: TestClient) -> None:
    client.post("/projects", json={"key": "idea", "name": "Idea"})
    response = client.post("/projects/IDEA/tasks", json={"key": "T-1", "title": "t"})
    assert response.status_code == 201
    assert response.headers["location"] == "/projects/idea/tasks/T-1"
    response = client.post("/projects/IdEa/epics", json={"key": "E01", "title": "e"})
    assert response.headers["location"] == "/projects/idea/epics/E01"
    response = client.post("/projects/IDEA/features", json={"key": "E01-F01", "epic": "E01", "title": "f"})
    assert response.headers["location"] == "/projects/idea/features/E01-F01"


# --- a real server with small bounds --------------------------------------------


@pytest.fixture(scope="module")
def bounded_server(pg_server: str, clones: CloneFactory) -> Iterator[Served]:
    name = clones.take()
    try:
        with serving(
            with_database(pg_server, name),
            "--no-migrate",
            WORKTRACK_MAX_BODY_BYTES="65536",
            WORKTRACK_MAX_HEADER_BYTES="16384",
            WORKTRACK_HEADER_TIMEOUT="1",
            WORKTRACK_BODY_TIMEOUT="1",
        ) as served:
            httpx.post(f"{served.base}/projects", json={"key": "alpha", "name": "Alpha"})
            yield served
    finally:
        clones.give_back(name)


def _connect(served: Served) -> socket.socket:
    port = int(served.base.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


def _status_of(sock: socket.socket) -> int:
    answer = b""
    while b"\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    return int(answer.split(b" ", 2)[1])


def _send_until_answered(sock: socket.socket, head: bytes, chunk: bytes, limit: int) -> tuple[int, int]:
    """Send `head`, then `chunk` until the server answers or stops reading; (status, bytes sent)."""
    sock.sendall(head)
    sock.settimeout(0.05)
    sent = 0
    while sent < limit:
        try:
            sock.sendall(chunk)
            sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            break
        try:
            if sock.recv(1, socket.MSG_PEEK):
                break
        except TimeoutError:
            continue
    sock.settimeout(10)
    return _status_of(sock), sent


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(bounded_server: Served) -> None:
    head = (
        b"POST /projects/alpha/tasks/bulk HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    piece = b"x" * 8192
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    with _connect(bounded_server) as sock:
        status, sent = _send_until_answered(sock, head, chunk, 64 * 1024 * 1024)
    assert status == 413
    assert sent < 8 * 1024 * 1024, "the server kept reading long past the 64 KiB limit"


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(bounded_server: Served) -> None:
    response = httpx.post(
        f"{bounded_server.base}/projects",
        content=b"{" + b" " * 70_000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


def test_headers_over_the_limit_are_refused(bounded_server: Served) -> None:
    head = b"GET /projects HTTP/1.1\r\nHost: localhost\r\nX-Big: "
    with _connect(bounded_server) as sock:
        status, sent = _send_until_answered(sock, head, b"a" * 4096, 16 * 1024 * 1024)
    assert status == 431
    assert sent < 1024 * 1024


@pytest.mark.parametrize("size", [20_000, 120_000])
def test_headers_over_the_limit_in_one_read_are_refused(bounded_server: Served, size: int) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * size + b"\r\n\r\n"
    with _connect(bounded_server) as sock:
        sock.sendall(request)
        assert _status_of(sock) == 431


def test_headers_under_the_limit_with_a_body_in_the_same_read_are_answered(bounded_server: Served) -> None:
    tasks = [{"key": f"B-{n}", "title": "t" * 150} for n in range(150)]
    body = json.dumps(tasks).encode()  # over 16 KiB, under the 64 KiB body limit
    request = (
        b"POST /projects/alpha/tasks/bulk HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    with _connect(bounded_server) as sock:
        sock.sendall(request)
        assert _status_of(sock) == 201


def test_headers_that_never_end_time_out(bounded_server: Served) -> None:
    with _connect(bounded_server) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /projects HTTP/1.1\r\nHost: localhost\r\n")
        assert _status_of(sock) == 408
        assert time.monotonic() - started < 5


def test_a_connection_that_sends_nothing_is_closed(bounded_server: Served) -> None:
    with _connect(bounded_server) as sock:
        started = time.monotonic()
        assert _status_of(sock) == 408
        assert time.monotonic() - started < 5


def test_a_body_that_stops_coming_times_out(bounded_server: Served) -> None:
    with _connect(bounded_server) as sock:
        started = time.monotonic()
        sock.sendall(
            b"POST /projects HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"key"'
        )
        assert _status_of(sock) == 408
        assert time.monotonic() - started < 5


# --- settings are checked once, before any worker ------------------------------


def test_a_bad_setting_stops_serve_with_several_workers_at_once(db_url: str) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve", "--workers", "2", "--port", "1"],
        env={**os.environ, "DATABASE_URL": db_url, "WORKTRACK_POOL_MAX_SIZE": "abc"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode != 0
    assert time.monotonic() - started < 10
    assert result.stderr.strip().splitlines() == [
        "worktrack: error: WORKTRACK_POOL_MAX_SIZE must be an integer, got 'abc'"
    ]


# --- concurrent starts on a database that does not exist yet --------------------


def test_concurrent_init_db_on_a_missing_database_all_succeed_and_migrate_once(pg_server: str) -> None:
    name = f"worktrack_race_{uuid.uuid4().hex[:8]}"
    url = with_database(pg_server, name)
    try:
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "service.cli", "init-db"],
                env={**os.environ, "DATABASE_URL": url},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        results = [(run.wait(timeout=120), run.communicate()) for run in runs]
        assert [code for code, _ in results] == [0, 0, 0, 0], results
        applied = [out for _, (out, _) in results if "applied" in out]
        assert len(applied) == 1, results  # the others found the database up to date
        with psycopg.connect(url) as conn:
            count = conn.execute("SELECT count(*) FROM _yoyo_migration").fetchone()
        assert count == (len(migrations.known_migration_ids()),)
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- HTTP hygiene ----------------------------------------------------------------


def test_a_body_that_is_not_json_is_refused_with_415(
    client: TestClient, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    body = '{"key": "csrf", "name": "cross-site"}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Content-Type": content_type} if content_type else {}
        response = client.post("/projects", content=body, headers=headers)
        assert response.status_code == 415, content_type
        assert response.headers["content-type"] == PROBLEM
    assert conn.execute("SELECT count(*) FROM projects").fetchone() == (0,)
    headers = {"Content-Type": "application/merge-patch+json"}
    assert client.post("/projects", content=body, headers=headers).status_code == 201


def test_only_the_allowed_host_names_are_answered(client: TestClient) -> None:
    assert client.get("/projects", headers={"Host": "attacker.example"}).status_code == 400
    assert client.get("/projects", headers={"Host": "attacker.example:8000"}).status_code == 400
    for host in ("localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000"):
        assert client.get("/projects", headers={"Host": host}).status_code == 200, host
    # probes reach the health routes by whatever address they have
    assert client.get("/healthz", headers={"Host": "10.0.0.7:8000"}).status_code == 200


def test_api_answers_carry_security_headers(client: TestClient) -> None:
    for response in (client.get("/projects"), client.get("/projects/none"), client.get("/healthz")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"


def test_a_line_break_in_a_path_cannot_forge_a_log_line(
    client: TestClient, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.INFO, logger="worktrack.access"):
        client.get("/projects/a%0A127.0.0.1%20GET%20/admin%20200")
    request_log.flush()
    written = capsys.readouterr().err
    lines = [line for line in written.splitlines() if "worktrack.access" in line or "/admin" in line]
    assert len(lines) == 1
    assert "GET /projects/a\\n127.0.0.1 GET /admin 200 404 " in lines[0]


def test_405_lists_every_method_of_the_path(client: TestClient) -> None:
    response = client.put("/projects", json={})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"
    response = client.post("/projects/alpha/tasks/T-1", json={})
    assert response.headers["allow"] == "DELETE, GET, HEAD, PATCH"


def test_a_nul_in_a_path_is_a_404_that_says_why(client: TestClient) -> None:
    response = client.get("/projects/a%00b")
    assert response.status_code == 404
    detail = "no route matches /projects/a\\x00b: the path holds a control character"
    assert response.json()["detail"] == detail


# --- exports stream, a few at a time; locks cost a request little ---------------


def test_an_export_streams_every_row_in_batches(client: TestClient) -> None:
    client.post("/projects", json={"key": "big", "name": "Big"})
    for start in (0, 1000):
        batch = [{"key": f"T-{n}", "title": "t"} for n in range(start, start + 700)]
        assert client.post("/projects/big/tasks/bulk", json=batch).status_code == 201
    response = client.get("/projects/big/export")
    assert response.status_code == 200
    assert "content-length" not in response.headers  # sent as the rows come
    doc = response.json()
    assert len(doc["tasks"]) == 1400 and len(doc["history"]) == 1400
    assert doc["tasks"][0]["key"] == "T-0" and doc["tasks"][-1]["key"] == "T-1699"
    assert set(doc) == {"project", "epics", "features", "tasks", "dependencies", "history", "exported_at"}


@pytest.fixture
def small_pool_server(db_url: str) -> Iterator[Served]:
    with serving(
        db_url,
        "--no-migrate",
        WORKTRACK_POOL_MIN_SIZE="2",
        WORKTRACK_POOL_MAX_SIZE="2",
        WORKTRACK_MAX_EXPORTS="1",
        WORKTRACK_LOCK_TIMEOUT_MS="500",
    ) as served:
        httpx.post(f"{served.base}/projects", json={"key": "alpha", "name": "Alpha"})
        httpx.post(
            f"{served.base}/projects/alpha/tasks/bulk",
            json=[{"key": f"T-{n}", "title": "t"} for n in range(3)],
        )
        yield served


def _timed_get(url: str) -> float:
    started = time.perf_counter()
    assert httpx.get(url, timeout=30).status_code == 200
    return time.perf_counter() - started


def test_a_locked_row_answers_503_quickly_and_leaves_the_pool_to_others(
    small_pool_server: Served, db_url: str
) -> None:
    base = small_pool_server.base
    with psycopg.connect(db_url) as locker:  # a DBA's open transaction holding the row
        locker.execute("SELECT 1 FROM tasks WHERE key = 'T-0' FOR UPDATE")
        with ThreadPoolExecutor(max_workers=6) as pool:
            patches = [
                pool.submit(httpx.patch, f"{base}/projects/alpha/tasks/T-0", json={"title": "x"}, timeout=30)
                for _ in range(4)
            ]
            time.sleep(0.05)
            gets = [_timed_get(f"{base}/projects/alpha/tasks/T-1") for _ in range(10)]
            answers = [p.result() for p in patches]
        locker.rollback()
    assert [a.status_code for a in answers] == [503] * 4
    assert all(a.headers["retry-after"] == "1" for a in answers)
    assert "locked" in answers[0].json()["detail"]
    assert max(gets) < 1.5, gets  # at most one lock timeout behind the waiting writes
    title = httpx.get(f"{base}/projects/alpha/tasks/T-0").json()["title"]
    assert title == "t"


def test_exports_behind_a_lock_are_bounded_and_leave_the_pool_to_others(
    small_pool_server: Served, db_url: str
) -> None:
    base = small_pool_server.base
    with psycopg.connect(db_url) as locker:
        locker.execute("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE")
        with ThreadPoolExecutor(max_workers=2) as pool:
            first = pool.submit(httpx.get, f"{base}/projects/alpha/export", timeout=30)
            time.sleep(0.2)
            second = httpx.get(f"{base}/projects/alpha/export", timeout=30)
            started = time.perf_counter()
            project = httpx.get(f"{base}/projects/alpha", timeout=30)
            project_latency = time.perf_counter() - started
            blocked = first.result()
        locker.rollback()
    assert second.status_code == 503 and second.headers["retry-after"] == "5"
    assert project.status_code == 200 and project_latency < 0.5
    # the blocked export gave up after the lock timeout, before sending anything
    assert blocked.status_code == 503
    assert httpx.get(f"{base}/projects/alpha/export", timeout=30).status_code == 200


def test_an_export_whose_client_left_before_reading_frees_its_slot_at_once(
    client: TestClient, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    """The client sends the request and goes without reading: the first chunk waits on
    its socket until the disconnect. The slot and the connection come back then, not
    when the garbage collector finds the stream (collection is off here)."""
    assert client.post("/projects", json={"key": "alpha", "name": "Alpha"}).status_code == 201
    app: Starlette = client.app  # type: ignore[assignment]
    slots = app.state.settings.max_exports
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/projects/alpha/export",
        "raw_path": b"/projects/alpha/export",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost"), (b"authorization", client.headers["authorization"].encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
    }

    async def abandoned_export() -> list[str]:
        gone = asyncio.Event()
        requested = False
        sent: list[str] = []

        async def receive() -> Message:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            sent.append(str(message["type"]))
            if message["type"] == "http.response.body":
                gone.set()  # the client leaves; its socket never takes this chunk
                await asyncio.Event().wait()

        await app(scope, receive, send)
        return sent

    gc.disable()
    try:
        for _ in range(slots + 1):
            sent = client.portal.call(abandoned_export)  # type: ignore[union-attr]
            assert sent == ["http.response.start", "http.response.body"]
            left_open = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name = 'worktrack' AND state <> 'idle' AND pid <> pg_backend_pid()"
            ).fetchone()
            assert left_open == (0,)  # the export's transaction ended with the request
        answer = client.get("/projects/alpha/export")
    finally:
        gc.enable()
    assert answer.status_code == 200, answer.text
    assert answer.json()["project"]["key"] == "alpha"


# --- shutdown has a bound --------------------------------------------------------


def test_shutdown_gives_a_blocked_request_a_bounded_grace_and_writes_nothing(db_url: str) -> None:
    with serving(
        db_url,
        "--no-migrate",
        WORKTRACK_SHUTDOWN_GRACE="2",
        WORKTRACK_LOCK_TIMEOUT_MS="0",  # no lock timeout: the write waits as long as the lock
        WORKTRACK_STATEMENT_TIMEOUT_MS="120000",
    ) as served:
        base = served.base
        httpx.post(f"{base}/projects", json={"key": "alpha", "name": "Alpha"})
        httpx.post(f"{base}/projects/alpha/tasks", json={"key": "T-1", "title": "before"})
        with psycopg.connect(db_url) as locker:
            locker.execute("SELECT 1 FROM tasks WHERE key = 'T-1' FOR UPDATE")
            with ThreadPoolExecutor(max_workers=1) as pool:
                blocked = pool.submit(
                    httpx.patch, f"{base}/projects/alpha/tasks/T-1", json={"title": "after"}, timeout=60
                )
                time.sleep(0.5)
                started = time.monotonic()
                served.process.terminate()
                served.process.wait(timeout=30)
                stopped_in = time.monotonic() - started
                answer = blocked.result()
            locker.rollback()
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    assert stopped_in < 2 + 3, served.output  # the grace, then cancelled requests and the pool close
    time.sleep(0.5)
    with psycopg.connect(db_url) as check:
        assert check.execute("SELECT title FROM tasks WHERE key = 'T-1'").fetchone() == ("before",), (
            served.output
        )
        left = (
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'worktrack'"
        )
        assert check.execute(left).fetchone() == (0,)


# --- a value is stored as sent or refused, on every resource ----------------------


@pytest.mark.parametrize(
    "number", ["NaN", "Infinity", "-Infinity", "1e309", "0.1000000000000000055511151231257827"]
)
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/projects", '{"key": "p2", "name": "P", "metadata": {"x": [1, %s]}}'),
        ("/projects/alpha/tasks", '{"key": "T-9", "title": "t", "metadata": {"x": [1, %s]}}'),
        ("/projects/alpha/epics", '{"key": "E09", "title": "e", "metadata": {"x": [1, %s]}}'),
        ("/users", '{"email": "a@b.c", "username": "a", "settings": {"x": [1, %s]}}'),
    ],
)
def test_numbers_json_cannot_keep_are_refused_naming_the_field(
    client: TestClient, number: str, path: str, body: str
) -> None:
    client.post("/projects", json={"key": "alpha", "name": "Alpha"})
    response = client.post(path, content=body % number, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    field = "settings" if path == "/users" else "metadata"
    assert response.json()["errors"][0]["field"] == f"body.{field}.x.1"


@pytest.mark.parametrize("depth", [250, 5000])
def test_a_body_nested_too_deeply_is_refused_and_stores_nothing(client: TestClient, depth: int) -> None:
    client.post("/projects", json={"key": "alpha", "name": "Alpha"})
    nested = "[" * depth + "]" * depth
    for path, body in [
        ("/projects/alpha/tasks", '{"key": "T-1", "title": "t", "metadata": {"x": ' + nested + "}}"),
        ("/projects/alpha/tasks/bulk", nested),
    ]:
        response = client.post(path, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["errors"] == [
            {"field": "body", "message": "arrays and objects nest more than 200 levels deep"}
        ]
    assert client.get("/projects/alpha/tasks").json()["items"] == []


def test_a_settings_filter_nested_past_pythons_recursion_limit_is_refused(client: TestClient) -> None:
    settings = '{"a": ' + "[" * 7000 + "]" * 7000 + "}"  # within the parameter's 16,000 characters
    response = client.get("/users", params={"settings": settings})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "query.settings"


def test_large_integers_and_ordinary_decimals_are_stored_as_sent(client: TestClient) -> None:
    client.post("/projects", json={"key": "alpha", "name": "Alpha"})
    body = '{"key": "T-1", "title": "t", "metadata": {"big": 123456789012345678901234567890, "d": 0.1}}'
    response = client.post(
        "/projects/alpha/tasks", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201
    stored = client.get("/projects/alpha/tasks/T-1").text
    assert '"big": 123456789012345678901234567890' in stored and '"d": 0.1' in stored


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/projects", '{"key": "p2", "name": "P", "max_lease_seconds": 437.0, "max_attempts": 3.0}', None),
        ("/projects/alpha/tasks", '{"key": "T-9", "title": "t", "priority": 7.0}', None),
        ("/projects/alpha/tasks", '{"key": "T-9", "title": "t", "priority": 7.5}', "body.priority"),
        ("/projects/alpha/tasks", '{"key": "T-9", "title": "t", "priority": "7"}', "body.priority"),
        ("/projects/alpha/tasks", '{"key": "T-9", "title": "t", "priority": true}', "body.priority"),
        ("/tasks/claim", '{"project": "alpha", "agent": "a", "lease_seconds": 60.0}', None),
    ],
)
def test_an_integer_field_takes_an_integral_number_as_json_schema_does(
    client: TestClient, path: str, body: str, field: str | None
) -> None:
    """The document says `integer`, which JSON Schema grants to 437.0: the server agrees.
    437.5, "437" and true stay refused."""
    client.post("/projects", json={"key": "alpha", "name": "Alpha"})
    client.post("/projects/alpha/tasks", json={"key": "T-1", "title": "t"})
    response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    if field is None:
        assert response.status_code in (200, 201), response.text
    else:
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field


def test_integral_numbers_are_stored_as_integers(client: TestClient) -> None:
    body = '{"key": "p2", "name": "P", "max_lease_seconds": 437.0, "default_lease_seconds": 60.0}'
    response = client.post("/projects", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 201
    assert response.json()["max_lease_seconds"] == 437 and response.json()["default_lease_seconds"] == 60
    assert '"max_lease_seconds":437,' in client.get("/projects/p2").text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"key": "T-9", "title": "a\\u0000b"}', "body.title"),
        ('{"key": "T-9", "title": "t", "metadata": {"x": ["ok", "a\\u0000"]}}', "body.metadata.x.1"),
        ('{"key": "T-9", "title": "t", "metadata": {"a\\u0000": 1}}', "body.metadata.'a\\x00'"),
    ],
)
def test_a_nul_character_is_refused_naming_the_field(client: TestClient, body: str, field: str) -> None:
    """PostgreSQL text and jsonb cannot hold U+0000; the document's strings say so."""
    client.post("/projects", json={"key": "alpha", "name": "Alpha"})
    response = client.post(
        "/projects/alpha/tasks", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [{"field": field, "message": NUL_MESSAGE}]
    assert client.get("/projects/alpha/tasks/T-9").status_code == 404


def test_a_nul_character_in_the_query_is_refused_naming_the_parameter(client: TestClient) -> None:
    client.post("/projects", json={"key": "alpha", "name": "Alpha"})
    response = client.get("/projects/alpha/tasks", params={"q": "a\x00b"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "query.q", "message": NUL_MESSAGE}]


def test_story_points_with_a_third_decimal_are_refused(client: TestClient) -> None:
    client.post("/projects", json={"key": "alpha", "name": "Alpha"})
    response = client.post("/projects/alpha/tasks", json={"key": "T-1", "title": "t", "story_points": 0.001})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.story_points"
    response = client.post("/projects/alpha/tasks", json={"key": "T-1", "title": "t", "story_points": 2.25})
    assert response.json()["story_points"] == 2.25


def test_since_takes_only_an_iso_8601_date_time(client: TestClient) -> None:
    client.post("/projects", json={"key": "alpha", "name": "Alpha"})
    for since in ("0.5", "1700000000"):
        response = client.get("/projects/alpha/history", params={"since": since})
        assert response.status_code == 422, since
        assert response.json()["errors"][0]["field"] == "query.since"
    assert client.get("/projects/alpha/history", params={"since": "2026-01-01T00:00:00Z"}).status_code == 200


def test_the_document_calls_a_field_nullable_only_when_null_is_taken(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    title = schemas["TaskPatch"]["properties"]["title"]
    assert "anyOf" not in title and title["type"] == "string"
    assert {"type": "null"} in schemas["TaskPatch"]["properties"]["description"]["anyOf"]
    assert client.patch("/projects/x/tasks/T-1", json={"title": None}).status_code == 422


# --- safe retries: Idempotency-Key ------------------------------------------------


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def test_a_retried_create_gets_the_first_answer_byte_for_byte_and_creates_once(
    client: TestClient, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    client.post("/projects", json={"key": "alpha", "name": "Alpha"})
    headers = _key()
    first = client.post("/projects/alpha/tasks", json={"key": "T-1", "title": "t"}, headers=headers)
    again = client.post("/projects/alpha/tasks", json={"key": "T-1", "title": "t"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
    assert conn.execute("SELECT count(*) FROM tasks").fetchone() == (1,)
    assert conn.execute("SELECT count(*) FROM idempotency_keys").fetchone() == (1,)
    # the same key with another body is refused; without a key the retry is a 409
    other = client.post("/projects/alpha/tasks", json={"key": "T-2", "title": "t"}, headers=headers)
    assert other.status_code == 422
    assert client.post("/projects/alpha/tasks", json={"key": "T-1", "title": "t"}).status_code == 409


def test_every_post_takes_a_key_and_a_retried_claim_returns_the_same_task_counted_once(
    client: TestClient, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    client.post("/projects", json={"key": "alpha", "name": "Alpha"}, headers=_key())
    bulk = _key()
    for _ in range(2):
        response = client.post(
            "/projects/alpha/tasks/bulk",
            json=[{"key": f"T-{n}", "title": "t"} for n in range(2)],
            headers=bulk,
        )
        assert response.status_code == 201
    claim, body = _key(), {"project": "alpha", "agent": "a1"}
    first = client.post("/tasks/claim", json=body, headers=claim)
    again = client.post("/tasks/claim", json=body, headers=claim)
    assert first.status_code == again.status_code == 200 and again.content == first.content
    key = first.json()["key"]
    assert conn.execute("SELECT attempts FROM tasks WHERE key = %s", (key,)).fetchone() == (1,)
    assert conn.execute("SELECT count(*) FROM tasks WHERE status = 'in_progress'").fetchone() == (1,)
    beat = _key()
    for _ in range(2):
        response = client.post(f"/projects/alpha/tasks/{key}/heartbeat", json={"agent": "a1"}, headers=beat)
        assert response.status_code == 200
    status = _key()
    for _ in range(2):
        response = client.post(
            f"/projects/alpha/tasks/{key}/status", json={"status": "completed", "agent": "a1"}, headers=status
        )
        assert response.status_code == 200
    history = "SELECT count(*) FROM task_history WHERE to_status = 'completed'"
    assert conn.execute(history).fetchone() == (1,)


def test_a_failed_request_stores_no_key_and_its_retry_is_carried_out(
    client: TestClient, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    headers = _key()
    assert (
        client.post("/projects/nope/tasks", json={"key": "T-1", "title": "t"}, headers=headers).status_code
        == 404
    )
    assert conn.execute("SELECT count(*) FROM idempotency_keys").fetchone() == (0,)
    client.post("/projects", json={"key": "nope", "name": "Now it exists"})
    assert (
        client.post("/projects/nope/tasks", json={"key": "T-1", "title": "t"}, headers=headers).status_code
        == 201
    )


def test_concurrent_requests_with_one_key_write_once(client: TestClient, db_url: str) -> None:
    client.post("/projects", json={"key": "alpha", "name": "Alpha"})
    headers = _key()
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(
            pool.map(
                lambda _: client.post(
                    "/projects/alpha/tasks", json={"key": "T-1", "title": "t"}, headers=headers
                ),
                range(4),
            )
        )
    assert sorted(a.status_code for a in answers) == [201] * 4
    assert len({a.content for a in answers}) == 1
    with psycopg.connect(db_url) as check:
        assert check.execute("SELECT count(*) FROM tasks").fetchone() == (1,)


def test_the_key_row_and_the_write_commit_together(client: TestClient, db_url: str) -> None:
    """A write refused by the database after the route ran leaves neither the row
    nor the key: the answer row is in the write's transaction."""
    client.post("/projects", json={"key": "alpha", "name": "Alpha"})
    with psycopg.connect(db_url, autocommit=True) as ddl:
        ddl.execute("ALTER TABLE idempotency_keys ADD CONSTRAINT chk_test_refuse CHECK (key <> 'refused')")
    response = client.post(
        "/projects/alpha/tasks", json={"key": "T-1", "title": "t"}, headers={"Idempotency-Key": "refused"}
    )
    assert response.status_code == 422
    with psycopg.connect(db_url) as check:
        assert check.execute("SELECT count(*) FROM tasks").fetchone() == (0,)


# --- no lost updates: ETag, If-Match, If-None-Match ---------------------------------


def test_etag_if_none_match_and_if_match(client: TestClient) -> None:
    client.post("/projects", json={"key": "alpha", "name": "Alpha"})
    created = client.post("/projects/alpha/tasks", json={"key": "T-1", "title": "t"})
    got = client.get("/projects/alpha/tasks/T-1")
    assert got.headers["etag"] == created.headers["etag"]
    tag = got.headers["etag"]
    cached = client.get("/projects/alpha/tasks/T-1", headers={"If-None-Match": tag})
    assert cached.status_code == 304 and cached.content == b"" and cached.headers["etag"] == tag
    changed = client.patch("/projects/alpha/tasks/T-1", json={"title": "mine"}, headers={"If-Match": tag})
    assert changed.status_code == 200
    assert changed.headers["etag"] == client.get("/projects/alpha/tasks/T-1").headers["etag"] != tag
    lost = client.patch("/projects/alpha/tasks/T-1", json={"title": "theirs"}, headers={"If-Match": tag})
    assert lost.status_code == 412 and lost.headers["content-type"] == PROBLEM
    assert client.get("/projects/alpha/tasks/T-1").json()["title"] == "mine"
    stale = {"If-Match": tag}
    assert (
        client.post("/projects/alpha/tasks/T-1/status", json={"status": "blocked"}, headers=stale).status_code
        == 412
    )
    assert client.delete("/projects/alpha/tasks/T-1", headers=stale).status_code == 412
    assert client.delete("/projects/alpha", headers=stale).status_code == 412
    fresh = {"If-Match": changed.headers["etag"]}
    assert client.delete("/projects/alpha/tasks/T-1", headers=fresh).status_code == 204
    assert client.delete("/projects/alpha/tasks/T-1", headers=fresh).status_code == 404


def test_if_match_on_epics_features_and_projects(client: TestClient) -> None:
    client.post("/projects", json={"key": "alpha", "name": "Alpha"})
    client.post("/projects/alpha/epics", json={"key": "E01", "title": "e"})
    feature = client.post("/projects/alpha/features", json={"key": "E01-F01", "epic": "E01", "title": "f"})
    assert client.get("/projects/alpha/features/E01-F01").headers["etag"] == feature.headers["etag"]
    for path in ("/projects/alpha/features/E01-F01", "/projects/alpha/epics/E01", "/projects/alpha"):
        tag = client.get(path).headers["etag"]
        body = {"name": "x"} if path == "/projects/alpha" else {"title": "x"}
        assert client.patch(path, json=body, headers={"If-Match": '"stale"'}).status_code == 412
        assert client.patch(path, json=body, headers={"If-Match": tag}).status_code == 200


def test_if_match_with_a_key_in_one_transaction(client: TestClient) -> None:
    client.post("/projects", json={"key": "alpha", "name": "Alpha"})
    tag = client.post("/projects/alpha/tasks", json={"key": "T-1", "title": "t"}).headers["etag"]
    headers = {**_key(), "If-Match": tag}
    first = client.post("/projects/alpha/tasks/T-1/status", json={"status": "blocked"}, headers=headers)
    again = client.post("/projects/alpha/tasks/T-1/status", json={"status": "blocked"}, headers=headers)
    assert first.status_code == again.status_code == 200 and again.content == first.content
    stale = {**_key(), "If-Match": tag}
    assert (
        client.post("/projects/alpha/tasks/T-1/status", json={"status": "pending"}, headers=stale).status_code
        == 412
    )


def test_concurrent_writes_with_one_etag_one_wins_the_others_get_412(db_url: str) -> None:
    with serving(db_url, "--no-migrate") as served:
        base = served.base
        httpx.post(f"{base}/projects", json={"key": "alpha", "name": "Alpha"})
        tag = httpx.post(f"{base}/projects/alpha/tasks", json={"key": "T-1", "title": "t"}).headers["etag"]
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(
                pool.map(
                    lambda n: httpx.patch(
                        f"{base}/projects/alpha/tasks/T-1",
                        json={"title": f"by {n}"},
                        headers={"If-Match": tag},
                    ),
                    range(6),
                )
            )
    assert sorted(a.status_code for a in answers) == [200] + [412] * 5
