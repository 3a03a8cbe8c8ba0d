"""Task history: sql/queries/history.sql."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from service import queries
from service.db import fetch_text

Conn = AsyncConnection[tuple[Any, ...]]
_Q = queries.load("history")
_TASK, _PROJECT, _POLL = _Q["task_history"], _Q["project_history"], _Q["project_history_poll"]


async def of_task(conn: Conn, *, project: str, key: str) -> str | None:
    """The task's history, oldest first, as a one-page list; None when the task does not exist."""
    return await fetch_text(conn, _TASK, project=project, key=key)


async def of_project(
    conn: Conn, *, project: str, since: datetime | None, before: tuple[datetime, int] | None, limit: int
) -> str | None:
    """A page of the project's changes, newest first; None when the project does not exist."""
    return await fetch_text(
        conn,
        _PROJECT,
        project=project,
        since=since,
        before_changed_at=before[0] if before else None,
        before_id=before[1] if before else None,
        limit=limit,
    )


async def poll_project(
    conn: Conn,
    *,
    project: str,
    lower: str,
    upper: str | None,
    after: tuple[int, int],
    limit: int,
) -> str | None:
    """The project's changes committed since the snapshot `lower`, oldest first,
    with the next poll token; None when the project does not exist."""
    return await fetch_text(
        conn,
        _POLL,
        project=project,
        lower=lower,
        upper=upper,
        after_xid=str(after[0]),
        after_id=after[1],
        limit=limit,
    )
