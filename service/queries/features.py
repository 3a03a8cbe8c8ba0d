"""Features: sql/queries/features.sql."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from service import queries
from service.db import fetch_text, fetch_value

Conn = AsyncConnection[tuple[Any, ...]]
_Q = queries.load("features")
_INSERT, _GET, _LIST = _Q["feature_insert"], _Q["feature_get"], _Q["feature_list"]
_UPDATE, _DELETE = _Q["feature_update"], _Q["feature_delete"]


async def insert(
    conn: Conn,
    *,
    project: str,
    epic: str,
    key: str,
    title: str,
    description: str | None,
    metadata: dict[str, Any],
) -> str | None:
    """The new feature, or None when the project or the epic does not exist."""
    return await fetch_text(
        conn,
        _INSERT,
        project=project,
        epic=epic,
        key=key,
        title=title,
        description=description,
        metadata=Jsonb(metadata),
    )


async def get(conn: Conn, *, project: str, key: str) -> str | None:
    return await fetch_text(conn, _GET, project=project, key=key)


async def page(conn: Conn, *, project: str, epic: str | None, after_id: int, limit: int) -> str | None:
    """A page of features, or None when the project does not exist."""
    return await fetch_text(
        conn, _LIST, prepare=False, project=project, epic=epic, after_id=after_id, limit=limit
    )


async def update(conn: Conn, *, project: str, key: str, patch: dict[str, Any]) -> str | None:
    return await fetch_text(conn, _UPDATE, project=project, key=key, patch=Jsonb(patch))


async def delete(conn: Conn, *, project: str, key: str) -> bool:
    return await fetch_value(conn, _DELETE, project=project, key=key) is not None
