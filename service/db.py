"""The connection pool, the fetch helpers, and database errors turned into API errors."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection, errors, sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from service.config import PoolSettings
from service.errors import ApiError, Conflict, NotFound, ServiceUnavailable, Unprocessable
from service.metrics import POOL_ACQUIRE

log = logging.getLogger("worktrack.db")

Pool = AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]]
T = TypeVar("T")

RETRIES = 3  # attempts at an operation that lost a serialization race or a deadlock


def create_pool(url: str, settings: PoolSettings) -> Pool:
    """An unopened pool; the app's lifespan opens and closes it."""
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
    return AsyncConnectionPool(
        url,
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


async def stream(
    pool: Pool,
    pieces: Callable[[AsyncConnection[tuple[Any, ...]]], AsyncGenerator[str | None]],
) -> AsyncGenerator[str] | None:
    """A long answer read in pieces on a connection of its own: None when the first
    piece is None (nothing to send), else every piece. Errors before the first piece
    become API errors; later ones end the stream, so the client sees it cut short."""

    async def produce() -> AsyncGenerator[str | None]:
        async with pool.connection() as conn:
            async for piece in pieces(conn):
                yield piece

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

    async def rest() -> AsyncGenerator[str]:
        try:
            yield first
            async for piece in produced:
                assert piece is not None
                yield piece
        except psycopg.Error as exc:
            log.warning("a streamed answer was cut short: %s", exc)
            raise
        finally:
            await produced.aclose()

    return rest()


async def fetch_value(
    conn: AsyncConnection[tuple[Any, ...]], query: sql.SQL, *, prepare: bool | None = None, **params: Any
) -> Any:
    """The first column of the first row, or None when there is no row.

    prepare=False plans the statement for these very values every time: for the
    filter queries, whose NULL parameters mean "no filter", a plan made for the
    actual values folds those branches away and picks the right index.
    """
    cursor = await conn.execute(query, params, prepare=prepare)
    row = await cursor.fetchone()
    return None if row is None else row[0]


async def fetch_text(
    conn: AsyncConnection[tuple[Any, ...]], query: sql.SQL, *, prepare: bool | None = None, **params: Any
) -> str | None:
    """The first column of the first row as text (a JSON document), or None."""
    value = await fetch_value(conn, query, prepare=prepare, **params)
    return None if value is None else str(value)


async def fetch_row(
    conn: AsyncConnection[tuple[Any, ...]], query: sql.SQL, **params: Any
) -> tuple[Any, ...] | None:
    cursor = await conn.execute(query, params)
    return await cursor.fetchone()


# What the client is told when a named constraint refuses a write: constraints
# (pg_constraint), unique indexes, and the rules triggers raise under a
# constraint name (tests/test_db.py keeps this list and those names the same).
# Constraints not listed here fall back on their kind (unique 409, foreign key
# 404, check 422).
CONSTRAINT_ERRORS: dict[str, tuple[type[ApiError], str | None, str]] = {
    "uq_projects_key_lower": (Conflict, "key", "a project with this key already exists (keys ignore case)"),
    "uq_epics_project_id_key": (Conflict, "key", "an epic with this key already exists in the project"),
    "uq_features_project_id_key": (Conflict, "key", "a feature with this key already exists in the project"),
    "uq_tasks_project_id_key": (Conflict, "key", "a task with this key already exists in the project"),
    "chk_tasks_status_transition": (Conflict, "status", "this status change is not allowed"),
    "chk_tasks_dependents_not_started": (
        Conflict,
        "status",
        "tasks that depend on this one have started",
    ),
    "chk_tasks_identity_unchanged": (Conflict, None, "a task's project and id never change"),
    "chk_tasks_unfinished_dependencies_kept": (
        Conflict,
        None,
        "the count of unfinished dependencies is kept by the database",
    ),
    "chk_task_history_append_only": (Conflict, None, "task history is append-only"),
    "chk_sprint_membership_events_append_only": (Conflict, None, "sprint membership history is append-only"),
    "chk_task_history_written_by_trigger": (Conflict, None, "task history is written by status changes"),
    "chk_task_dependencies_acyclic": (Conflict, None, "this dependency would close a cycle"),
    "chk_task_dependencies_not_self": (Unprocessable, None, "a task cannot depend on itself"),
    "chk_task_dependencies_not_updated": (Conflict, None, "dependencies are added and removed, not changed"),
    "fk_tasks_feature": (NotFound, "feature", "the feature does not exist in this project"),
    "chk_tasks_evidence_is_object": (Unprocessable, "evidence", "evidence must be a JSON object"),
    "chk_task_links_not_self": (Unprocessable, None, "a task cannot be linked to itself"),
    "chk_projects_lease_seconds": (
        Unprocessable,
        "default_lease_seconds",
        "the default lease must lie between 1 second and the project's max_lease_seconds",
    ),
    "fk_tasks_assignee": (NotFound, "assignee", "no user has this id"),
    "fk_tasks_sprint": (NotFound, "sprint", "no sprint has this id"),
    "uq_users_email_lower": (Conflict, "email", "a user with this email already exists (emails ignore case)"),
    "uq_users_jira_account_id": (Conflict, "jira_account_id", "a user with this Jira account already exists"),
    "uq_sprints_jira_sprint_id": (
        Conflict,
        "jira_sprint_id",
        "a sprint with this Jira sprint id already exists",
    ),
    "chk_sprints_dates_in_order": (Unprocessable, "end_date", "the sprint ends before it starts"),
    "chk_sprints_state_transition": (Conflict, "state", "this sprint state change is not allowed"),
    "chk_sprints_closed_is_final": (
        Conflict,
        None,
        "the sprint is closed: its state, dates and time zone are final",
    ),
    "chk_sprints_instants_fixed": (Conflict, None, "a sprint keeps the instants it started and closed at"),
    "chk_sprints_activated_not_future": (
        Unprocessable,
        "activated_at",
        "a sprint cannot start in the future: activated_at is now or earlier",
    ),
    "chk_sprint_frozen_tasks_append_only": (Conflict, None, "the figures of a closed sprint are final"),
    "chk_sprint_frozen_days_append_only": (Conflict, None, "the burndown of a closed sprint is final"),
    "chk_sprint_frozen_tasks_sprint_closed": (Conflict, None, "only a closed sprint's figures are stored"),
    "chk_sprints_closed_after_start": (
        Unprocessable,
        "completed_at",
        "the sprint cannot close before it started",
    ),
    "chk_sprints_timezone_known": (
        Unprocessable,
        "timezone",
        "not a time zone PostgreSQL knows (IANA names)",
    ),
    "chk_project_workstreams_timezone_known": (
        Unprocessable,
        "timezone",
        "not a time zone PostgreSQL knows (IANA names)",
    ),
    "fk_sprints_close_move_to": (NotFound, "move_open_tasks_to", "no sprint has this id"),
    "chk_sprints_close_move_to_open": (
        Conflict,
        "move_open_tasks_to",
        "open work can move only to another sprint that is not closed",
    ),
    "chk_tasks_sprint_not_closed": (Conflict, "sprint", "a task cannot join a closed sprint"),
    "fk_sprint_analyses_project": (NotFound, "project", "the project does not exist"),
    "fk_sprint_analyses_sprint": (NotFound, None, "no sprint has this id"),
    "fk_team_capacities_sprint": (NotFound, None, "no sprint has this id"),
    "fk_sprint_queue_items_sprint": (NotFound, None, "no sprint has this id"),
    "fk_project_sprint_associations_sprint": (NotFound, None, "no sprint has this id"),
    "fk_reports_project": (NotFound, "project", "the project does not exist"),
    "fk_reports_sprint": (NotFound, "sprint_id", "no sprint has this id"),
    "fk_reports_created_by": (NotFound, "created_by", "no user has this id"),
    "uq_project_workstreams_active_project": (
        Conflict,
        "is_active",
        "the project already has an active workstream",
    ),
    "uq_project_sprint_associations_primary": (
        Conflict,
        "association_type",
        "the sprint already has a primary workstream",
    ),
    "fk_project_sprint_associations_workstream": (NotFound, None, "no workstream has this id"),
    "fk_project_sprint_metrics_association": (
        Conflict,
        "workstream_id",
        "the workstream takes no part in this sprint",
    ),
    "fk_project_sprint_metrics_active_association": (
        Conflict,
        "workstream_id",
        "the workstream takes no active part in this sprint",
    ),
    "fk_team_capacities_user": (NotFound, None, "no user has this id"),
    "fk_sprint_queue_items_user": (NotFound, "user_id", "no user has this id"),
    "uq_sprint_queue_items_sprint_user_position": (
        Conflict,
        "position",
        "that position in the person's queue is taken",
    ),
}


def _rule_in_words(constraint: str) -> str:
    """chk_tasks_priority_range -> 'tasks priority range'."""
    for prefix in ("chk_", "uq_", "fk_"):
        constraint = constraint.removeprefix(prefix)
    return constraint.replace("_", " ")


# What the client is told when a foreign key keeps a row from deletion.
DELETE_CONFLICTS = {
    "fk_sprint_queue_items_sprint": "the sprint still has queue items",
}

# Rules whose own message says best what went wrong: it names the row and the move
# ("sprint 4 cannot move from closed to active") or the tasks, never other row values.
_MESSAGE_SAYS_IT = {
    "chk_tasks_status_transition",
    "chk_tasks_dependents_not_started",
    "chk_sprints_state_transition",
}


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
        if constraint in _MESSAGE_SAYS_IT and exc.diag.message_primary:
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
