"""The agent queue: the next ready task, claiming it with a lease, heartbeats."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from service import db, metrics
from service.models import ClaimRequest, Heartbeat, NextQuery, Task
from service.queries import projects, queue
from service.responses import JSONText
from service.routes import Endpoint, pool


async def next_task(request: Request, query: NextQuery) -> Response:
    doc = await next_ready(pool(request), query.project)
    return JSONText(doc) if doc is not None else Response(status_code=204)


async def next_ready(pool: db.Pool, project: str) -> str | None:
    """The task a claim would get now, or None when none is ready."""
    return await db.run(pool, lambda conn: queue.next_ready(conn, project=project))


async def claim_task(request: Request, body: ClaimRequest) -> Response:
    doc = await claim(pool(request), body)
    return JSONText(doc) if doc is not None else Response(status_code=204)


# Handing back expired leases reads every task in progress of the project (no
# index names the lease, so that heartbeats stay HOT updates): a claim does it
# only when the project's last hand-back in this process is this long ago, or
# when it finds nothing ready. So a lease that ran out more than a second ago is
# always handed back before a claim, and a claim's cost does not grow with the
# number of tasks in progress.
RECLAIM_EVERY_SECONDS = 1.0
_reclaimed_at: dict[tuple[str, str], float] = {}  # projects.project_key -> time.monotonic()


async def claim(pool: db.Pool, body: ClaimRequest) -> str | None:
    """The task claimed for the agent, or None when none is ready."""

    async def reclaim(conn: queue.Conn, where: tuple[str, str]) -> int:
        _reclaimed_at[where] = time.monotonic()  # first, so concurrent claims do not all scan
        count = await queue.reclaim_expired(conn, project=body.project)
        metrics.LEASE_EXPIRIES.inc(count)
        return count

    async def claim_next(conn: queue.Conn) -> str | None:
        return await queue.claim_next(
            conn,
            project=body.project,
            agent=body.agent,
            lease_seconds=body.lease_seconds,
            epic=body.epic,
            feature=body.feature,
            agent_type=body.agent_type,
        )

    async def reclaim_then_claim(conn: queue.Conn) -> str | None:
        where = projects.project_key(conn, body.project)
        due = time.monotonic() - _reclaimed_at.get(where, float("-inf")) >= RECLAIM_EVERY_SECONDS
        if due:
            await reclaim(conn, where)
        doc = await claim_next(conn)
        if doc is None and not due and await reclaim(conn, where):
            doc = await claim_next(conn)  # what was left were expired leases
        return doc

    doc = await db.run(pool, reclaim_then_claim)
    metrics.CLAIMS.labels("claimed" if doc is not None else "none_ready").inc()
    return doc


async def heartbeat(request: Request, body: Heartbeat) -> Response:
    project, key = request.path_params["project"], request.path_params["key"]
    return JSONText(await extend_lease(pool(request), project, key, body))


async def extend_lease(pool: db.Pool, project: str, key: str, body: Heartbeat) -> str:
    return await db.run(
        pool,
        lambda conn: queue.heartbeat(
            conn, project=project, key=key, agent=body.agent, lease_seconds=body.lease_seconds
        ),
    )


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
