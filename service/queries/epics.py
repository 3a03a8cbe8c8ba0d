"""Epics: sql/queries/epics.sql."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from service import queries
from service.db import fetch_text, fetch_value

Conn = AsyncConnection[tuple[Any, ...]]
_Q = queries.load("epics")
_INSERT, _GET, _LIST = _Q["epic_insert"], _Q["epic_get"], _Q["epic_list"]
_UPDATE, _DELETE = _Q["epic_update"], _Q["epic_delete"]


async def insert(
    conn: Conn, *, project: str, key: str, title: str, description: str | None, metadata: dict[str, Any]
) -> str | None:
    """The new epic, or None when the project does not exist."""
    return await fetch_text(
        conn,
        _INSERT,
        project=project,
        key=key,
        title=title,
        description=description,
        metadata=Jsonb(metadata),
    )


async def get(conn: Conn, *, project: str, key: str) -> str | None:
    return await fetch_text(conn, _GET, project=project, key=key)


async def page(conn: Conn, *, project: str, after_id: int, limit: int) -> str | None:
    """A page of epics, or None when the project does not exist."""
    return await fetch_text(conn, _LIST, project=project, after_id=after_id, limit=limit)


async def update(conn: Conn, *, project: str, key: str, patch: dict[str, Any]) -> str | None:
    return await fetch_text(conn, _UPDATE, project=project, key=key, patch=Jsonb(patch))


async def delete(conn: Conn, *, project: str, key: str) -> bool:
    return await fetch_value(conn, _DELETE, project=project, key=key) is not None
