"""Dependency edges: sql/queries/dependencies.sql."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from service import queries
from service.db import fetch_value

Conn = AsyncConnection[tuple[Any, ...]]
_Q = queries.load("dependencies")
_ADD, _REMOVE = _Q["dependency_add"], _Q["dependency_remove"]


async def add(conn: Conn, *, project: str, key: str, other: str) -> bool | None:
    """True when the edge is new, False when it was there; None when a task is missing."""
    created = await fetch_value(conn, _ADD, project=project, key=key, other=other)
    return None if created is None else bool(created)


async def remove(conn: Conn, *, project: str, key: str, other: str) -> bool:
    return await fetch_value(conn, _REMOVE, project=project, key=key, other=other) is not None
