"""Non-blocking links between tasks: sql/queries/links.sql."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from service import queries
from service.db import fetch_row, fetch_value

Conn = AsyncConnection[tuple[Any, ...]]
_Q = queries.load("links")
_ADD, _REMOVE = _Q["link_add"], _Q["link_remove"]


async def add(conn: Conn, *, project: str, key: str, other: str, kind: str) -> bool | None:
    """True when the link is new, False when it was there; None when a task is missing."""
    row = await fetch_row(conn, _ADD, project=project, key=key, other=other, kind=kind)
    return None if row is None else bool(row[0])


async def remove(conn: Conn, *, project: str, key: str, other: str, kind: str) -> bool:
    return await fetch_value(conn, _REMOVE, project=project, key=key, other=other, kind=kind) is not None
