"""The second wall: through the API's connection path (service.db.create_pool, whose
every connection takes the role and projects of the running request), a statement
that forgets its project filter still sees and changes only the token's projects."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import AsyncConnection, sql

from service import access, db, queries
from service.config import PoolSettings
from service.queries import tasks
from tests.helpers import TEST_POOL, admin_token, make_token, plan_nodes

# Tables that carry project_id, each with a statement that forgets to filter by it.
FORGETFUL = {
    "projects": "SELECT id FROM projects",
    "epics": "SELECT project_id FROM epics",
    "features": "SELECT project_id FROM features",
    "tasks": "SELECT project_id FROM tasks",
    "task_history": "SELECT project_id FROM task_history",
    "task_dependencies": "SELECT project_id FROM task_dependencies",
    "task_links": "SELECT project_id FROM task_links",
    "sprint_membership_events": "SELECT project_id FROM sprint_membership_events",
    "project_workstreams": "SELECT project_id FROM project_workstreams",
    "reports": "SELECT project_id FROM reports",
    "sprint_analyses": "SELECT project_id FROM sprint_analyses",
    "api_token_projects": "SELECT project_id FROM api_token_projects",
    "tasks_json": "SELECT (task_json(t)->>'project') FROM tasks t",
}


@pytest.fixture
def two_projects(db_url: str) -> Iterator[dict[str, int]]:
    """Projects alpha and beta, each with a row in every table that carries project_id."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        ids: dict[str, int] = {}
        sprint = conn.execute(
            "INSERT INTO sprints (jira_sprint_id, name) VALUES (1, 'S1') RETURNING id"
        ).fetchone()
        assert sprint is not None
        for key in ("alpha", "beta"):
            row = conn.execute(
                "INSERT INTO projects (key, name) VALUES (%s, %s) RETURNING id", (key, key)
            ).fetchone()
            assert row is not None
            pid = ids[key] = row[0]
            epic = conn.execute(
                "INSERT INTO epics (project_id, key, title) VALUES (%s, 'E01', 'e') RETURNING id", (pid,)
            ).fetchone()
            assert epic is not None
            conn.execute(
                "INSERT INTO features (project_id, epic_id, key, title) VALUES (%s, %s, 'E01-F01', 'f')",
                (pid, epic[0]),
            )
            conn.execute(
                "INSERT INTO tasks (project_id, key, title, sprint_id)"
                " VALUES (%s, 'T-1', 'one', %s), (%s, 'T-2', 'two', NULL), (%s, 'T-3', 'three', NULL)",
                (pid, sprint[0], pid, pid),
            )
            conn.execute(
                "INSERT INTO task_dependencies (project_id, task_id, depends_on_id)"
                " SELECT %s, a.id, b.id FROM tasks a, tasks b"
                " WHERE a.project_id = %s AND b.project_id = %s AND a.key = 'T-2' AND b.key = 'T-1'",
                (pid, pid, pid),
            )
            conn.execute(
                "INSERT INTO task_links (project_id, task_id, linked_task_id, kind)"
                " SELECT %s, a.id, b.id, 'related' FROM tasks a, tasks b"
                " WHERE a.project_id = %s AND b.project_id = %s AND a.key = 'T-3' AND b.key = 'T-1'",
                (pid, pid, pid),
            )
            conn.execute(
                "UPDATE tasks SET status = 'in_progress' WHERE project_id = %s AND key = 'T-1'", (pid,)
            )
            workstream = conn.execute(
                "INSERT INTO project_workstreams (project_id, name) VALUES (%s, %s) RETURNING id", (pid, key)
            ).fetchone()
            assert workstream is not None
            conn.execute(
                "INSERT INTO reports (project_id, report_type, title) VALUES (%s, 'summary', 'r')", (pid,)
            )
            conn.execute(
                "INSERT INTO sprint_analyses (project_id, sprint_id, analysis_type) VALUES (%s, %s, 'risk')",
                (pid, sprint[0]),
            )
        yield ids


def _in_scope(
    db_url: str,
    tokens: list[str | None],
    work: Callable[[AsyncConnection[Any]], Awaitable[Any]],
    settings: PoolSettings = TEST_POOL,
) -> list[Any]:
    """`work` on the API's pool, once as each token (None: no request at all), each
    with the principal the token check makes of it, as a route would run it."""

    async def main() -> list[Any]:
        pool = db.create_pool(db_url, settings)
        await pool.open(wait=True)
        results = []
        try:
            for token in tokens:
                principal = None if token is None else (await access.authenticate(pool, token, None))[0]
                reset = access.current.set(principal)
                try:
                    async with pool.connection() as conn:
                        results.append(await work(conn))
                finally:
                    access.current.reset(reset)
        finally:
            await pool.close()
        return results

    return asyncio.run(main())


def _seen(conn_sql: str) -> Callable[[AsyncConnection[Any]], Awaitable[set[Any]]]:
    async def work(conn: AsyncConnection[Any]) -> set[Any]:
        return {row[0] for row in await (await conn.execute(conn_sql)).fetchall()}

    return work


def test_a_query_that_forgets_its_project_filter_sees_only_the_tokens_projects(
    db_url: str, two_projects: dict[str, int]
) -> None:
    alpha, beta = two_projects["alpha"], two_projects["beta"]
    for_alpha = make_token(db_url, "alpha-reader", "read", ["alpha"])
    make_token(db_url, "beta-writer", "write", ["beta"])  # a row of beta in api_token_projects
    admin = admin_token(db_url)
    for table, statement in FORGETFUL.items():
        as_alpha, as_admin, outside = _in_scope(db_url, [for_alpha, admin, None], _seen(statement))
        wanted = {"alpha"} if table == "tasks_json" else {alpha}
        assert as_alpha == wanted, table
        assert as_admin == ({"alpha", "beta"} if table == "tasks_json" else {alpha, beta}), table
        assert outside == set(), table  # no token, no project


def test_a_token_cannot_change_or_create_rows_of_another_project(
    db_url: str, two_projects: dict[str, int]
) -> None:
    beta = two_projects["beta"]
    writer = make_token(db_url, "alpha-writer", "write", ["alpha"])

    async def forgetful_update(conn: AsyncConnection[Any]) -> list[str]:
        rows = await (await conn.execute("UPDATE tasks SET title = 'changed' RETURNING key")).fetchall()
        return sorted(row[0] for row in rows)

    assert _in_scope(db_url, [writer], forgetful_update) == [["T-1", "T-2", "T-3"]]

    async def insert_into_beta(conn: AsyncConnection[Any]) -> None:
        await conn.execute("INSERT INTO tasks (project_id, key, title) VALUES (%s, 'T-9', 'x')", (beta,))

    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        _in_scope(db_url, [writer], insert_into_beta)

    async def delete_everything(conn: AsyncConnection[Any]) -> int:
        return (await conn.execute("DELETE FROM task_links")).rowcount

    assert _in_scope(db_url, [writer], delete_everything) == [1]
    with psycopg.connect(db_url) as conn:
        titles = conn.execute(
            "SELECT p.key, t.title FROM tasks t JOIN projects p ON p.id = t.project_id ORDER BY 1, 2"
        ).fetchall()
        assert {title for key, title in titles if key == "beta"} == {"one", "two", "three"}
        assert {title for key, title in titles if key == "alpha"} == {"changed"}
        assert conn.execute("SELECT count(*) FROM task_links").fetchone() == (1,)


def test_a_pooled_connection_keeps_nothing_of_the_token_that_used_it_before(
    db_url: str, two_projects: dict[str, int]
) -> None:
    """One connection in the pool, used by a token for alpha, then for beta, then by
    no request: each sees only what it may."""
    alpha, beta = two_projects["alpha"], two_projects["beta"]
    for_alpha = make_token(db_url, "alpha-reader", "read", ["alpha"])
    for_beta = make_token(db_url, "beta-reader", "read", ["beta"])
    admin = admin_token(db_url)
    single = PoolSettings(**{**TEST_POOL.__dict__, "min_size": 1, "max_size": 1})

    async def who(conn: AsyncConnection[Any]) -> tuple[int, str, set[int]]:
        row = await (await conn.execute("SELECT pg_backend_pid(), current_user")).fetchone()
        assert row is not None
        return row[0], row[1], await _seen("SELECT project_id FROM tasks")(conn)

    seen = _in_scope(db_url, [for_alpha, for_beta, None, admin, for_alpha, for_beta], who, single)
    assert len({pid for pid, _, _ in seen}) == 1  # the same connection every time
    assert [(user, projects) for _, user, projects in seen] == [
        ("worktrack_api", {alpha}),
        ("worktrack_api", {beta}),
        ("worktrack_api", set()),
        ("worktrack_api_admin", {alpha, beta}),
        ("worktrack_api", {alpha}),
        ("worktrack_api", {beta}),
    ]


def test_a_failed_transaction_does_not_leave_another_tokens_scope_behind(
    db_url: str, two_projects: dict[str, int]
) -> None:
    beta = two_projects["beta"]
    for_alpha = make_token(db_url, "alpha-reader", "read", ["alpha"])
    for_beta = make_token(db_url, "beta-reader", "read", ["beta"])
    single = PoolSettings(**{**TEST_POOL.__dict__, "min_size": 1, "max_size": 1})

    async def fail_in_a_transaction(conn: AsyncConnection[Any]) -> set[int] | None:
        try:
            async with conn.transaction():
                await conn.execute("SELECT 1 / 0")
        except psycopg.errors.DivisionByZero:
            return None
        raise AssertionError("unreachable")

    async def beta_sees(conn: AsyncConnection[Any]) -> set[int]:
        return await _seen("SELECT project_id FROM tasks")(conn)

    async def both(conn: AsyncConnection[Any]) -> set[int] | None:
        token_now = access.current.get()
        assert token_now is not None
        return await (fail_in_a_transaction if token_now.name == "alpha-reader" else beta_sees)(conn)

    assert _in_scope(db_url, [for_alpha, for_beta], both, single) == [None, {beta}]


def _bulk_tasks(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tasks (project_id, key, title)"
            " SELECT p.id, 'B-' || n, 'bulk' FROM projects p, generate_series(1, 3000) n"
        )
        conn.execute("ANALYZE tasks")


def test_policies_check_rows_and_add_nothing_for_an_admin(db_url: str, two_projects: dict[str, int]) -> None:
    _bulk_tasks(db_url)
    for_alpha = make_token(db_url, "alpha-reader", "read", ["alpha"])
    admin = admin_token(db_url)

    async def plan(conn: AsyncConnection[Any]) -> list[str]:
        # The task lookup as the get route makes it: by its project and key.
        rows = await (
            await conn.execute(
                "EXPLAIN (COSTS OFF) SELECT title FROM tasks WHERE project_id = %s AND key = 'B-7'",
                (two_projects["alpha"],),
            )
        ).fetchall()
        return [row[0].strip() for row in rows]

    as_alpha, as_admin = _in_scope(db_url, [for_alpha, admin], plan)
    conditions = [line for line in as_alpha if line.startswith("Index Cond:")]
    # The scan is the admin's, on the same index with the same conditions: PostgreSQL 15
    # would descend the index once per listed project if the policy were one of them.
    assert conditions == [line for line in as_admin if line.startswith("Index Cond:")], as_alpha
    assert "ANY" not in conditions[0], conditions
    # The token's projects check the rows found, worked out once per statement (an
    # initplan), not once per row. (PostgreSQL 15 names its value $0, 16 and later
    # (InitPlan 1).col1.)
    assert any(line.startswith("Filter:") and "ANY" in line for line in as_alpha), as_alpha
    assert any("InitPlan" in line for line in as_alpha), as_alpha
    assert not any("current_setting" in line for line in as_alpha), as_alpha
    assert not any("ANY" in line or "InitPlan" in line or "Filter" in line for line in as_admin), as_admin


def test_the_list_across_projects_reads_only_the_tokens_projects(
    db_url: str, two_projects: dict[str, int]
) -> None:
    """GET /tasks has no project of its own: it names the visible projects, so a token
    on beta does not read (and filter out) every task of alpha first."""
    _bulk_tasks(db_url)
    for_beta = make_token(db_url, "beta-reader", "read", ["beta"])
    filters = tasks.Filters(limit=50)

    async def page_and_plan(conn: AsyncConnection[Any]) -> tuple[Any, list[dict[str, Any]]]:
        page = json.loads(await tasks.page_all(conn, filters=filters))
        explain = sql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) ") + queries.load("tasks")["task_list_all"]
        params = {"after_project_id": 0, **filters.params()}
        row = await (await conn.execute(explain, params, prepare=False)).fetchone()
        assert row is not None
        plan = row[0]
        scans = [
            n
            for n in plan_nodes(plan[0]["Plan"])
            if n.get("Relation Name") == "tasks" and n.get("Alias") == "t"
        ]
        return page, scans

    ((page, scans),) = _in_scope(db_url, [for_beta], page_and_plan)
    assert {item["project"] for item in page["items"]} == {"beta"} and len(page["items"]) == 50
    assert len(scans) == 1, scans
    assert "project_id = ANY" in scans[0]["Index Cond"], scans[0]
    assert scans[0].get("Rows Removed by Filter", 0) == 0, scans[0]
    # The page and the row that says a next page exists (PostgreSQL 15's row numbering
    # reads one more).
    assert scans[0]["Actual Rows"] in (filters.limit + 1, filters.limit + 2), scans[0]
