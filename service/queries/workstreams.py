"""Workstreams, their sprint associations and metric snapshots: sql/queries/workstreams.sql."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from service import queries
from service.db import fetch_row, fetch_text, fetch_value

Conn = AsyncConnection[tuple[Any, ...]]
_Q = queries.load("workstreams")
_INSERT, _GET, _LIST = _Q["workstream_insert"], _Q["workstream_get"], _Q["workstream_list"]
_UPDATE, _DELETE = _Q["workstream_update"], _Q["workstream_delete"]
_ASSOCIATE, _ASSOCIATIONS, _DISSOCIATE = (
    _Q["association_upsert"],
    _Q["association_list"],
    _Q["association_delete"],
)
_METRIC_INSERT, _METRICS = _Q["metric_insert"], _Q["metric_list"]


async def insert(conn: Conn, *, metadata: dict[str, Any], **fields: Any) -> str | None:
    """The new workstream, or None when its project does not exist."""
    return await fetch_text(conn, _INSERT, metadata=Jsonb(metadata), **fields)


async def get(conn: Conn, *, id: int) -> str | None:
    return await fetch_text(conn, _GET, id=id)


async def page(
    conn: Conn, *, after_id: int, limit: int, project: str | None, board: int | None, is_active: bool | None
) -> str:
    return str(
        await fetch_value(
            conn,
            _LIST,
            prepare=False,
            after_id=after_id,
            limit=limit,
            project=project,
            board=board,
            is_active=is_active,
        )
    )


async def update(conn: Conn, *, id: int, patch: dict[str, Any]) -> str | None:
    return await fetch_text(conn, _UPDATE, id=id, patch=Jsonb(patch))


async def delete(conn: Conn, *, id: int) -> bool:
    return await fetch_value(conn, _DELETE, id=id) is not None


async def associate(conn: Conn, **fields: Any) -> tuple[str, bool]:
    """The association and whether it is new."""
    row = await fetch_row(conn, _ASSOCIATE, **fields)
    assert row is not None
    return str(row[0]), bool(row[1])


async def associations(conn: Conn, *, sprint_id: int) -> str | None:
    return await fetch_text(conn, _ASSOCIATIONS, sprint_id=sprint_id)


async def dissociate(conn: Conn, *, sprint_id: int, workstream_id: int) -> bool:
    return await fetch_value(conn, _DISSOCIATE, sprint_id=sprint_id, workstream_id=workstream_id) is not None


async def add_metric(
    conn: Conn,
    *,
    discipline_breakdown: dict[str, Any],
    status_breakdown: dict[str, Any],
    metadata: dict[str, Any],
    **fields: Any,
) -> str:
    return str(
        await fetch_value(
            conn,
            _METRIC_INSERT,
            discipline_breakdown=Jsonb(discipline_breakdown),
            status_breakdown=Jsonb(status_breakdown),
            metadata=Jsonb(metadata),
            **fields,
        )
    )


async def metrics(conn: Conn, *, sprint_id: int, workstream_id: int | None) -> str | None:
    return await fetch_text(conn, _METRICS, prepare=False, sprint_id=sprint_id, workstream_id=workstream_id)
