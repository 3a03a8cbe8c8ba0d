"""Each person's queue of work in a sprint: sql/queries/sprint_queue_items.sql."""

from __future__ import annotations

from typing import Any, NamedTuple

from psycopg import AsyncConnection

from service import queries
from service.db import fetch_row, fetch_text, fetch_value
from service.models import QueueItemCreate

Conn = AsyncConnection[tuple[Any, ...]]
_Q = queries.load("sprint_queue_items")
_INSERT, _LIST, _DELETE = (
    _Q["sprint_queue_item_insert"],
    _Q["sprint_queue_item_list"],
    _Q["sprint_queue_item_delete"],
)


class ItemAdded(NamedTuple):
    """The new item, or None and which of the rows it names was not found."""

    doc: str | None
    sprint_found: bool
    project_found: bool


async def insert(conn: Conn, *, sprint_id: int, item: QueueItemCreate) -> ItemAdded:
    row = await fetch_row(
        conn,
        _INSERT,
        sprint_id=sprint_id,
        user_id=item.user_id,
        position=item.position,
        project=item.project,
        task=item.task,
        notes=item.notes,
    )
    assert row is not None  # the statement always answers one row
    return ItemAdded(row[0], row[1], row[2])


async def of_sprint(conn: Conn, *, sprint_id: int, user_id: int | None) -> str | None:
    return await fetch_text(conn, _LIST, prepare=False, sprint_id=sprint_id, user_id=user_id)


async def delete(conn: Conn, *, sprint_id: int, id: int) -> bool:
    return await fetch_value(conn, _DELETE, sprint_id=sprint_id, id=id) is not None
