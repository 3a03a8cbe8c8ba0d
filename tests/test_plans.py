"""EXPLAIN proves that the service's own named queries use the indexes they were built for."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from service import queries
from service.queries import tasks
from tests.helpers import plan_nodes

STATUSES = ["pending", "in_progress", "blocked", "in_review", "completed", "cancelled"]


@pytest.fixture
def loaded(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    """5 projects of 4,000 tasks with a status mix, history, and some leases; analyzed."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        _load(conn)
        yield conn


def _load(conn: psycopg.Connection[Any]) -> None:
    conn.execute(
        "INSERT INTO projects (key, name) SELECT 'P' || g, 'Project ' || g FROM generate_series(1, 5) g"
    )
    conn.execute(
        """
        INSERT INTO tasks (project_id, key, title, status, priority, claimed_by, lease_expires_at)
        SELECT p.id, 'T-' || g, 'Task ' || g, s.status, 1 + g %% 10,
               CASE WHEN s.status = 'in_progress' THEN 'agent' END,
               CASE WHEN s.status = 'in_progress' THEN now() + interval '1 hour' END
          FROM projects p CROSS JOIN generate_series(1, 4000) g
         CROSS JOIN LATERAL (SELECT (%s::text[])[1 + g %% 6] AS status) s
        """,
        (STATUSES,),
    )
    conn.execute("ANALYZE")


def _with_project_id(conn: psycopg.Connection[Any], params: dict[str, Any]) -> dict[str, Any]:
    """The parameters with the project's id, as service.queries.projects resolves it,
    for a statement about one project."""
    if "project" not in params:
        return params
    row = conn.execute(
        "SELECT id FROM projects WHERE lower(key) = lower(%s)", (params["project"],)
    ).fetchone()
    assert row is not None
    return {**params, "project_id": row[0]}


def _plan(conn: psycopg.Connection[Any], query: sql.Composable, **params: Any) -> str:
    rows = conn.execute(sql.SQL("EXPLAIN ") + query, _with_project_id(conn, params)).fetchall()
    return "\n".join(str(row[0]) for row in rows)


def test_next_and_claim_use_the_ready_queue_index(loaded: psycopg.Connection[Any]) -> None:
    queue = queries.load("queue")
    assert "idx_tasks_ready" in _plan(loaded, queue["task_next"], project="P3")
    claim = _plan(
        loaded,
        queue["task_claim_next"],
        project="P3",
        agent="a",
        lease_seconds=60,
        epic=None,
        feature=None,
        agent_type=None,
    )
    assert "idx_tasks_ready" in claim
    claim_any = _plan(loaded, queue["task_claim_next_any"], project="P3", agent="a", lease_seconds=60)
    assert "idx_tasks_ready" in claim_any


def test_the_hot_statements_are_prepared_with_one_generic_plan(
    loaded: psycopg.Connection[Any], db_url: str
) -> None:
    """PostgreSQL plans a prepared statement anew for each execution until a generic
    plan looks as cheap as the custom ones; planning these statements costs more
    than running them, so each must settle on its generic plan."""
    tasks_q, queue = queries.load("tasks"), queries.load("queue")
    cases: list[tuple[queries.Query, dict[str, Any]]] = [
        (tasks_q["task_get"], {"project": "P1", "key": "T-77"}),
        (queue["task_claim_next_any"], {"project": "P1", "agent": "a", "lease_seconds": 60}),
        (queue["task_reclaim_expired"], {"project": "P1", "limit": 100}),
        (queue["task_next"], {"project": "P1"}),
        (tasks.list_status_statement(50), {"project": "P1", "status": "pending", "after_id": 0}),
    ]
    for query, params in cases:
        with psycopg.connect(db_url, autocommit=True) as conn:
            for _ in range(10):
                conn.execute(query, _with_project_id(conn, params), prepare=True)
            (generic, custom) = conn.execute(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
            ).fetchone()  # type: ignore[misc]
        assert generic >= 5, (query, generic, custom)


def test_claims_within_a_feature_an_epic_or_an_agent_type_use_their_indexes(
    loaded: psycopg.Connection[Any],
) -> None:
    """1,000 features in 100 epics share P3's tasks, and 40 agent types; a claim that
    names one walks that filter's index instead of the whole ready queue."""
    loaded.execute(
        "INSERT INTO epics (project_id, key, title)"
        " SELECT p.id, 'E' || lpad(g::text, 3, '0'), 'Epic' FROM projects p, generate_series(1, 100) g"
        " WHERE p.key = 'P3'"
    )
    loaded.execute(
        "INSERT INTO features (project_id, epic_id, key, title)"
        " SELECT e.project_id, e.id, e.key || '-F' || lpad(g::text, 2, '0'), 'Feature'"
        " FROM epics e, generate_series(1, 10) g"
    )
    loaded.execute(
        """
        UPDATE tasks t
           SET feature_id = (SELECT f.id FROM features f WHERE f.project_id = t.project_id
                              ORDER BY f.id OFFSET t.id % 1000 LIMIT 1),
               agent_type = 'type-' || (t.id % 40)
          FROM projects p WHERE p.id = t.project_id AND p.key = 'P3'
        """
    )
    loaded.execute("ANALYZE")
    claim = queries.load("queue")["task_claim_next"]
    params: dict[str, Any] = {"project": "P3", "agent": "a", "lease_seconds": 60}
    nothing = {"epic": None, "feature": None, "agent_type": None}
    by_feature = _plan(loaded, claim, **params, **{**nothing, "feature": "E002-F03"})
    assert "idx_tasks_ready_feature" in by_feature
    by_epic = _plan(loaded, claim, **params, **{**nothing, "epic": "E002"})
    assert "idx_tasks_ready_feature" in by_epic, by_epic
    by_type = _plan(loaded, claim, **params, **{**nothing, "agent_type": "type-3"})
    assert "idx_tasks_ready_agent_type" in by_type


def test_reclaim_finds_expired_leases_among_the_tasks_in_progress(loaded: psycopg.Connection[Any]) -> None:
    plan = _plan(loaded, queries.load("queue")["task_reclaim_expired"], project="P2", limit=100)
    assert "idx_tasks_project_status" in plan


def _rows_read_from_tasks(node: dict[str, Any]) -> int:
    """Rows that scans of tasks returned, over the whole plan of an EXPLAIN ANALYZE."""
    scans = (n for n in plan_nodes(node) if n.get("Relation Name") == "tasks")
    return sum(n["Actual Rows"] * n["Actual Loops"] for n in scans)


def test_claim_and_next_read_no_task_that_is_not_ready(db_url: str) -> None:
    """20,000 high-priority tasks wait on an unfinished one: next and claim still
    read only the ready task they return (before, they read every waiting task),
    and so does a claim within their agent type."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO projects (key, name) VALUES ('P', 'P')")
        conn.execute(
            "INSERT INTO tasks (project_id, key, title, priority, agent_type)"
            " SELECT id, 'T-' || g, 'waits', CASE WHEN g = 0 THEN 1 ELSE 10 END, 'coder'"
            " FROM projects CROSS JOIN generate_series(0, 20000) g"
        )
        conn.execute(
            "INSERT INTO tasks (project_id, key, title, priority)"
            " SELECT id, 'READY-1', 'ready', 1 FROM projects"
        )
        conn.execute(
            "INSERT INTO task_dependencies (project_id, task_id, depends_on_id)"
            " SELECT t.project_id, t.id, blocker.id FROM tasks t"
            " JOIN tasks blocker ON blocker.project_id = t.project_id AND blocker.key = 'T-0'"
            " WHERE t.key LIKE 'T-%%' AND t.key <> 'T-0'"
        )
        conn.execute("ANALYZE tasks")
        queue = queries.load("queue")
        cases: list[tuple[str, dict[str, Any]]] = [
            ("task_next", {"project": "P"}),
            (
                "task_claim_next",
                {
                    "project": "P",
                    "agent": "a",
                    "lease_seconds": 60,
                    "epic": None,
                    "feature": None,
                    "agent_type": None,
                },
            ),
            ("task_claim_next_any", {"project": "P", "agent": "a", "lease_seconds": 60}),
            (
                "task_claim_next",
                {
                    "project": "P",
                    "agent": "a",
                    "lease_seconds": 60,
                    "epic": None,
                    "feature": None,
                    "agent_type": "coder",
                },
            ),
        ]
        for name, params in cases:
            with conn.transaction(force_rollback=True):
                (plan,) = conn.execute(
                    sql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) ") + queue[name], _with_project_id(conn, params)
                ).fetchone()  # type: ignore[misc]
            # T-0 (priority 1, older) or READY-1: whichever, one row, and the
            # document's look-ups of the project's own rows.
            assert _rows_read_from_tasks(plan[0]["Plan"]) <= 3, (name, plan)


def test_a_tasks_history_and_the_project_feed_use_their_indexes(loaded: psycopg.Connection[Any]) -> None:
    history = queries.load("history")
    task_plan = _plan(loaded, history["task_history"], project="P1", key="T-77")
    assert "idx_task_history_project_task" in task_plan
    feed = _plan(
        loaded,
        history["project_history"],
        project="P1",
        since=None,
        before_changed_at=None,
        before_id=None,
        limit=50,
    )
    assert "idx_task_history_project_changed_at" in feed
    with loaded.transaction(force_rollback=True):
        (snapshot,) = loaded.execute("SELECT '1:1:'::pg_snapshot::text").fetchone()  # type: ignore[misc]
        poll = _plan(
            loaded,
            history["project_history_poll"],
            project="P1",
            lower=snapshot,
            upper=None,
            after_xid="0",
            after_id=0,
            limit=50,
        )
    assert "idx_task_history_project_transaction" in poll


def test_get_by_key_uses_the_unique_key_indexes(loaded: psycopg.Connection[Any]) -> None:
    plan = _plan(loaded, queries.load("tasks")["task_get"], project="P4", key="T-1234")
    assert "uq_tasks_project_id_key" in plan
    # The project is looked up by the id resolved in the process (5 projects: a scan is cheaper).
    assert "projects_pkey" in plan or "Seq Scan on projects" in plan


def test_input_artifact_filter_uses_the_gin_index(loaded: psycopg.Connection[Any]) -> None:
    loaded.execute("UPDATE tasks SET inputs = jsonb_build_array('PRD-' || (id % 2000))")
    loaded.execute("ANALYZE tasks")
    plan = _plan(loaded, sql.SQL("SELECT id FROM tasks WHERE inputs @> %(input)s::jsonb"), input='["PRD-7"]')
    assert "idx_tasks_inputs" in plan


@pytest.fixture
def sprint_data(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    """5,000 sprints (a few active) with two analyses each, and 2,000 users; analyzed."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO sprints (jira_sprint_id, name, state, start_date, end_date)
            SELECT g, 'Sprint ' || g, CASE WHEN g % 500 = 0 THEN 'active' ELSE 'closed' END,
                   date '2020-01-01' + g, date '2020-01-14' + g
              FROM generate_series(1, 5000) g
            """
        )
        conn.execute(
            """
            INSERT INTO sprint_analyses (sprint_id, analysis_type, discipline_breakdown)
            SELECT s.id, kind, jsonb_build_object('team_count', s.id % 40, 'd' || (s.id % 300), 1)
              FROM sprints s CROSS JOIN (VALUES ('velocity'), ('quality')) AS k (kind)
            """
        )
        conn.execute(
            "INSERT INTO users (email, username, settings) SELECT 'u' || g || '@x.org', 'u' || g,"
            " jsonb_build_object('theme', 'theme-' || (g % 200)) FROM generate_series(1, 2000) g"
        )
        conn.execute("ANALYZE")
        yield conn


def test_active_sprints_use_the_partial_index(sprint_data: psycopg.Connection[Any]) -> None:
    plan = _plan(sprint_data, sql.SQL("SELECT id FROM sprints WHERE state = 'active' ORDER BY start_date"))
    assert "idx_sprints_active" in plan


def test_discipline_breakdown_search_uses_the_gin_index(sprint_data: psycopg.Connection[Any]) -> None:
    plan = _plan(
        sprint_data,
        sql.SQL("SELECT id FROM sprint_analyses WHERE discipline_breakdown @> %(d)s::jsonb"),
        d='{"d7": 1}',
    )
    assert "idx_sprint_analyses_discipline_breakdown" in plan


def test_team_count_uses_the_expression_index(sprint_data: psycopg.Connection[Any]) -> None:
    plan = _plan(
        sprint_data,
        sql.SQL("SELECT id FROM sprint_analyses WHERE (discipline_breakdown ->> 'team_count')::int = %(n)s"),
        n=39,
    )
    assert "idx_sprint_analyses_team_count" in plan


def test_user_settings_search_uses_the_gin_index(sprint_data: psycopg.Connection[Any]) -> None:
    plan = _plan(
        sprint_data, sql.SQL("SELECT id FROM users WHERE settings @> %(s)s::jsonb"), s='{"theme": "theme-3"}'
    )
    assert "idx_users_settings" in plan
