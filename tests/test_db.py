"""service.db: retries, timeouts and error translation, with errors raised by a real server."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import pytest
from psycopg import AsyncConnection

from service import constraint_messages, db
from service.config import PoolSettings
from service.errors import Conflict, NotFound, ServiceUnavailable
from tests.helpers import TEST_POOL

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


def _raised_and_declared_names(conn: psycopg.Connection[Any]) -> tuple[set[str], set[str]]:
    """Names the database can raise: constraints and unique indexes; and, apart,
    the rules that trigger functions raise under a constraint name."""
    declared = {r[0] for r in conn.execute("SELECT conname FROM pg_constraint")}
    declared |= {
        r[0]
        for r in conn.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indisunique"
        )
    }
    raised = {
        name
        for (source,) in conn.execute(
            "SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'public'"
            " AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql')"
        )
        for name in re.findall(r"CONSTRAINT\s*=\s*'(\w+)'", source)
    }
    return declared, raised


def test_every_mapped_constraint_is_one_the_database_raises_and_every_raised_rule_is_mapped(
    conn: psycopg.Connection[Any],
) -> None:
    declared, raised = _raised_and_declared_names(conn)
    assert set(constraint_messages.CONSTRAINT_ERRORS) - declared - raised == set()
    assert set(constraint_messages.DELETE_CONFLICTS) - declared == set()
    assert raised - set(constraint_messages.CONSTRAINT_ERRORS) == set()
    assert not raised & declared  # a rule a trigger raises is not also a real constraint's name
    sprint_side = {
        "fk_sprint_analyses_sprint",
        "fk_team_capacities_sprint",
        "fk_sprint_queue_items_sprint",
        "fk_project_sprint_associations_sprint",
    }
    assert sprint_side <= set(constraint_messages.CONSTRAINT_ERRORS)


def test_a_foreign_key_refusing_a_delete_is_told_apart_by_the_operation_not_the_message(
    conn: psycopg.Connection[Any],
) -> None:
    (sprint,) = conn.execute(
        "INSERT INTO sprints (jira_sprint_id, name, state) VALUES (1, 'S', 'future') RETURNING id"
    ).fetchone()  # type: ignore[misc]
    (user,) = conn.execute(
        "INSERT INTO users (email, username) VALUES ('a@example.com', 'a') RETURNING id"
    ).fetchone()  # type: ignore[misc]
    with pytest.raises(psycopg.errors.ForeignKeyViolation) as missing:
        conn.execute(
            "INSERT INTO sprint_queue_items (sprint_id, user_id, position) VALUES (%s, %s, 1)",
            (sprint + 1, user),
        )
    assert isinstance(db.translate(missing.value), NotFound)
    conn.execute(
        "INSERT INTO sprint_queue_items (sprint_id, user_id, position) VALUES (%s, %s, 1)", (sprint, user)
    )
    with pytest.raises(psycopg.IntegrityError) as kept:
        conn.execute("DELETE FROM sprints WHERE id = %s", (sprint,))
    # The same SQLSTATE (23503 before PostgreSQL 18) and constraint: the operation decides.
    assert missing.value.diag.constraint_name == kept.value.diag.constraint_name
    refused = db.translate(kept.value, deleting=True)
    assert isinstance(refused, Conflict) and refused.detail == "the sprint still has queue items"
