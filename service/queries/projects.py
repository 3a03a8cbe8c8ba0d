"""Projects: sql/queries/projects.sql. Functions return JSON text built by the database."""

from __future__ import annotations

import weakref
from collections.abc import AsyncGenerator
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.types.json import Jsonb

from service import queries
from service.db import fetch_row, fetch_text, fetch_value
from service.errors import NotFound

Conn = AsyncConnection[tuple[Any, ...]]
_Q = queries.load("projects")
_INSERT, _GET, _ID_OF = _Q["project_insert"], _Q["project_get"], _Q["project_id_of"]
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


def project_not_found(project: str) -> NotFound:
    return NotFound(f"project {project!r} does not exist")


def not_in_project(project: str, what: str) -> NotFound:
    return NotFound(f"{what} does not exist in project {project!r}")


# Project ids by (database, lower-cased key). Projects are few and change rarely;
# an entry that went stale (the project deleted, or re-created under the same key)
# is found out by the statement that uses it, which compares the key.
_IDS: dict[tuple[str, str], int] = {}


_DATABASE_OF: weakref.WeakKeyDictionary[Conn, str] = weakref.WeakKeyDictionary()


def project_key(conn: Conn, project: str) -> tuple[str, str]:
    """(database, lower-cased key): a project as the process's caches know it."""
    database = _DATABASE_OF.get(conn)
    if database is None:  # asked of libpq once per connection, not per statement
        info = conn.info
        database = _DATABASE_OF[conn] = f"{info.host}:{info.port}/{info.dbname}"
    return database, project.lower()


async def project_id(conn: Conn, project: str) -> int | None:
    """The id of the project with this key, from the process's cache when it is there."""
    where = project_key(conn, project)
    known = _IDS.get(where)
    if known is None:
        found = await look_up_id(conn, project)
        if found is None:
            return None
        known = _IDS[where] = found
    return known


async def look_up_id(conn: Conn, project: str) -> int | None:
    """The id of the project with this key, asked of the database (no cache)."""
    found = await fetch_value(conn, _ID_OF, project=project)
    return None if found is None else int(found)


def forget(conn: Conn, project: str) -> None:
    _IDS.pop(project_key(conn, project), None)


async def exists(conn: Conn, *, project: str) -> bool:
    """Whether the project exists now: asked of the database, not of the cache (no
    statement that follows would find a stale entry out)."""
    found = await look_up_id(conn, project)
    if found is None:
        forget(conn, project)
    else:
        _IDS[project_key(conn, project)] = found
    return found is not None


async def in_project(
    conn: Conn, query: queries.Query, project: str, *, prepare: bool | None = None, **params: Any
) -> tuple[Any, ...]:
    """Run a statement about one project's work items (sql/queries/tasks.sql says how
    they are written): the columns of its answer after the first, the project's key.

    The statement gets the project's id and key; when it finds that the id no longer
    belongs to the key (a stale entry), the key is resolved again and the statement
    run once more. Raises the 404 when there is no such project.
    """
    for _ in range(2):
        known = await project_id(conn, project)
        if known is None:
            break
        row = await fetch_row(conn, query, prepare=prepare, project_id=known, project=project, **params)
        assert row is not None, f"{query!r} answers one row"
        if row[0] is not None:
            return tuple(row[1:])
        forget(conn, project)
    raise project_not_found(project)


async def page(conn: Conn, *, after_id: int, limit: int, is_active: bool | None) -> str:
    return str(
        await fetch_value(conn, _LIST, prepare=False, after_id=after_id, limit=limit, is_active=is_active)
    )


async def update(conn: Conn, *, project: str, patch: dict[str, Any]) -> str | None:
    return await fetch_text(conn, _UPDATE, project=project, patch=Jsonb(patch))


async def delete(conn: Conn, *, project: str) -> bool:
    deleted = await fetch_value(conn, _DELETE, project=project) is not None
    forget(conn, project)
    return deleted


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
