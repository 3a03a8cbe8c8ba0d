"""Dependency edges: sql/queries/dependencies.sql."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from service import queries
from service.errors import NotFound
from service.queries.projects import in_project, not_in_project

Conn = AsyncConnection[tuple[Any, ...]]
_Q = queries.load("dependencies")
_ADD, _REMOVE = _Q["dependency_add"], _Q["dependency_remove"]


def raise_missing_end(project: str, key: str, other: str, task_found: bool, other_found: bool) -> None:
    """The 404 for the first of an edge's two tasks that does not exist."""
    if not task_found:
        raise not_in_project(project, f"task {key!r}")
    if not other_found:
        raise not_in_project(project, f"task {other!r}")


async def add(conn: Conn, *, project: str, key: str, other: str) -> bool:
    """Make `key` depend on `other`: True when the edge is new, False when it was there."""
    task_found, other_found, created = await in_project(conn, _ADD, project, key=key, other=other)
    raise_missing_end(project, key, other, task_found, other_found)
    return bool(created)


async def remove(conn: Conn, *, project: str, key: str, other: str) -> None:
    (removed,) = await in_project(conn, _REMOVE, project, key=key, other=other)
    if not removed:
        raise NotFound(f"task {key!r} does not depend on {other!r} in project {project!r}")
