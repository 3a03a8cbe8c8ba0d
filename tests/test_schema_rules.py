"""The rules the database itself enforces, exercised in plain SQL."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors
from psycopg.types.json import Jsonb

Conn = psycopg.Connection[tuple[object, ...]]


def _project(conn: Conn, key: str) -> int:
    row = conn.execute(
        "INSERT INTO projects (key, name) VALUES (%s, %s) RETURNING id", (key, f"Project {key}")
    ).fetchone()
    assert row is not None
    value = row[0]
    assert isinstance(value, int)
    return value


def _epic(conn: Conn, project_id: int, key: str = "E01") -> int:
    row = conn.execute(
        "INSERT INTO epics (project_id, key, title) VALUES (%s, %s, 'An epic') RETURNING id",
        (project_id, key),
    ).fetchone()
    assert row is not None
    value = row[0]
    assert isinstance(value, int)
    return value


def _feature(conn: Conn, project_id: int, epic_id: int, key: str = "E01-F01") -> int:
    row = conn.execute(
        "INSERT INTO features (project_id, epic_id, key, title) VALUES (%s, %s, %s, 'A feature')"
        " RETURNING id",
        (project_id, epic_id, key),
    ).fetchone()
    assert row is not None
    value = row[0]
    assert isinstance(value, int)
    return value


def _task(conn: Conn, project_id: int, key: str, feature_id: int | None = None, **columns: object) -> int:
    names = ["project_id", "key", "title", "feature_id", *columns]
    values = [project_id, key, f"Task {key}", feature_id, *columns.values()]
    row = conn.execute(
        f"INSERT INTO tasks ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))}) RETURNING id",
        values,
    ).fetchone()
    assert row is not None
    value = row[0]
    assert isinstance(value, int)
    return value


def _status(conn: Conn, task_id: int, status: str) -> None:
    conn.execute("UPDATE tasks SET status = %s WHERE id = %s", (status, task_id))


def _count(conn: Conn, query: str, *params: object) -> int:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    value = row[0]
    assert isinstance(value, int)
    return value


# --- the seed's acceptance scenarios ---------------------------------------------


def test_a_valid_insert_gets_created_at_and_defaults(conn: Conn) -> None:
    project_id = _project(conn, "project-alpha")
    task_id = _task(conn, project_id, "TASK-051")
    row = conn.execute(
        "SELECT created_at IS NOT NULL, updated_at = created_at, status, priority, attempts, inputs"
        " FROM tasks WHERE id = %s",
        (task_id,),
    ).fetchone()
    assert row == (True, True, "pending", 5, 0, [])


def test_an_invalid_status_is_refused_by_the_check_and_nothing_is_inserted(conn: Conn) -> None:
    project_id = _project(conn, "PROJ")
    with pytest.raises(errors.CheckViolation) as caught:
        _task(conn, project_id, "TASK-1", status="invalid_status")
    assert caught.value.diag.constraint_name == "chk_tasks_status"
    assert _count(conn, "SELECT count(*) FROM tasks") == 0


def test_inputs_are_stored_and_found_by_containment(conn: Conn) -> None:
    project_id = _project(conn, "PROJ")
    wanted = _task(conn, project_id, "TASK-1", inputs=Jsonb(["EPIC-006", "PRD-006"]))
    _task(conn, project_id, "TASK-2", inputs=Jsonb(["PRD-007"]))
    rows = conn.execute("SELECT id, inputs FROM tasks WHERE inputs @> %s::jsonb", ('["PRD-006"]',)).fetchall()
    assert rows == [(wanted, ["EPIC-006", "PRD-006"])]


def test_a_query_for_one_project_never_returns_another_projects_rows(conn: Conn) -> None:
    alpha, beta = _project(conn, "alpha"), _project(conn, "beta")
    for n in range(3):
        _task(conn, alpha, f"TASK-{n}")
        _task(conn, beta, f"TASK-{n}")  # the same keys in another project
    keys = conn.execute(
        "SELECT project_id, key FROM tasks WHERE project_id = %s ORDER BY key", (alpha,)
    ).fetchall()
    assert keys == [(alpha, "TASK-0"), (alpha, "TASK-1"), (alpha, "TASK-2")]


def test_project_and_status_filter_uses_idx_tasks_project_status(conn: Conn) -> None:
    statuses = ["pending", "in_progress", "blocked", "in_review", "completed", "cancelled"]
    conn.execute(
        "INSERT INTO projects (key, name) SELECT 'P' || g, 'Project ' || g FROM generate_series(1, 5) g"
    )
    conn.execute(
        """
        INSERT INTO tasks (project_id, key, title, status)
        SELECT p.id, 'T-' || g, 'Task ' || g, (%s::text[])[1 + g %% 6]
          FROM projects p CROSS JOIN generate_series(1, 2000) g
        """,
        (statuses,),
    )
    assert _count(conn, "SELECT count(*) FROM tasks") == 10_000
    conn.execute("ANALYZE tasks")
    project_id = _count(conn, "SELECT id FROM projects WHERE key = 'P3'")
    plan = "\n".join(
        str(r[0])
        for r in conn.execute(
            "EXPLAIN SELECT id, key, status FROM tasks WHERE project_id = %s AND status = %s",
            (project_id, "blocked"),
        )
    )
    assert "idx_tasks_project_status" in plan, plan


# --- integrity ---------------------------------------------------------------------


def test_a_task_cannot_sit_in_another_project_than_its_feature(conn: Conn) -> None:
    alpha, beta = _project(conn, "alpha"), _project(conn, "beta")
    feature_id = _feature(conn, alpha, _epic(conn, alpha))
    with pytest.raises(errors.ForeignKeyViolation) as caught:
        _task(conn, beta, "TASK-1", feature_id=feature_id)
    assert caught.value.diag.constraint_name == "fk_tasks_feature"


def test_a_feature_cannot_sit_in_another_project_than_its_epic(conn: Conn) -> None:
    alpha, beta = _project(conn, "alpha"), _project(conn, "beta")
    epic_id = _epic(conn, alpha)
    with pytest.raises(errors.ForeignKeyViolation) as caught:
        _feature(conn, beta, epic_id)
    assert caught.value.diag.constraint_name == "fk_features_epic"


def test_a_dependency_cannot_cross_projects(conn: Conn) -> None:
    alpha, beta = _project(conn, "alpha"), _project(conn, "beta")
    a, b = _task(conn, alpha, "TASK-1"), _task(conn, beta, "TASK-1")
    with pytest.raises(errors.ForeignKeyViolation):
        conn.execute(
            "INSERT INTO task_dependencies (project_id, task_id, depends_on_id) VALUES (%s, %s, %s)",
            (alpha, a, b),
        )


@pytest.mark.parametrize("key", ["proj", "PROJ"])
def test_project_keys_are_unique_ignoring_case(conn: Conn, key: str) -> None:
    _project(conn, "Proj")
    with pytest.raises(errors.UniqueViolation) as caught:
        _project(conn, key)
    assert caught.value.diag.constraint_name == "uq_projects_key_lower"


@pytest.mark.parametrize(
    ("table", "key", "constraint"),
    [
        ("epics", "EPIC-1", "chk_epics_key_format"),
        ("features", "E01F01", "chk_features_key_format"),
        ("tasks", "task-1", "chk_tasks_key_format"),
        ("tasks", "TASK", "chk_tasks_key_format"),
        ("tasks", "T-" + "1" * 49, "chk_tasks_key_format"),
        ("projects", "1abc", "chk_projects_key_format"),
    ],
)
def test_keys_are_format_checked(conn: Conn, table: str, key: str, constraint: str) -> None:
    project_id = _project(conn, "PROJ")
    epic_id = _epic(conn, project_id)
    with pytest.raises(errors.CheckViolation) as caught:
        if table == "epics":
            _epic(conn, project_id, key)
        elif table == "features":
            _feature(conn, project_id, epic_id, key)
        elif table == "tasks":
            _task(conn, project_id, key)
        else:
            _project(conn, key)
    assert caught.value.diag.constraint_name == constraint


def test_a_dependency_cycle_is_refused(conn: Conn) -> None:
    project_id = _project(conn, "PROJ")
    a, b, c = (_task(conn, project_id, f"TASK-{n}") for n in "ABC")
    edge = "INSERT INTO task_dependencies (project_id, task_id, depends_on_id) VALUES (%s, %s, %s)"
    conn.execute(edge, (project_id, a, b))
    conn.execute(edge, (project_id, b, c))
    with pytest.raises(errors.IntegrityConstraintViolation) as caught:
        conn.execute(edge, (project_id, c, a))
    assert caught.value.diag.constraint_name == "chk_task_dependencies_acyclic"
    with pytest.raises(errors.CheckViolation) as self_edge:
        conn.execute(edge, (project_id, a, a))
    assert self_edge.value.diag.constraint_name == "chk_task_dependencies_not_self"
    assert _count(conn, "SELECT count(*) FROM task_dependencies") == 2


def test_concurrent_edges_cannot_close_a_cycle_together(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as setup:
        project_id = _project(setup, "PROJ")
        a, b = _task(setup, project_id, "TASK-A"), _task(setup, project_id, "TASK-B")
    edge = "INSERT INTO task_dependencies (project_id, task_id, depends_on_id) VALUES (%s, %s, %s)"
    with psycopg.connect(db_url) as first, psycopg.connect(db_url) as second:
        first.execute(edge, (project_id, a, b))  # holds the project's dependency lock
        second.execute("SET lock_timeout = '200ms'")
        with pytest.raises(errors.LockNotAvailable):
            second.execute(edge, (project_id, b, a))  # waits for the first, not past it
        first.commit()
        second.rollback()
        with pytest.raises(errors.IntegrityConstraintViolation):
            second.execute(edge, (project_id, b, a))


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        ("pending", "in_progress", True),
        ("pending", "completed", False),
        ("pending", "in_review", False),
        ("in_progress", "in_review", True),
        ("blocked", "completed", False),
        ("completed", "in_progress", True),
        ("completed", "pending", False),
        ("cancelled", "pending", True),
        ("cancelled", "in_progress", False),
    ],
)
def test_transitions_are_enforced_by_the_database(conn: Conn, start: str, target: str, allowed: bool) -> None:
    project_id = _project(conn, "PROJ")
    task_id = _task(conn, project_id, "TASK-1", status=start)
    if allowed:
        _status(conn, task_id, target)
    else:
        with pytest.raises(errors.IntegrityConstraintViolation) as caught:
            _status(conn, task_id, target)
        assert caught.value.diag.constraint_name == "chk_tasks_status_transition"
    expected = target if allowed else start
    assert _count(conn, "SELECT count(*) FROM tasks WHERE id = %s AND status = %s", task_id, expected) == 1


def test_every_transition_writes_one_history_row_in_the_same_transaction(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        project_id = _project(conn, "PROJ")
        task_id = _task(conn, project_id, "TASK-1")
        conn.commit()
        conn.execute(
            "SELECT set_config('worktrack.actor', 'agent-7', true),"
            " set_config('worktrack.note', 'picked up', true)"
        )
        _status(conn, task_id, "in_progress")
        conn.execute("UPDATE tasks SET title = 'Renamed' WHERE id = %s", (task_id,))  # no status change
        conn.execute("UPDATE tasks SET status = status WHERE id = %s", (task_id,))  # no change either
        conn.rollback()  # the change and its history go together
        assert _count(conn, "SELECT count(*) FROM task_history WHERE task_id = %s", task_id) == 1

        conn.execute(
            "SELECT set_config('worktrack.actor', 'agent-7', true),"
            " set_config('worktrack.note', 'picked up', true)"
        )
        _status(conn, task_id, "in_progress")
        conn.commit()
        _status(conn, task_id, "completed")
        conn.commit()
        rows = conn.execute(
            "SELECT from_status, to_status, actor, note FROM task_history WHERE task_id = %s ORDER BY id",
            (task_id,),
        ).fetchall()
    assert rows[0] == (None, "pending", rows[0][2], None)  # creation, by the database user
    assert rows[1] == ("pending", "in_progress", "agent-7", "picked up")
    assert rows[2][:2] == ("in_progress", "completed")
    assert rows[2][3] is None  # settings were transaction-local
    assert len(rows) == 3


def test_completed_at_is_set_on_completion_and_cleared_on_reopening(conn: Conn) -> None:
    project_id = _project(conn, "PROJ")
    task_id = _task(conn, project_id, "TASK-1")

    def timestamps() -> tuple[object, ...]:
        row = conn.execute(
            "SELECT started_at IS NOT NULL, completed_at IS NOT NULL FROM tasks WHERE id = %s", (task_id,)
        ).fetchone()
        assert row is not None
        return tuple(row)

    assert timestamps() == (False, False)
    _status(conn, task_id, "in_progress")
    assert timestamps() == (True, False)
    _status(conn, task_id, "completed")
    assert timestamps() == (True, True)
    _status(conn, task_id, "in_progress")
    assert timestamps() == (True, False)
    with pytest.raises(errors.CheckViolation) as caught:
        conn.execute("UPDATE tasks SET completed_at = now() WHERE id = %s", (task_id,))
    assert caught.value.diag.constraint_name == "chk_tasks_completed_at_matches_status"


def test_a_task_back_in_pending_has_no_claimant(conn: Conn) -> None:
    project_id = _project(conn, "PROJ")
    task_id = _task(conn, project_id, "TASK-1")
    conn.execute(
        "UPDATE tasks SET status = 'in_progress', claimed_by = 'agent-1', claimed_at = now(),"
        " lease_expires_at = now() + interval '5 minutes' WHERE id = %s",
        (task_id,),
    )
    _status(conn, task_id, "pending")
    row = conn.execute("SELECT claimed_by, claimed_at, lease_expires_at FROM tasks WHERE id = %s", (task_id,))
    assert row.fetchone() == (None, None, None)


def test_dependencies_are_refused_under_repeatable_read(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        project_id = _project(conn, "PROJ")
        a, b = _task(conn, project_id, "TASK-A"), _task(conn, project_id, "TASK-B")
        conn.commit()
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        with pytest.raises(errors.ObjectNotInPrerequisiteState):
            conn.execute(
                "INSERT INTO task_dependencies (project_id, task_id, depends_on_id) VALUES (%s, %s, %s)",
                (project_id, a, b),
            )


def test_leaving_in_progress_drops_the_lease(conn: Conn) -> None:
    project_id = _project(conn, "PROJ")
    task_id = _task(conn, project_id, "TASK-1")
    conn.execute(
        "UPDATE tasks SET status = 'in_progress', claimed_by = 'agent-1', claimed_at = now(),"
        " lease_expires_at = now() + interval '5 minutes' WHERE id = %s",
        (task_id,),
    )
    _status(conn, task_id, "blocked")
    row = conn.execute("SELECT claimed_by, lease_expires_at FROM tasks WHERE id = %s", (task_id,)).fetchone()
    assert row == ("agent-1", None)
    with pytest.raises(errors.CheckViolation) as caught:
        conn.execute("UPDATE tasks SET lease_expires_at = now() WHERE id = %s", (task_id,))
    assert caught.value.diag.constraint_name == "chk_tasks_lease_held_in_progress"


def test_deleting_an_epic_removes_its_features_tasks_history_and_dependencies(conn: Conn) -> None:
    project_id = _project(conn, "PROJ")
    doomed_epic, kept_epic = _epic(conn, project_id, "E01"), _epic(conn, project_id, "E02")
    doomed_feature = _feature(conn, project_id, doomed_epic, "E01-F01")
    kept_feature = _feature(conn, project_id, kept_epic, "E02-F01")
    doomed = [_task(conn, project_id, f"TASK-{n}", doomed_feature) for n in range(3)]
    kept = _task(conn, project_id, "TASK-9", kept_feature)
    edge = "INSERT INTO task_dependencies (project_id, task_id, depends_on_id) VALUES (%s, %s, %s)"
    conn.execute(edge, (project_id, doomed[1], doomed[0]))
    conn.execute(edge, (project_id, kept, doomed[2]))  # the kept task waited on a doomed one
    _status(conn, doomed[0], "in_progress")

    conn.execute("DELETE FROM epics WHERE id = %s", (doomed_epic,))

    assert _count(conn, "SELECT count(*) FROM features") == 1
    assert [r[0] for r in conn.execute("SELECT id FROM tasks")] == [kept]
    assert _count(conn, "SELECT count(*) FROM task_history WHERE task_id <> %s", kept) == 0
    assert _count(conn, "SELECT count(*) FROM task_history WHERE task_id = %s", kept) == 1
    assert _count(conn, "SELECT count(*) FROM task_dependencies") == 0


def test_history_rows_cannot_be_updated_or_deleted(conn: Conn) -> None:
    project_id = _project(conn, "PROJ")
    task_id = _task(conn, project_id, "TASK-1")
    with pytest.raises(errors.IntegrityConstraintViolation) as updated:
        conn.execute("UPDATE task_history SET note = 'rewritten' WHERE task_id = %s", (task_id,))
    assert updated.value.diag.constraint_name == "chk_task_history_append_only"
    with pytest.raises(errors.IntegrityConstraintViolation):
        conn.execute("DELETE FROM task_history WHERE task_id = %s", (task_id,))
    assert _count(conn, "SELECT count(*) FROM task_history WHERE task_id = %s", task_id) == 1
    conn.execute("DELETE FROM tasks WHERE id = %s", (task_id,))  # history goes with its task
    assert _count(conn, "SELECT count(*) FROM task_history") == 0


def test_updated_at_is_maintained_by_the_shared_trigger(conn: Conn) -> None:
    project_id = _project(conn, "PROJ")
    conn.execute("UPDATE projects SET updated_at = '2000-01-01' WHERE id = %s", (project_id,))
    stamped = conn.execute(
        "SELECT updated_at > '2001-01-01' FROM projects WHERE id = %s", (project_id,)
    ).fetchone()
    assert stamped == (True,)


def test_jsonb_columns_are_checked_for_their_shape(conn: Conn) -> None:
    project_id = _project(conn, "PROJ")
    with pytest.raises(errors.CheckViolation) as caught:
        _task(conn, project_id, "TASK-1", inputs=Jsonb({"not": "an array"}))
    assert caught.value.diag.constraint_name == "chk_tasks_inputs_are_artifact_ids"
    with pytest.raises(errors.CheckViolation) as numbers:
        _task(conn, project_id, "TASK-2", inputs=Jsonb(["PRD-1", 7]))
    assert numbers.value.diag.constraint_name == "chk_tasks_inputs_are_artifact_ids"
