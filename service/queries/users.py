"""Users: sql/queries/users.sql."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from service import queries
from service.db import fetch_text, fetch_value
from service.models import UserCreate

Conn = AsyncConnection[tuple[Any, ...]]
_Q = queries.load("users")
_INSERT, _GET, _LIST = _Q["user_insert"], _Q["user_get"], _Q["user_list"]
_UPDATE, _DELETE = _Q["user_update"], _Q["user_delete"]


async def insert(conn: Conn, user: UserCreate) -> str:
    return str(
        await fetch_value(
            conn,
            _INSERT,
            email=user.email,
            username=user.username,
            full_name=user.full_name,
            jira_account_id=user.jira_account_id,
            is_active=user.is_active,
            is_superuser=user.is_superuser,
            settings=Jsonb(user.settings),
        )
    )


async def get(conn: Conn, *, id: int) -> str | None:
    return await fetch_text(conn, _GET, id=id)


async def page(conn: Conn, *, after_id: int, limit: int, is_active: bool | None, settings: str | None) -> str:
    return str(
        await fetch_value(
            conn, _LIST, prepare=False, after_id=after_id, limit=limit, is_active=is_active, settings=settings
        )
    )


async def update(conn: Conn, *, id: int, patch: dict[str, Any]) -> str | None:
    return await fetch_text(conn, _UPDATE, id=id, patch=Jsonb(patch))


async def delete(conn: Conn, *, id: int) -> bool:
    return await fetch_value(conn, _DELETE, id=id) is not None
