"""service.db: retries, timeouts and error translation, with errors raised by a real server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from psycopg import AsyncConnection

from service import db
from service.config import PoolSettings
from service.errors import ServiceUnavailable
from tests.conftest import TEST_POOL

Operation = Callable[[AsyncConnection[tuple[Any, ...]]], Awaitable[Any]]


def _run(url: str, operation: Operation, settings: PoolSettings = TEST_POOL) -> Any:
    async def main() -> Any:
        pool = db.create_pool(url, settings)
        await pool.open()
        try:
            return await db.run(pool, operation)
        finally:
            await pool.close()

    return asyncio.run(main())


RAISE_SERIALIZATION_FAILURE = "DO $$ BEGIN RAISE EXCEPTION 'lost a race' USING ERRCODE = '40001'; END $$"


def test_a_serialization_failure_is_retried_then_succeeds(db_url: str) -> None:
    attempts = 0

    async def flaky(conn: AsyncConnection[tuple[Any, ...]]) -> str:
        nonlocal attempts
        attempts += 1
        if attempts < db.RETRIES:
            await conn.execute(RAISE_SERIALIZATION_FAILURE)
        return "done"

    assert _run(db_url, flaky) == "done"
    assert attempts == db.RETRIES


def test_retries_are_bounded_then_503(db_url: str) -> None:
    attempts = 0

    async def always_loses(conn: AsyncConnection[tuple[Any, ...]]) -> None:
        nonlocal attempts
        attempts += 1
        await conn.execute("DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$")

    with pytest.raises(ServiceUnavailable) as caught:
        _run(db_url, always_loses)
    assert attempts == db.RETRIES
    assert caught.value.headers == {"Retry-After": "1"}


def test_a_statement_timeout_is_503(db_url: str) -> None:
    async def slow(conn: AsyncConnection[tuple[Any, ...]]) -> None:
        await conn.execute("SELECT pg_sleep(2)")

    settings = PoolSettings(**{**TEST_POOL.__dict__, "statement_timeout_ms": 100})
    with pytest.raises(ServiceUnavailable, match="did not answer in time"):
        _run(db_url, slow, settings)


def test_sessions_record_api_as_the_default_actor(db_url: str) -> None:
    async def actor(conn: AsyncConnection[tuple[Any, ...]]) -> Any:
        return await db.fetch_value(conn, "SELECT current_setting('worktrack.actor')")  # type: ignore[arg-type]

    assert _run(db_url, actor) == "api"
