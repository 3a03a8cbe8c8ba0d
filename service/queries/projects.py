"""Projects: sql/queries/projects.sql. Functions return JSON text built by the database."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from service import queries
from service.db import fetch_text, fetch_value

Conn = AsyncConnection[tuple[Any, ...]]
_Q = queries.load("projects")
_INSERT, _GET, _EXISTS = _Q["project_insert"], _Q["project_get"], _Q["project_exists"]
_LIST, _UPDATE, _DELETE, _EXPORT = (
    _Q["project_list"],
    _Q["project_update"],
    _Q["project_delete"],
    _Q["project_export"],
)
_SET_LOCAL_TIMEOUT = _Q["set_local_statement_timeout"]


async def insert(
    conn: Conn,
    *,
    key: str,
    name: str,
    description: str | None,
    is_active: bool,
    metadata: dict[str, Any],
    max_attempts: int = 5,
) -> str:
    return str(
        await fetch_value(
            conn,
            _INSERT,
            key=key,
            name=name,
            description=description,
            is_active=is_active,
            metadata=Jsonb(metadata),
            max_attempts=max_attempts,
        )
    )


async def get(conn: Conn, *, project: str) -> str | None:
    return await fetch_text(conn, _GET, project=project)


async def exists(conn: Conn, *, project: str) -> bool:
    return bool(await fetch_value(conn, _EXISTS, project=project))


async def page(conn: Conn, *, after_id: int, limit: int, is_active: bool | None) -> str:
    return str(
        await fetch_value(conn, _LIST, prepare=False, after_id=after_id, limit=limit, is_active=is_active)
    )


async def update(conn: Conn, *, project: str, patch: dict[str, Any]) -> str | None:
    return await fetch_text(conn, _UPDATE, project=project, patch=Jsonb(patch))


async def delete(conn: Conn, *, project: str) -> bool:
    return await fetch_value(conn, _DELETE, project=project) is not None


EXPORT_TIMEOUT = "60s"  # a whole project takes longer than the per-statement default


async def export(conn: Conn, *, project: str) -> str | None:
    async with conn.transaction():
        await conn.execute(_SET_LOCAL_TIMEOUT, {"timeout": EXPORT_TIMEOUT})
        return await fetch_text(conn, _EXPORT, project=project)
