"""Saved reports, team capacities and sprint queues: sql/queries/planning.sql."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from service import queries
from service.db import fetch_row, fetch_text, fetch_value

Conn = AsyncConnection[tuple[Any, ...]]
_Q = queries.load("planning")
_REPORT_INSERT, _REPORT_GET, _REPORT_LIST, _REPORT_DELETE = (
    _Q["report_insert"],
    _Q["report_get"],
    _Q["report_list"],
    _Q["report_delete"],
)
_CAPACITY_PUT, _CAPACITIES, _CAPACITY_DELETE = (
    _Q["capacity_upsert"],
    _Q["capacity_list"],
    _Q["capacity_delete"],
)
_QUEUE_ADD, _QUEUE, _QUEUE_DELETE = _Q["queue_item_insert"], _Q["queue_item_list"], _Q["queue_item_delete"]


async def add_report(
    conn: Conn, *, parameters: dict[str, Any], content: dict[str, Any], **fields: Any
) -> str:
    return str(
        await fetch_value(
            conn, _REPORT_INSERT, parameters=Jsonb(parameters), content=Jsonb(content), **fields
        )
    )


async def get_report(conn: Conn, *, id: int) -> str | None:
    return await fetch_text(conn, _REPORT_GET, id=id)


async def reports(
    conn: Conn, *, after_id: int, limit: int, sprint_id: int | None, report_type: str | None
) -> str:
    return str(
        await fetch_value(
            conn,
            _REPORT_LIST,
            prepare=False,
            after_id=after_id,
            limit=limit,
            sprint_id=sprint_id,
            report_type=report_type,
        )
    )


async def delete_report(conn: Conn, *, id: int) -> bool:
    return await fetch_value(conn, _REPORT_DELETE, id=id) is not None


async def put_capacity(conn: Conn, **fields: Any) -> tuple[str, bool]:
    row = await fetch_row(conn, _CAPACITY_PUT, **fields)
    assert row is not None
    return str(row[0]), bool(row[1])


async def capacities(conn: Conn, *, sprint_id: int) -> str | None:
    return await fetch_text(conn, _CAPACITIES, sprint_id=sprint_id)


async def delete_capacity(conn: Conn, *, sprint_id: int, user_id: int) -> bool:
    return await fetch_value(conn, _CAPACITY_DELETE, sprint_id=sprint_id, user_id=user_id) is not None


async def add_queue_item(conn: Conn, **fields: Any) -> str | None:
    """The new item, or None when the named task does not exist."""
    return await fetch_text(conn, _QUEUE_ADD, **fields)


async def queue(conn: Conn, *, sprint_id: int, user_id: int | None) -> str | None:
    return await fetch_text(conn, _QUEUE, prepare=False, sprint_id=sprint_id, user_id=user_id)


async def delete_queue_item(conn: Conn, *, sprint_id: int, id: int) -> bool:
    return await fetch_value(conn, _QUEUE_DELETE, sprint_id=sprint_id, id=id) is not None
