"""Tasks: sql/queries/tasks.sql."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from service import queries
from service.db import fetch_row, fetch_text, fetch_value

Conn = AsyncConnection[tuple[Any, ...]]
_Q = queries.load("tasks")
_INSERT_MANY, _MISSING_FEATURES = _Q["task_insert_many"], _Q["task_missing_features"]
_GET, _EXISTS, _LIST, _UPDATE = _Q["task_get"], _Q["task_exists"], _Q["task_list"], _Q["task_update"]
_SET_STATUS, _DELETE = _Q["task_set_status"], _Q["task_delete"]


async def insert_many(conn: Conn, *, project: str, tasks: list[dict[str, Any]]) -> tuple[int, str]:
    """Insert every task or none: (how many were inserted, their documents as a JSON array).

    Zero inserted means the project does not exist.
    """
    row = await fetch_row(conn, _INSERT_MANY, project=project, tasks=Jsonb(tasks))
    assert row is not None
    return int(row[0]), str(row[1])


async def missing_features(conn: Conn, *, project: str, features: list[str]) -> list[str]:
    return list(await fetch_value(conn, _MISSING_FEATURES, project=project, features=features))


async def get(conn: Conn, *, project: str, key: str) -> str | None:
    return await fetch_text(conn, _GET, project=project, key=key)


async def exists(conn: Conn, *, project: str, key: str) -> bool:
    return bool(await fetch_value(conn, _EXISTS, project=project, key=key))


async def page(conn: Conn, **filters: Any) -> str | None:
    """A filtered page (see task_list for the parameters), or None for an unknown project."""
    return await fetch_text(conn, _LIST, prepare=False, **filters)


async def update(conn: Conn, *, project: str, key: str, patch: dict[str, Any]) -> str | None:
    return await fetch_text(conn, _UPDATE, project=project, key=key, patch=Jsonb(patch))


async def set_status(
    conn: Conn,
    *,
    project: str,
    key: str,
    status: str,
    note: str | None,
    actor: str,
    agent: str | None,
    evidence: dict[str, Any] | None = None,
) -> str | None:
    return await fetch_text(
        conn,
        _SET_STATUS,
        project=project,
        key=key,
        status=status,
        note=note,
        actor=actor,
        agent=agent,
        evidence=None if evidence is None else Jsonb(evidence),
    )


async def delete(conn: Conn, *, project: str, key: str) -> bool:
    return await fetch_value(conn, _DELETE, project=project, key=key) is not None
