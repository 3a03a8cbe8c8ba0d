"""Links between tasks that do not block: sql/queries/links.sql."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from service import queries
from service.errors import NotFound
from service.queries.dependencies import raise_missing_end
from service.queries.projects import in_project

Conn = AsyncConnection[tuple[Any, ...]]
_Q = queries.load("links")
_ADD, _REMOVE = _Q["link_add"], _Q["link_remove"]


async def add(conn: Conn, *, project: str, key: str, other: str, kind: str) -> bool:
    """True when the link is new, False when it was there."""
    task_found, other_found, created = await in_project(conn, _ADD, project, key=key, other=other, kind=kind)
    raise_missing_end(project, key, other, task_found, other_found)
    return bool(created)


async def remove(conn: Conn, *, project: str, key: str, other: str, kind: str) -> None:
    (removed,) = await in_project(conn, _REMOVE, project, key=key, other=other, kind=kind)
    if not removed:
        raise NotFound(f"task {key!r} has no {kind} link to {other!r} in project {project!r}")
