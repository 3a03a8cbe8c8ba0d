"""Team capacities in sprints: sql/queries/capacities.sql."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from service import queries
from service.db import fetch_row, fetch_text, fetch_value
from service.models import CapacityPut

Conn = AsyncConnection[tuple[Any, ...]]
_Q = queries.load("capacities")
_PUT, _LIST, _DELETE = _Q["capacity_upsert"], _Q["capacity_list"], _Q["capacity_delete"]


async def put(conn: Conn, *, sprint_id: int, user_id: int, capacity: CapacityPut) -> tuple[str, bool] | None:
    """The capacity and whether it is new, or None when the sprint does not exist."""
    row = await fetch_row(
        conn,
        _PUT,
        sprint_id=sprint_id,
        user_id=user_id,
        capacity_points=capacity.capacity_points,
        allocated_points=capacity.allocated_points,
    )
    return None if row is None else (str(row[0]), bool(row[1]))


async def of_sprint(conn: Conn, *, sprint_id: int) -> str | None:
    return await fetch_text(conn, _LIST, sprint_id=sprint_id)


async def delete(conn: Conn, *, sprint_id: int, user_id: int) -> bool:
    return await fetch_value(conn, _DELETE, sprint_id=sprint_id, user_id=user_id) is not None
