"""The connection pool and the translation of database errors into API errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from service.config import PoolSettings
from service.errors import ApiError, ServiceUnavailable

log = logging.getLogger("worktrack.db")


Pool = AsyncConnectionPool[AsyncConnection[DictRow]]


def create_pool(url: str, settings: PoolSettings) -> Pool:
    """An unopened pool; the app's lifespan opens and closes it."""
    return AsyncConnectionPool(
        url,
        connection_class=AsyncConnection[DictRow],
        min_size=settings.min_size,
        max_size=settings.max_size,
        timeout=settings.timeout,
        max_lifetime=settings.max_lifetime,
        max_idle=settings.max_idle,
        kwargs={
            "autocommit": True,
            "row_factory": dict_row,
            # A runaway statement is cancelled instead of holding its connection.
            "options": f"-c statement_timeout={settings.statement_timeout_ms}",
            "application_name": "worktrack",
        },
        open=False,
        name="worktrack",
    )


@asynccontextmanager
async def connection(pool: Pool) -> AsyncIterator[AsyncConnection[DictRow]]:
    """A pooled connection; database failures surface as API errors."""
    try:
        async with pool.connection() as conn:
            yield conn
    except PoolTimeout:
        raise ServiceUnavailable("no database connection became free in time") from None
    except psycopg.Error as exc:
        raise translate(exc) from None


def translate(exc: psycopg.Error) -> ApiError:
    """One place that turns a database error into what the client is told."""
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return ServiceUnavailable("the database did not answer in time")
    if isinstance(exc, psycopg.OperationalError):
        log.warning("database unavailable: %s", exc)
        return ServiceUnavailable("the database is unavailable")
    log.error("unexpected database error %s: %s", exc.sqlstate, exc)
    return ApiError("an unexpected database error occurred; it has been logged")
