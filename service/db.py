"""The connection pool, the fetch helpers, and database errors turned into API errors."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection, errors, sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from service.config import PoolSettings
from service.constraint_messages import CONSTRAINT_ERRORS, DELETE_CONFLICTS, MESSAGE_SAYS_IT
from service.errors import ApiError, Conflict, NotFound, ServiceUnavailable, Unprocessable
from service.metrics import POOL_ACQUIRE

log = logging.getLogger("worktrack.db")

Pool = AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]]
T = TypeVar("T")

RETRIES = 3  # attempts at an operation that lost a serialization race or a deadlock


class ScopedPool(AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]]):
    """The pool whose every connection, as it is handed out, is first set by
    `checkout` (service.access.scope_connection: the role and projects of the
    running request, for row-level security)."""

    def __init__(
        self, *args: Any, checkout: Callable[[AsyncConnection[Any]], Awaitable[None]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._checkout = checkout

    async def getconn(self, timeout: float | None = None) -> AsyncConnection[tuple[Any, ...]]:
        conn = await super().getconn(timeout)
        try:
            await self._checkout(conn)
        except BaseException:
            await self.putconn(conn)
            raise
        return conn

    def connection(  # type: ignore[override]
        self, timeout: float | None = None
    ) -> AbstractAsyncContextManager[AsyncConnection[tuple[Any, ...]]]:
        """`async with pool.connection() as conn`, for less than the pool's own: no
        generator, and no commit or rollback of the connection at the end (its
        statements run in autocommit or in their own `conn.transaction()`; the pool
        rolls back whatever a failure left open when the connection comes back)."""
        return _Lease(self, timeout)


class _Lease:
    __slots__ = ("conn", "pool", "timeout")

    def __init__(self, pool: ScopedPool, timeout: float | None) -> None:
        self.pool, self.timeout = pool, timeout

    async def __aenter__(self) -> AsyncConnection[tuple[Any, ...]]:
        self.conn = await self.pool.getconn(self.timeout)
        return self.conn

    async def __aexit__(self, *exc_info: object) -> None:
        await self.pool.putconn(self.conn)


def create_pool(url: str, settings: PoolSettings) -> Pool:
    """An unopened pool; the app's lifespan opens and closes it."""
    from service import access  # access builds on this module

    options = " ".join(
        [
            # A runaway statement is cancelled instead of holding its connection.
            f"-c statement_timeout={settings.statement_timeout_ms}",
            # A row lock held elsewhere (a DBA's open transaction) costs a request this
            # long, not a statement timeout, so waiting writes cannot fill the pool.
            f"-c lock_timeout={settings.lock_timeout_ms}",
            "-c TimeZone=UTC",
            # The dependency guards need READ COMMITTED, whatever the server's default.
            "-c default_transaction_isolation=read\\ committed",
            # The actor task history records for API writes that name nobody.
            "-c worktrack.actor=api",
        ]
    )
    return ScopedPool(
        url,
        checkout=access.scope_connection,
        configure=access.configure_connection,
        min_size=settings.min_size,
        max_size=settings.max_size,
        timeout=settings.timeout,
        max_lifetime=settings.max_lifetime,
        max_idle=settings.max_idle,
        kwargs={"autocommit": True, "options": options, "application_name": "worktrack"},
        open=False,
        name="worktrack",
    )


async def run(
    pool: Pool,
    operation: Callable[[AsyncConnection[tuple[Any, ...]]], Awaitable[T]],
    *,
    deleting: bool = False,
) -> T:
    """Run `operation` on a pooled connection; database failures become API errors.

    An operation that lost a serialization race or a deadlock is retried a few
    times; statements here are single and idempotent until they commit.
    `deleting` says the operation deletes: a foreign key it violates then keeps
    the row from deletion (409), instead of naming a missing row (404).
    """
    for attempt in range(1, RETRIES + 1):
        try:
            asked = time.perf_counter()
            async with pool.connection() as conn:
                POOL_ACQUIRE.observe(time.perf_counter() - asked)
                return await _tracked(operation(conn))
        except (errors.SerializationFailure, errors.DeadlockDetected) as exc:
            if attempt == RETRIES:
                log.warning("giving up after %d attempts: %s", attempt, exc)
                raise ServiceUnavailable("the database was too busy to finish; try again") from None
            await asyncio.sleep(0.01 * attempt)
        except PoolTimeout:
            raise ServiceUnavailable("no database connection became free in time") from None
        except psycopg.Error as exc:
            raise translate(exc, deleting=deleting) from None
    raise AssertionError("unreachable")


class WriterGate:
    """The pool as writes see it: at most max_size - 1 connections at once, so one
    stays for reads however many writes wait on a locked row (each for at most
    lock_timeout). Used like the pool: `async with gate.connection() as conn`."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.gate = asyncio.Semaphore(max(1, pool.max_size - 1))

    @asynccontextmanager
    async def connection(
        self, timeout: float | None = None
    ) -> AsyncIterator[AsyncConnection[tuple[Any, ...]]]:
        try:
            async with asyncio.timeout(timeout if timeout is not None else self.pool.timeout):
                await self.gate.acquire()
        except TimeoutError:
            raise PoolTimeout("no connection for writes became free in time") from None
        try:
            async with self.pool.connection(timeout) as conn:
                yield conn
        finally:
            self.gate.release()


# Requests now running a database operation. A request cancelled at shutdown has
# psycopg cancel its statement in the server (a write blocked on a lock must not
# commit once the lock goes); `settle` lets those cancellations finish before the
# event loop stops, which would interrupt them and leave the statement running.
_running: set[asyncio.Task[Any]] = set()


async def _tracked(operation: Awaitable[T]) -> T:
    task = asyncio.current_task()
    if task is None:  # pragma: no cover - always inside a task under uvicorn
        return await operation
    _running.add(task)
    try:
        return await operation
    finally:
        _running.discard(task)


async def settle(timeout: float) -> None:
    """Wait (at most `timeout` seconds) for requests still inside a database operation."""
    others = {task for task in _running if task is not asyncio.current_task()}
    if others:
        await asyncio.wait(others, timeout=timeout)


class Stream:
    """The pieces of a streamed answer, the first already read. Iterate it once; then
    aclose() it, however the answer ended (finished, cut short, the client gone before
    it began to read): that ends the transaction and gives the connection back at
    once, where an abandoned generator would wait for the garbage collector."""

    def __init__(self, first: str, produced: AsyncGenerator[str | None]) -> None:
        self._first, self._produced = first, produced
        self._pieces: AsyncGenerator[str] | None = None

    def __aiter__(self) -> AsyncGenerator[str]:
        assert self._pieces is None, "a stream is read once"
        self._pieces = self._read()
        return self._pieces

    async def _read(self) -> AsyncGenerator[str]:
        yield self._first
        try:
            async for piece in self._produced:
                assert piece is not None
                yield piece
        except psycopg.Error as exc:
            log.warning("a streamed answer was cut short: %s", exc)
            raise

    async def aclose(self) -> None:
        if self._pieces is not None:
            await self._pieces.aclose()
        await self._produced.aclose()


async def stream(
    pool: Pool,
    pieces: Callable[[AsyncConnection[tuple[Any, ...]]], AsyncGenerator[str | None]],
) -> Stream | None:
    """A long answer read in pieces on a connection of its own: None when the first
    piece is None (nothing to send), else a Stream of every piece. Errors before the
    first piece become API errors; later ones end the stream, so the client sees it
    cut short."""

    async def produce() -> AsyncGenerator[str | None]:
        async with pool.connection() as conn:
            read = pieces(conn)
            try:
                async for piece in read:
                    yield piece
            finally:  # its transaction ends before the connection goes back
                await read.aclose()

    produced = produce()
    try:
        first = await anext(produced)
    except PoolTimeout:
        raise ServiceUnavailable("no database connection became free in time") from None
    except psycopg.Error as exc:
        raise translate(exc) from None
    if first is None:
        await produced.aclose()
        return None
    return Stream(first, produced)


def _declared(query: sql.SQL, kind: str) -> sql.SQL:
    """The query, when it was declared to give this kind of answer (service.queries)."""
    declared = getattr(query, "kind", None)
    if declared is not None and declared != kind:
        raise TypeError(f"{query!r} is declared :{declared}, read here as :{kind}")
    return query


async def fetch_value(
    conn: AsyncConnection[tuple[Any, ...]], query: sql.SQL, *, prepare: bool | None = None, **params: Any
) -> Any:
    """The first column of the first row of a :one query, or None when there is no row.

    prepare=False plans the statement for these very values every time: for the
    filter queries, whose NULL parameters mean "no filter", a plan made for the
    actual values folds those branches away and picks the right index.
    """
    row = await fetch_row(conn, query, prepare=prepare, **params)
    return None if row is None else row[0]


async def fetch_text(
    conn: AsyncConnection[tuple[Any, ...]], query: sql.SQL, *, prepare: bool | None = None, **params: Any
) -> str | None:
    """The first column of the first row as text (a JSON document), or None."""
    value = await fetch_value(conn, query, prepare=prepare, **params)
    return None if value is None else str(value)


async def fetch_row(
    conn: AsyncConnection[tuple[Any, ...]], query: sql.SQL, *, prepare: bool | None = None, **params: Any
) -> tuple[Any, ...] | None:
    """The one row of a :one query, or None."""
    cursor = await conn.execute(_declared(query, "one"), params, prepare=prepare)
    return await cursor.fetchone()


async def fetch_all(
    conn: AsyncConnection[tuple[Any, ...]], query: sql.SQL, **params: Any
) -> list[tuple[Any, ...]]:
    """Every row of a :many query."""
    cursor = await conn.execute(_declared(query, "many"), params)
    return await cursor.fetchall()


async def execute(conn: AsyncConnection[tuple[Any, ...]], query: sql.SQL, **params: Any) -> None:
    """Run an :exec query, whose rows (if any) nobody reads."""
    await conn.execute(_declared(query, "exec"), params)


def _rule_in_words(constraint: str) -> str:
    """chk_tasks_priority_range -> 'tasks priority range'."""
    for prefix in ("chk_", "uq_", "fk_"):
        constraint = constraint.removeprefix(prefix)
    return constraint.replace("_", " ")


def translate(exc: psycopg.Error, *, deleting: bool = False) -> ApiError:
    """One place that turns a database error into what the client is told.

    Decided by SQLSTATE and constraint name, never by message text (which
    follows lc_messages). diag.message_detail may hold row values: it is
    logged, never sent.
    """
    constraint = exc.diag.constraint_name
    if isinstance(exc, errors.RestrictViolation) or (
        deleting and isinstance(exc, errors.ForeignKeyViolation)
    ):
        # Deleting a row that others still point at: 23001 (RESTRICT on PostgreSQL
        # 18) or 23503 from a statement that deletes.
        message = DELETE_CONFLICTS.get(constraint or "")
        return Conflict(
            message or f"other rows still refer to it ({_rule_in_words(constraint or 'foreign key')})"
        )
    if constraint in CONSTRAINT_ERRORS:
        kind, field, message = CONSTRAINT_ERRORS[constraint]
        if constraint in MESSAGE_SAYS_IT and exc.diag.message_primary:
            message = exc.diag.message_primary  # "task T-1 cannot move from pending to completed"
        fields = [{"field": f"body.{field}", "message": message}] if field else None
        return kind(message, errors=fields)
    if isinstance(exc, errors.UniqueViolation):
        return Conflict(f"already exists ({_rule_in_words(constraint or 'unique')})")
    if isinstance(exc, errors.ForeignKeyViolation):
        return NotFound(f"a referenced row does not exist ({_rule_in_words(constraint or 'foreign key')})")
    if isinstance(exc, psycopg.IntegrityError):  # check, exclusion, or a rule raised by a trigger
        return Unprocessable(f"the change breaks the rule: {_rule_in_words(constraint or 'check')}")
    if isinstance(exc, errors.NotNullViolation):
        return Unprocessable(f"{exc.diag.column_name or 'a field'} may not be null")
    if isinstance(exc, psycopg.DataError):  # bad values: out of range, NUL in text, ...
        reason = exc.diag.message_primary or str(exc).splitlines()[0]
        log.info("data refused by the database: %s", reason)
        return Unprocessable(f"a value cannot be stored: {reason}")
    if isinstance(exc, errors.LockNotAvailable):
        return ServiceUnavailable("a row it needs is locked by another transaction; try again")
    if isinstance(exc, errors.QueryCanceled):
        return ServiceUnavailable("the database did not answer in time")
    if isinstance(exc, psycopg.OperationalError):
        log.warning("database unavailable: %s", exc)
        return ServiceUnavailable("the database is unavailable")
    log.error("unexpected database error %s: %s (%s)", exc.sqlstate, exc, exc.diag.message_detail)
    return ApiError("an unexpected database error occurred; it has been logged")
