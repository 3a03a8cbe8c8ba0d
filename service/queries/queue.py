"""The agent queue: sql/queries/queue.sql."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from service import queries
from service.errors import Conflict
from service.queries.projects import in_project, not_in_project

Conn = AsyncConnection[tuple[Any, ...]]
_Q = queries.load("queue")
_NEXT, _CLAIM_ANY, _CLAIM_WITHIN = _Q["task_next"], _Q["task_claim_next_any"], _Q["task_claim_next"]
_HEARTBEAT, _RECLAIM = _Q["task_heartbeat"], _Q["task_reclaim_expired"]


async def next_ready(conn: Conn, *, project: str) -> str | None:
    """The task a claim would get now, or None when none is ready."""
    (doc,) = await in_project(conn, _NEXT, project)
    return None if doc is None else str(doc)


async def claim_next(
    conn: Conn,
    *,
    project: str,
    agent: str,
    lease_seconds: int | None,
    epic: str | None = None,
    feature: str | None = None,
    agent_type: str | None = None,
) -> str | None:
    """Claim the best ready task, within an epic, a feature or an agent type when
    named; None when none is ready."""
    if epic is None and feature is None and agent_type is None:
        (doc,) = await in_project(conn, _CLAIM_ANY, project, agent=agent, lease_seconds=lease_seconds)
    else:
        # Planned for its actual values each time (prepare=False): see task_claim_next.
        (doc,) = await in_project(
            conn,
            _CLAIM_WITHIN,
            project,
            prepare=False,
            agent=agent,
            lease_seconds=lease_seconds,
            epic=epic,
            feature=feature,
            agent_type=agent_type,
        )
    return None if doc is None else str(doc)


async def heartbeat(conn: Conn, *, project: str, key: str, agent: str, lease_seconds: int | None) -> str:
    found, doc = await in_project(
        conn, _HEARTBEAT, project, key=key, agent=agent, lease_seconds=lease_seconds
    )
    if not found:
        raise not_in_project(project, f"task {key!r}")
    if doc is None:
        raise Conflict(f"task {key!r} is not in progress under agent {agent!r}")
    return str(doc)


RECLAIM_BATCH = 100  # expired leases returned per call, so one claim never does unbounded work


async def reclaim_expired(conn: Conn, *, project: str, limit: int = RECLAIM_BATCH) -> int:
    """Return the project's tasks whose lease expired to pending; how many."""
    (count,) = await in_project(conn, _RECLAIM, project, limit=limit)
    return int(count)
