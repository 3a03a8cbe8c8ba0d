"""The agent queue: the next ready task, claiming it with a lease, heartbeats."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from service import db, metrics
from service.api import JSONText, read_body, read_query
from service.errors import Conflict
from service.models import ClaimRequest, Heartbeat, NextQuery, Task
from service.queries import projects, queue, tasks
from service.routes import Endpoint, pool
from service.routes.projects import project_not_found
from service.routes.tasks import missing_task


async def _no_task(request: Request, project: str) -> Response:
    """204 when the project simply has no ready task; 404 when it does not exist."""
    if not await db.run(pool(request), lambda conn: projects.exists(conn, project=project)):
        raise project_not_found(project)
    return Response(status_code=204)


async def next_task(request: Request) -> Response:
    project = read_query(request, NextQuery).project
    doc = await db.run(pool(request), lambda conn: queue.next_ready(conn, project=project))
    return JSONText(doc) if doc is not None else await _no_task(request, project)


async def claim_task(request: Request) -> Response:
    body = await read_body(request, ClaimRequest)

    async def reclaim_then_claim(conn: queue.Conn) -> str | None:
        # The project's expired leases go back to pending first, so their tasks
        # can be handed out now.
        metrics.LEASE_EXPIRIES.inc(await queue.reclaim_expired(conn, project=body.project))
        return await queue.claim_next(
            conn, project=body.project, agent=body.agent, lease_seconds=body.lease_seconds
        )

    doc = await db.run(pool(request), reclaim_then_claim)
    metrics.CLAIMS.labels("claimed" if doc is not None else "none_ready").inc()
    return JSONText(doc) if doc is not None else await _no_task(request, body.project)


async def heartbeat(request: Request) -> Response:
    project, key = request.path_params["project"], request.path_params["key"]
    body = await read_body(request, Heartbeat)
    doc = await db.run(
        pool(request),
        lambda conn: queue.heartbeat(
            conn, project=project, key=key, agent=body.agent, lease_seconds=body.lease_seconds
        ),
    )
    if doc is None:
        if not await db.run(pool(request), lambda conn: tasks.exists(conn, project=project, key=key)):
            raise await missing_task(request, project, key)
        raise Conflict(f"task {key!r} is not in progress under agent {body.agent!r}")
    return JSONText(doc)


ENDPOINTS = [
    Endpoint(
        "GET",
        "/tasks/next",
        next_task,
        "The next ready task of a project (changes nothing)",
        query=NextQuery,
        responses={200: ("the task", Task), 204: ("no task is ready", None), 404: ("no such project", None)},
    ),
    Endpoint(
        "POST",
        "/tasks/claim",
        claim_task,
        "Claim the next ready task of a project with a lease",
        body=ClaimRequest,
        responses={
            200: ("the claimed task", Task),
            204: ("no task is ready", None),
            404: ("no such project", None),
        },
    ),
    Endpoint(
        "POST",
        "/projects/{project}/tasks/{key}/heartbeat",
        heartbeat,
        "Extend the lease of the agent that holds the task",
        body=Heartbeat,
        responses={
            200: ("the task", Task),
            404: ("no such project or task", None),
            409: ("the agent does not hold the task", None),
        },
    ),
]
