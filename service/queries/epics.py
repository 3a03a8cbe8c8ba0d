"""Epics: sql/queries/epics.sql. Each function makes one statement and raises the
404 that says what is missing."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from service import queries
from service.queries.projects import in_project, not_in_project

Conn = AsyncConnection[tuple[Any, ...]]
_Q = queries.load("epics")
_INSERT, _GET, _LIST = _Q["epic_insert"], _Q["epic_get"], _Q["epic_list"]
_UPDATE, _DELETE = _Q["epic_update"], _Q["epic_delete"]


def _found(doc: Any, project: str, key: str) -> str:
    if doc is None:
        raise not_in_project(project, f"epic {key!r}")
    return str(doc)


async def insert(
    conn: Conn, *, project: str, key: str, title: str, description: str | None, metadata: dict[str, Any]
) -> str:
    (doc,) = await in_project(
        conn, _INSERT, project, key=key, title=title, description=description, metadata=Jsonb(metadata)
    )
    return str(doc)


async def get(conn: Conn, *, project: str, key: str) -> str:
    (doc,) = await in_project(conn, _GET, project, key=key)
    return _found(doc, project, key)


async def page(conn: Conn, *, project: str, after_id: int, limit: int) -> str:
    (doc,) = await in_project(conn, _LIST, project, after_id=after_id, limit=limit)
    return str(doc)


async def update(conn: Conn, *, project: str, key: str, patch: dict[str, Any]) -> str:
    (doc,) = await in_project(conn, _UPDATE, project, key=key, patch=Jsonb(patch))
    return _found(doc, project, key)


async def delete(conn: Conn, *, project: str, key: str) -> None:
    (deleted,) = await in_project(conn, _DELETE, project, key=key)
    if not deleted:
        raise not_in_project(project, f"epic {key!r}")
