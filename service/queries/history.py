"""Task history: sql/queries/history.sql."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from service import queries
from service.queries.projects import in_project, not_in_project

Conn = AsyncConnection[tuple[Any, ...]]
_Q = queries.load("history")
_TASK, _PROJECT, _POLL = _Q["task_history"], _Q["project_history"], _Q["project_history_poll"]


async def of_task(conn: Conn, *, project: str, key: str) -> str:
    """The task's history, oldest first, as a one-page list."""
    (doc,) = await in_project(conn, _TASK, project, key=key)
    if doc is None:
        raise not_in_project(project, f"task {key!r}")
    return str(doc)


async def of_project(
    conn: Conn, *, project: str, since: datetime | None, before: tuple[datetime, int] | None, limit: int
) -> str:
    """A page of the project's changes, newest first."""
    (doc,) = await in_project(
        conn,
        _PROJECT,
        project,
        since=since,
        before_changed_at=before[0] if before else None,
        before_id=before[1] if before else None,
        limit=limit,
    )
    return str(doc)


async def poll_project(
    conn: Conn,
    *,
    project: str,
    lower: str,
    upper: str | None,
    after: tuple[int, int],
    limit: int,
) -> str:
    """The project's changes committed since the snapshot `lower`, oldest first,
    with the next poll token."""
    (doc,) = await in_project(
        conn,
        _POLL,
        project,
        lower=lower,
        upper=upper,
        after_xid=str(after[0]),
        after_id=after[1],
        limit=limit,
    )
    return str(doc)
