"""The same token check covers /mcp (each tool call, by the request's bearer token),
the stdio MCP server (WORKTRACK_TOKEN) and the web UI (404 for a project it cannot see)."""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import httpx2 as httpx
import psycopg
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from starlette.testclient import TestClient

from service.app import create_app
from tests.helpers import TEST_POOL, admin_token, make_token, serving
from tests.test_mcp_server import ok, status


def _projects(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO projects (key, name) VALUES ('alpha', 'Alpha'), ('beta', 'Beta')")
        conn.execute(
            "INSERT INTO tasks (project_id, key, title)"
            " SELECT id, 'T-1', 'one' FROM projects WHERE key = 'alpha'"
        )


@asynccontextmanager
async def over_http(url: str, token: str) -> AsyncIterator[ClientSession]:
    async with (
        httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=10) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def test_mcp_over_http_answers_as_the_requests_token(db_url: str) -> None:
    _projects(db_url)
    reader = make_token(db_url, "reader", "read", ["alpha"])
    with serving(db_url, "--no-migrate", "--log-level", "warning", WORKTRACK_AUTH="required") as served:
        mcp_url = f"{served.base}/mcp"
        answer = httpx.post(mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Bearer")

        async def main() -> None:
            async with over_http(mcp_url, reader) as session:
                assert (await ok(session, "get_task", project="alpha", key="T-1"))["key"] == "T-1"
                assert await status(session, "claim_task", project="alpha", agent="a") == 403
                assert await status(session, "get_task", project="beta", key="T-1") == 404
                assert await status(session, "list_projects") == 403

        anyio.run(main)


def test_mcp_over_stdio_acts_as_its_token(db_url: str) -> None:
    _projects(db_url)
    reader = make_token(db_url, "reader", "read", ["alpha"])
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "service.cli", "mcp", "--no-migrate"],
        env={"DATABASE_URL": db_url, "WORKTRACK_TOKEN": reader},
    )

    async def main() -> None:
        with open("/dev/null", "w") as quiet:
            async with (
                stdio_client(params, errlog=quiet) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                assert (await ok(session, "get_task", project="alpha", key="T-1"))["key"] == "T-1"
                assert await status(session, "claim_task", project="alpha", agent="a") == 403
                assert await status(session, "get_task", project="beta", key="T-1") == 404

    anyio.run(main)


def test_the_ui_shows_only_what_the_token_may_read(db_url: str) -> None:
    _projects(db_url)
    admin_token(db_url)
    reader = make_token(db_url, "reader", "read", ["alpha"])
    with TestClient(create_app(db_url, TEST_POOL), base_url="http://localhost") as client:
        first = client.get("/ui/projects/alpha/board", follow_redirects=False)
        assert (first.status_code, first.headers["location"]) == (303, "/ui/sign-in")
        client.cookies.set("worktrack_token", reader)
        assert client.get("/ui/projects/alpha/board").status_code == 200
        assert client.get("/ui/projects/beta/board").status_code == 404
        assert client.get("/ui/projects/nope/board").status_code == 404
        assert client.get("/ui/projects").status_code == 403


def test_signing_in_keeps_the_token_in_a_strict_httponly_cookie_behind_a_csrf_check(db_url: str) -> None:
    _projects(db_url)
    reader = make_token(db_url, "reader", "read", ["alpha"])
    with TestClient(create_app(db_url, TEST_POOL), base_url="http://localhost") as client:
        form = client.get("/ui/sign-in")
        assert form.status_code == 200
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        # a post without the form's CSRF value (another site's form) signs nobody in
        forged = client.post("/ui/sign-in", data={"token": reader, "csrf": "guess"}, follow_redirects=False)
        assert forged.status_code == 403
        assert "worktrack_token" not in forged.headers.get("set-cookie", "")
        form = client.get("/ui/sign-in")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        wrong = client.post("/ui/sign-in", data={"token": "wt_nope", "csrf": csrf.group(1)})
        assert wrong.status_code == 401 and "wt_nope" not in wrong.text
        form = client.get("/ui/sign-in")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        signed = client.post(
            "/ui/sign-in", data={"token": reader, "csrf": csrf.group(1)}, follow_redirects=False
        )
        assert signed.status_code == 303
        cookie = signed.headers["set-cookie"]
        assert "worktrack_token=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert client.get("/ui/projects/alpha/board").status_code == 200
        assert client.get("/ui/projects/beta/board").status_code == 404


def test_the_mcp_sprint_report_answers_only_for_a_sprint_of_the_tokens_projects(db_url: str) -> None:
    _projects(db_url)
    with psycopg.connect(db_url, autocommit=True) as conn:
        sprints = {}
        for project, name in (("alpha", "A"), ("beta", "B")):
            row = conn.execute(
                "INSERT INTO sprints (jira_sprint_id, name) VALUES (%s, %s) RETURNING id", (ord(name), name)
            ).fetchone()
            assert row is not None
            sprints[project] = row[0]
            conn.execute(
                "INSERT INTO tasks (project_id, key, title, sprint_id)"
                " SELECT id, 'S-1', 'in a sprint', %s FROM projects WHERE key = %s",
                (row[0], project),
            )
    reader = make_token(db_url, "reader", "read", ["alpha"])
    with serving(db_url, "--no-migrate", "--log-level", "warning", WORKTRACK_AUTH="required") as served:

        async def main() -> None:
            async with over_http(f"{served.base}/mcp", reader) as session:
                mine = await ok(session, "get_sprint_report", project="alpha", sprint=sprints["alpha"])
                assert mine["sprint"]["name"] == "A"
                # beta's sprint, asked for through alpha: as if it did not exist, as over HTTP
                assert (
                    await status(session, "get_sprint_report", project="alpha", sprint=sprints["beta"]) == 404
                )
                assert await status(session, "get_sprint_report", project="alpha", sprint=999_999) == 404

        anyio.run(main)
