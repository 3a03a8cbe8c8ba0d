"""The agent queue: sql/queries/queue.sql."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from service import queries
from service.db import fetch_text

Conn = AsyncConnection[tuple[Any, ...]]
_Q = queries.load("queue")
_NEXT, _CLAIM = _Q["task_next"], _Q["task_claim_next"]
_HEARTBEAT, _RECLAIM = _Q["task_heartbeat"], _Q["task_reclaim_expired"]


async def next_ready(conn: Conn, *, project: str) -> str | None:
    return await fetch_text(conn, _NEXT, project=project)


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
    """Claim the best ready task, within an epic, a feature or an agent type when named.

    A filtered claim is planned for its actual values each time (prepare=False), so
    the plan folds the unused filters away and walks the index of the one named.
    """
    filtered = any(value is not None for value in (epic, feature, agent_type))
    return await fetch_text(
        conn,
        _CLAIM,
        prepare=False if filtered else None,
        project=project,
        agent=agent,
        lease_seconds=lease_seconds,
        epic=epic,
        feature=feature,
        agent_type=agent_type,
    )


async def heartbeat(
    conn: Conn, *, project: str, key: str, agent: str, lease_seconds: int | None
) -> str | None:
    return await fetch_text(
        conn, _HEARTBEAT, project=project, key=key, agent=agent, lease_seconds=lease_seconds
    )


RECLAIM_BATCH = 100  # expired leases returned per call, so one claim never does unbounded work


async def reclaim_expired(conn: Conn, *, project: str, limit: int = RECLAIM_BATCH) -> int:
    """Return the project's tasks whose lease expired to pending; how many."""
    cursor = await conn.execute(_RECLAIM, {"project": project, "limit": limit})
    return len(await cursor.fetchall())
