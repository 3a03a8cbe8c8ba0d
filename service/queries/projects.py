"""Projects: sql/queries/projects.sql. Functions return JSON text built by the database."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.types.json import Jsonb

from service import queries
from service.db import fetch_text, fetch_value

Conn = AsyncConnection[tuple[Any, ...]]
_Q = queries.load("projects")
_INSERT, _GET, _EXISTS = _Q["project_insert"], _Q["project_get"], _Q["project_exists"]
_LIST, _UPDATE, _DELETE = _Q["project_list"], _Q["project_update"], _Q["project_delete"]


async def insert(
    conn: Conn,
    *,
    key: str,
    name: str,
    description: str | None,
    is_active: bool,
    metadata: dict[str, Any],
    default_lease_seconds: int = 300,
    max_lease_seconds: int = 86_400,
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
            default_lease_seconds=default_lease_seconds,
            max_lease_seconds=max_lease_seconds,
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


EXPORT_BATCH = 500  # rows fetched from the cursor at a time: memory stays flat
_EXPORT_LOCK, _EXPORT_HEAD = _Q["project_export_lock"], _Q["project_export_head"]
_EXPORT_BOUNDS = _Q["set_local_export_bounds"]
_EXPORT_SECTIONS = [
    (name, _Q[f"project_export_{name}"]) for name in ("epics", "features", "tasks", "dependencies", "history")
]
_SNAPSHOT = sql.SQL("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")


async def export(conn: Conn, *, project: str, timeout_ms: int) -> AsyncGenerator[str | None]:
    """The whole project as one JSON document, in pieces as the rows come: None first
    when there is no such project. One snapshot, so the pieces agree with each other.

    The caller iterates it to the end or closes it; the transaction lasts as long.
    """
    async with conn.transaction():
        await conn.execute(_SNAPSHOT)
        await conn.execute(_EXPORT_BOUNDS, {"timeout": f"{timeout_ms}ms"})
        await conn.execute(_EXPORT_LOCK)
        head = await (await conn.execute(_EXPORT_HEAD, {"project": project})).fetchone()
        if head is None:
            yield None
            return
        project_id, project_doc, exported_at = head
        yield '{"project":' + project_doc
        for name, query in _EXPORT_SECTIONS:
            yield f',"{name}":['
            separator = ""
            async with conn.cursor(name=f"export_{name}") as cursor:
                await cursor.execute(query, {"project_id": project_id})
                while rows := await cursor.fetchmany(EXPORT_BATCH):
                    yield separator + ",".join(row[0] for row in rows)
                    separator = ","
            yield "]"
        yield f',"exported_at":{exported_at}}}'


async def export_text(conn: Conn, *, project: str, timeout_ms: int = 60_000) -> str | None:
    """The whole export as one string (for measuring; the API streams it)."""
    pieces = [piece async for piece in export(conn, project=project, timeout_ms=timeout_ms)]
    return None if pieces == [None] else "".join(str(piece) for piece in pieces)
