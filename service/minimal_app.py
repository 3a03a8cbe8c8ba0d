"""The second yardstick of `worktrack bench`: a minimal raw-SQL app.

It answers the four measured routes the way the smallest Starlette + psycopg app
would: one pooled connection per request, one prepared statement that finds the
project by key and serves the rest from worktrack's indexes, Postgres builds the
JSON, and nothing else — no validation beyond what a request needs to be read, no
token, no row-level security, no ETag, no request log. It runs on worktrack's own
scratch database, so its writes pay the same triggers (history, guards) as
worktrack's: what stands between the two is the request path, which is what the
bench compares. Served as `worktrack serve` is served (one uvicorn worker, uvloop,
httptools), from DATABASE_URL.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

_GET = """
SELECT row_to_json(t)::text
  FROM tasks t
 WHERE t.project_id = (SELECT id FROM projects WHERE key = %(project)s) AND t.key = %(key)s
"""
_LIST = """
SELECT coalesce(json_agg(t ORDER BY t.id), '[]')::text
  FROM (SELECT t.* FROM tasks t
         WHERE t.project_id = (SELECT id FROM projects WHERE key = %(project)s) AND t.status = %(status)s
         ORDER BY t.id LIMIT %(limit)s) t
"""
_CREATE = """
INSERT INTO tasks (project_id, key, title, priority)
SELECT p.id, %(key)s, %(title)s, %(priority)s FROM projects p WHERE p.key = %(project)s
RETURNING row_to_json(tasks)::text
"""
_CLAIM = """
UPDATE tasks t
   SET status = 'in_progress', claimed_by = %(agent)s, claimed_at = now(),
       lease_expires_at = now() + interval '5 minutes', attempts = t.attempts + 1
  FROM (SELECT c.project_id, c.id
          FROM tasks c
         WHERE c.project_id = (SELECT id FROM projects WHERE key = %(project)s)
           AND c.status = 'pending' AND c.unfinished_dependencies = 0
         ORDER BY c.priority DESC, c.created_at, c.id
         LIMIT 1
           FOR UPDATE OF c SKIP LOCKED) picked
 WHERE t.project_id = picked.project_id AND t.id = picked.id
RETURNING row_to_json(t)::text
"""


def minimal_app() -> Starlette:
    pool: AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]] = AsyncConnectionPool(
        os.environ["DATABASE_URL"], min_size=10, max_size=10, open=False, kwargs={"autocommit": True}
    )

    async def one(statement: str, params: dict[str, Any]) -> str | None:
        async with pool.connection() as conn:
            row = await (await conn.execute(statement, params, prepare=True)).fetchone()
        return None if row is None else str(row[0])

    def answer(doc: str | None, status: int = 200) -> Response:
        return Response(doc, status, media_type="application/json") if doc else Response(status_code=204)

    async def get_task(request: Request) -> Response:
        return answer(await one(_GET, dict(request.path_params)))

    async def list_tasks(request: Request) -> Response:
        query = request.query_params
        params = {**request.path_params, "status": query["status"], "limit": int(query.get("limit", 50))}
        return answer(await one(_LIST, params))

    async def create_task(request: Request) -> Response:
        body = json.loads(await request.body())
        params = {**request.path_params, "key": body["key"], "title": body["title"]}
        return answer(await one(_CREATE, {**params, "priority": body.get("priority", 5)}), 201)

    async def claim(request: Request) -> Response:
        body = json.loads(await request.body())
        return answer(await one(_CLAIM, {"project": body["project"], "agent": body["agent"]}))

    async def ready(request: Request) -> Response:
        return PlainTextResponse("ok")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await pool.open()
        yield
        await pool.close()

    return Starlette(
        routes=[
            Route("/projects/{project}/tasks/{key}", get_task),
            Route("/projects/{project}/tasks", list_tasks),
            Route("/projects/{project}/tasks", create_task, methods=["POST"]),
            Route("/tasks/claim", claim, methods=["POST"]),
            Route("/readyz", ready),
        ],
        lifespan=lifespan,
    )
