"""Promises the schema keeps under a DBA's hands and under concurrency: history that
cannot be erased or forged, dependency guards under every isolation level, tasks in
progress that always have an owner, claims that never hand out an unready task, and
an activity feed that misses nothing."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql
from starlette.testclient import TestClient

from service import migrations, queries
from service.app import create_app
from tests.helpers import CLIENT_TOKEN, TEST_POOL, admin_token

Conn = psycopg.Connection[tuple[Any, ...]]
QUEUE = queries.load("queue")
# The claim with no epic, feature or agent type to keep within.
NO_FILTER = {"epic": None, "feature": None, "agent_type": None}
# The two claim statements (the prepared one, and the one with optional filters) keep
# the same rules: the race tests run each.
CLAIMS = {"task_claim_next_any": {}, "task_claim_next": NO_FILTER}
EDGE = "INSERT INTO task_dependencies (project_id, task_id, depends_on_id) VALUES (%s, %s, %s)"


def _one(conn: Conn, query: str, *params: object) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def _project(conn: Conn, key: str = "P", **columns: object) -> int:
    names = ["key", "name", *columns]
    values = [key, key, *columns.values()]
    placeholders = ", ".join(["%s"] * len(names))
    return int(
        _one(conn, f"INSERT INTO projects ({', '.join(names)}) VALUES ({placeholders}) RETURNING id", *values)
    )


def _task(conn: Conn, project_id: int, key: str, status: str = "pending", priority: int = 5) -> int:
    return int(
        _one(
            conn,
            "INSERT INTO tasks (project_id, key, title, status, priority) VALUES (%s, %s, %s, %s, %s)"
            " RETURNING id",
            project_id,
            key,
            key,
            status,
            priority,
        )
    )


def _claim(
    conn: Conn, agent: str = "agent-1", project: str = "P", statement: str = "task_claim_next_any"
) -> str | None:
    project_id = _one(conn, "SELECT id FROM projects WHERE key = %s", project)
    row = conn.execute(
        QUEUE[statement],
        {
            "project": project,
            "project_id": project_id,
            "agent": agent,
            "lease_seconds": 60,
            **CLAIMS[statement],
        },
    )
    found = row.fetchone()
    assert found is not None and found[0] == project  # (project, document or NULL)
    return None if found[1] is None else str(found[1])


def _api(client: TestClient) -> None:
    assert client.post("/projects", json={"key": "P", "name": "P"}).status_code == 201


# --- task history cannot be erased or forged -------------------------------------


def test_a_task_cannot_move_to_another_project_taking_its_history_away(conn: Conn) -> None:
    alpha, beta = _project(conn, "alpha"), _project(conn, "beta")
    task_id = _task(conn, alpha, "T-1")
    conn.execute("UPDATE tasks SET status = 'in_progress' WHERE id = %s", (task_id,))
    with pytest.raises(errors.IntegrityConstraintViolation) as caught:
        conn.execute(
            "WITH moved AS (UPDATE tasks SET project_id = %s WHERE id = %s RETURNING project_id, id)"
            " DELETE FROM task_history h USING moved"
            " WHERE h.task_id = moved.id AND h.project_id = %s",
            (beta, task_id, alpha),
        )
    assert caught.value.diag.constraint_name == "chk_tasks_identity_unchanged"
    with pytest.raises(errors.IntegrityConstraintViolation):
        conn.execute("UPDATE tasks SET id = DEFAULT WHERE id = %s", (task_id,))
    assert _one(conn, "SELECT count(*) FROM task_history WHERE project_id = %s", alpha) == 2


@pytest.mark.parametrize(
    "statement", ["TRUNCATE task_history", "TRUNCATE tasks CASCADE", "TRUNCATE projects CASCADE"]
)
def test_truncate_cannot_erase_history(conn: Conn, statement: str) -> None:
    _task(conn, _project(conn), "T-1")
    with pytest.raises(errors.IntegrityConstraintViolation) as caught:
        conn.execute(statement)
    assert caught.value.diag.constraint_name == "chk_task_history_append_only"
    assert _one(conn, "SELECT count(*) FROM task_history") == 1


def test_history_is_written_by_status_changes_with_the_databases_time(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        project_id = _project(conn)
        task_id = _task(conn, project_id, "T-1")
        conn.commit()
        forged = (
            "INSERT INTO task_history (project_id, task_id, to_status, actor, changed_at)"
            " VALUES (%s, %s, 'completed', 'boss', '2001-01-01')"
        )
        with pytest.raises(errors.IntegrityConstraintViolation) as caught:
            conn.execute(forged, (project_id, task_id))
        assert caught.value.diag.constraint_name == "chk_task_history_written_by_trigger"
        conn.rollback()
        conn.execute("UPDATE tasks SET status = 'blocked' WHERE id = %s", (task_id,))
        rows = conn.execute(
            "SELECT changed_at = now(), transaction_id = pg_current_xact_id() FROM task_history ORDER BY id"
        ).fetchall()
        assert rows == [(False, False), (True, True)]  # creation committed before
        conn.commit()
        # An import of past history says so, keeps its times, and is still stamped
        # with the transaction that wrote it.
        conn.execute("SELECT set_config('worktrack.history_import', 'on', true)")
        conn.execute(forged, (project_id, task_id))
        assert conn.execute(
            "SELECT changed_at::date::text, transaction_id = pg_current_xact_id() FROM task_history"
            " WHERE actor = 'boss'"
        ).fetchone() == ("2001-01-01", True)


@pytest.fixture
def api_login(db_url: str, pg_server: str) -> Iterator[str]:
    """A login role that is only a member of the API roles (worktrack_api_admin, itself a
    member of worktrack_api: docs/database-roles.md), on this test's database."""
    name = f"wt_api_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN IN ROLE worktrack_api_admin").format(sql.Identifier(name))
        )
    try:
        yield psycopg.conninfo.make_conninfo(db_url, user=name)
    finally:
        with psycopg.connect(pg_server, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_the_api_role_can_do_what_the_api_does_and_nothing_more(api_login: str, db_url: str) -> None:
    app = create_app(api_login, TEST_POOL)
    admin = {"Authorization": f"Bearer {admin_token(db_url)}"}  # checked by the API role
    with TestClient(app, base_url="http://localhost", raise_server_exceptions=False, headers=admin) as client:
        assert client.get("/readyz").status_code == 200
        _api(client)
        assert client.post("/projects/P/epics", json={"key": "E01", "title": "E"}).status_code == 201
        assert client.post("/projects/P/tasks", json={"key": "T-1", "title": "t"}).status_code == 201
        assert client.post("/projects/P/tasks", json={"key": "T-2", "title": "t"}).status_code == 201
        assert client.put("/projects/P/tasks/T-2/dependencies/T-1").status_code == 201
        claimed = client.post("/tasks/claim", json={"project": "P", "agent": "a"})
        assert claimed.json()["key"] == "T-1"
        done = client.post("/projects/P/tasks/T-1/status", json={"status": "completed", "agent": "a"})
        assert done.status_code == 200, done.text
        assert len(client.get("/projects/P/history").json()["items"]) == 4
        assert client.delete("/projects/P/tasks/T-2").status_code == 204
        assert client.post("/users", json={"email": "a@example.com", "username": "a"}).status_code == 201
        assert client.delete("/projects/P").status_code == 204
    with psycopg.connect(api_login, autocommit=True) as conn:
        for statement in [
            "TRUNCATE task_history",
            "DELETE FROM task_history",
            "UPDATE task_history SET actor = 'x'",
            "INSERT INTO task_history (project_id, task_id, to_status, actor) VALUES (1, 1, 'pending', 'x')",
            "ALTER TABLE tasks DISABLE TRIGGER USER",
            "DROP TABLE tasks CASCADE",
            "CREATE TABLE mine (id int)",
            "UPDATE task_status_transitions SET to_status = 'completed'",
        ]:
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(statement)


# --- the cycle guard under every isolation level ----------------------------------


@pytest.mark.parametrize("level", ["REPEATABLE READ", "SERIALIZABLE"])
def test_no_isolation_level_can_close_a_cycle(db_url: str, level: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as setup:
        project_id = _project(setup)
        a, b = _task(setup, project_id, "T-A"), _task(setup, project_id, "T-B")
    with psycopg.connect(db_url) as late, psycopg.connect(db_url, autocommit=True) as other:
        late.execute(sql.SQL("SET TRANSACTION ISOLATION LEVEL {}").format(sql.SQL(level)))
        late.execute("SELECT count(*) FROM task_dependencies")  # the snapshot is taken now
        other.execute(EDGE, (project_id, b, a))  # B -> A commits after that snapshot
        with pytest.raises(errors.ObjectNotInPrerequisiteState) as caught:
            late.execute(EDGE, (project_id, a, b))
        assert "READ COMMITTED" in str(caught.value)
        late.rollback()
        assert _one(other, "SELECT count(*) FROM task_dependencies") == 1


# --- a task in progress always has an owner -----------------------------------------


def test_the_claiming_agent_keeps_its_task_through_block_and_review(client: TestClient) -> None:
    _api(client)
    client.post("/projects/P/tasks", json={"key": "T-1", "title": "t"})
    assert client.post("/tasks/claim", json={"project": "P", "agent": "a"}).status_code == 200
    for status in ["blocked", "in_progress", "in_review", "in_progress"]:
        moved = client.post("/projects/P/tasks/T-1/status", json={"status": status, "agent": "a"})
        assert moved.status_code == 200, moved.text
        assert moved.json()["claimed_by"] == "a"
        assert (moved.json()["lease_expires_at"] is not None) == (status == "in_progress")
        beat = client.post("/projects/P/tasks/T-1/heartbeat", json={"agent": "a"})
        assert beat.status_code == (200 if status == "in_progress" else 409), beat.text
    done = client.post("/projects/P/tasks/T-1/status", json={"status": "completed", "agent": "a"})
    assert done.status_code == 200, done.text
    reopened = client.post("/projects/P/tasks/T-1/status", json={"status": "in_progress"})
    assert reopened.json()["claimed_by"] == "a"
    assert client.post("/projects/P/tasks/T-1/heartbeat", json={"agent": "a"}).status_code == 200


def test_a_task_put_in_progress_without_a_claim_is_owned_and_found_by_reclaim(
    client: TestClient, db_url: str
) -> None:
    _api(client)
    created = client.post("/projects/P/tasks", json={"key": "T-1", "title": "t", "status": "in_progress"})
    assert (created.json()["claimed_by"], created.json()["lease_expires_at"] is not None) == (
        CLIENT_TOKEN,
        True,
    )
    client.post("/projects/P/tasks", json={"key": "T-2", "title": "t"})
    moved = client.post("/projects/P/tasks/T-2/status", json={"status": "in_progress", "actor": "dana"})
    assert moved.json()["claimed_by"] == "dana"
    assert client.post("/projects/P/tasks/T-2/heartbeat", json={"agent": "dana"}).status_code == 200
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE tasks SET lease_expires_at = now() - interval '1 second'")
        with pytest.raises(errors.CheckViolation) as caught:
            conn.execute("UPDATE tasks SET lease_expires_at = NULL WHERE key = 'T-1'")
        assert caught.value.diag.constraint_name == "chk_tasks_in_progress_is_leased"
    claimed = client.post("/tasks/claim", json={"project": "P", "agent": "b"})  # reclaims both first
    assert claimed.json()["key"] == "T-1"
    assert client.get("/projects/P/tasks/T-2").json()["status"] == "pending"


# --- a claim never hands out a task whose dependency is unfinished ------------------


def _blocker_and_dependent(conn: Conn) -> tuple[int, int]:
    project_id = _project(conn)
    a, b = _task(conn, project_id, "T-A", priority=1), _task(conn, project_id, "T-B", priority=9)
    conn.execute(EDGE, (project_id, b, a))
    conn.execute("UPDATE tasks SET status = 'in_progress' WHERE id = %s", (a,))
    conn.execute("UPDATE tasks SET status = 'completed' WHERE id = %s", (a,))
    return a, b


@pytest.mark.parametrize("statement", CLAIMS)
def test_a_claim_skips_a_task_whose_dependency_is_being_reopened(db_url: str, statement: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as claimer, psycopg.connect(db_url) as reopener:
        a, _ = _blocker_and_dependent(claimer)
        reopener.execute("UPDATE tasks SET status = 'in_progress' WHERE id = %s", (a,))  # not committed
        assert (
            _claim(claimer, statement=statement) is None
        )  # before: T-B, whose dependency is in progress again
        reopener.commit()
        assert _claim(claimer, statement=statement) is None
        assert _one(claimer, "SELECT unfinished_dependencies FROM tasks WHERE key = 'T-B'") == 1


def test_reopening_a_task_whose_dependent_started_is_refused_naming_it(client: TestClient) -> None:
    _api(client)
    for key in ["T-A", "T-B"]:
        client.post("/projects/P/tasks", json={"key": key, "title": "t"})
    client.put("/projects/P/tasks/T-B/dependencies/T-A")
    client.post("/projects/P/tasks/T-A/status", json={"status": "in_progress"})
    client.post("/projects/P/tasks/T-A/status", json={"status": "completed"})
    assert client.post("/tasks/claim", json={"project": "P", "agent": "a"}).json()["key"] == "T-B"
    refused = client.post("/projects/P/tasks/T-A/status", json={"status": "in_progress"})
    assert refused.status_code == 409
    assert "T-B (in_progress)" in refused.json()["detail"]
    assert client.get("/projects/P/tasks/T-A").json()["status"] == "completed"


@pytest.mark.parametrize("statement", CLAIMS)
def test_a_reopen_waits_for_a_claim_in_flight_and_is_then_refused(db_url: str, statement: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as setup:
        a, _ = _blocker_and_dependent(setup)
    outcome: list[BaseException | None] = []
    with psycopg.connect(db_url) as claimer:
        assert _claim(claimer, statement=statement) is not None  # T-B, not committed yet

        def reopen() -> None:
            with psycopg.connect(db_url, autocommit=True) as reopener:
                try:
                    reopener.execute("UPDATE tasks SET status = 'in_progress' WHERE id = %s", (a,))
                    outcome.append(None)
                except psycopg.Error as exc:
                    outcome.append(exc)

        thread = threading.Thread(target=reopen)
        thread.start()
        deadline = time.monotonic() + 10
        with psycopg.connect(db_url, autocommit=True) as watcher:
            waiting = (
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            while not _one(watcher, waiting):
                assert time.monotonic() < deadline, "the reopen never waited for the claim"
                time.sleep(0.05)
        claimer.commit()
        thread.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], errors.IntegrityConstraintViolation), outcome
    assert outcome[0].diag.constraint_name == "chk_tasks_dependents_not_started"


def test_a_cancelled_dependency_is_satisfied_and_the_document_says_what_a_task_waits_on(
    client: TestClient,
) -> None:
    _api(client)
    for key in ["T-A", "T-B"]:
        client.post(
            "/projects/P/tasks", json={"key": key, "title": "t", "priority": 9 if key == "T-B" else 1}
        )
    client.put("/projects/P/tasks/T-B/dependencies/T-A")
    waiting = client.get("/projects/P/tasks/T-B").json()
    assert (waiting["depends_on"], waiting["waiting_on"]) == (["T-A"], ["T-A"])
    client.post("/projects/P/tasks/T-A/status", json={"status": "cancelled"})
    ready = client.get("/projects/P/tasks/T-B").json()
    assert (ready["depends_on"], ready["waiting_on"]) == (["T-A"], [])
    assert client.post("/tasks/claim", json={"project": "P", "agent": "a"}).json()["key"] == "T-B"


def test_counts_follow_edges_added_and_removed_and_blockers_deleted(conn: Conn) -> None:
    project_id = _project(conn)
    a, b, c = (_task(conn, project_id, f"T-{n}") for n in "ABC")
    conn.execute(EDGE, (project_id, c, a))
    conn.execute(EDGE, (project_id, c, b))
    counted = "SELECT unfinished_dependencies FROM tasks WHERE id = %s"
    assert _one(conn, counted, c) == 2
    conn.execute("UPDATE tasks SET status = 'cancelled' WHERE id = %s", (a,))
    assert _one(conn, counted, c) == 1
    conn.execute("DELETE FROM tasks WHERE id = %s", (b,))
    assert _one(conn, counted, c) == 0
    conn.execute("UPDATE tasks SET status = 'pending' WHERE id = %s", (a,))  # restored
    assert _one(conn, counted, c) == 1
    conn.execute("DELETE FROM task_dependencies")
    assert _one(conn, counted, c) == 0
    with pytest.raises(errors.IntegrityConstraintViolation):
        conn.execute("UPDATE tasks SET unfinished_dependencies = 5 WHERE id = %s", (c,))


# --- the lease costs little, and attempts are limited -------------------------------


def test_a_heartbeat_is_a_hot_update(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        project_id = _project(conn)
        _task(conn, project_id, "T-1")
        conn.commit()
        assert _claim(conn) is not None
        conn.commit()
        counters = "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'tasks'"
        before = conn.execute(counters).fetchone()
        project_id = _one(conn, "SELECT id FROM projects WHERE key = 'P'")
        for _ in range(3):
            conn.execute(
                QUEUE["task_heartbeat"],
                {
                    "project": "P",
                    "project_id": project_id,
                    "key": "T-1",
                    "agent": "agent-1",
                    "lease_seconds": 60,
                },
            )
        after = conn.execute(counters).fetchone()
        assert before is not None and after is not None
        assert (after[0] - before[0], after[1] - before[1]) == (3, 3)  # updates, of which HOT


def test_after_max_attempts_an_expiring_task_is_blocked_with_the_reason(
    client: TestClient, db_url: str
) -> None:
    assert (
        client.post("/projects", json={"key": "P", "name": "P", "max_attempts": 2}).json()["max_attempts"]
        == 2
    )
    client.post("/projects/P/tasks", json={"key": "T-1", "title": "t"})
    with psycopg.connect(db_url, autocommit=True) as conn:
        for attempt in (1, 2):
            claimed = client.post("/tasks/claim", json={"project": "P", "agent": f"a{attempt}"})
            assert claimed.json()["attempts"] == attempt
            conn.execute("UPDATE tasks SET lease_expires_at = now() - interval '1 second'")
    assert client.post("/tasks/claim", json={"project": "P", "agent": "a3"}).status_code == 204
    task = client.get("/projects/P/tasks/T-1").json()
    assert (task["status"], task["blocked_reason"], task["claimed_by"]) == (
        "blocked",
        "lease expired after 2 of 2 attempts",
        None,
    )
    last = client.get("/projects/P/tasks/T-1/history").json()["items"][-1]
    assert (last["from_status"], last["to_status"], last["actor"]) == (
        "in_progress",
        "blocked",
        "lease-expiry",
    )


# --- the activity feed misses nothing -----------------------------------------------


def _changes(answer: dict[str, Any]) -> list[tuple[str, str]]:
    return [(item["task"], item["to_status"]) for item in answer["items"]]


def test_polling_sees_every_committed_change_once_however_transactions_interleave(
    client: TestClient, db_url: str
) -> None:
    _api(client)
    for key in ["T-1", "T-2", "T-3"]:
        client.post("/projects/P/tasks", json={"key": key, "title": "t"})
    first = client.get("/projects/P/history").json()
    assert len(first["items"]) == 3 and first["poll"]
    with psycopg.connect(db_url) as slow:
        # Starts before the next poll and commits after it: `since` misses it.
        slow.execute("UPDATE tasks SET status = 'blocked' WHERE key = 'T-1'")
        client.post("/projects/P/tasks/T-2/status", json={"status": "blocked"})
        client.post("/projects/P/tasks/T-3/status", json={"status": "blocked"})
        second = client.get("/projects/P/history", params={"poll": first["poll"], "limit": 1}).json()
        assert _changes(second) == [("T-2", "blocked")]
        third = client.get("/projects/P/history", params={"poll": second["poll"], "limit": 1}).json()
        assert _changes(third) == [("T-3", "blocked")]
        fourth = client.get("/projects/P/history", params={"poll": third["poll"]}).json()
        assert _changes(fourth) == []
        slow.commit()
    fifth = client.get("/projects/P/history", params={"poll": fourth["poll"]}).json()
    assert _changes(fifth) == [("T-1", "blocked")]
    assert _changes(client.get("/projects/P/history", params={"poll": fifth["poll"]}).json()) == []


@pytest.mark.parametrize(
    "params",
    [{"poll": "bm9wZQ"}, {"poll": "x"}, {"poll": "MTo5OnwtfDB8MA", "since": "2026-01-01T00:00:00Z"}],
)
def test_a_bad_poll_token_is_422(client: TestClient, params: dict[str, str]) -> None:
    _api(client)
    response = client.get("/projects/P/history", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "query.poll"


def test_a_failed_concurrent_build_in_the_form_of_0021_leaves_no_invalid_index(
    empty_db_url: str, tmp_path: Path
) -> None:
    """yoyo pairs the first SET with the rollback's DROP: when the build fails, the
    DROP of the step already done removes the INVALID leftover, so a plain re-run
    builds the index."""
    source = tmp_path / "migrations"
    source.mkdir()
    (source / "0001_table.sql").write_text(
        "SET lock_timeout = '5s';\nCREATE TABLE t (v int);\nINSERT INTO t VALUES (1), (1);\n"
    )
    (source / "0001_table.rollback.sql").write_text("DROP TABLE t;\n")
    (source / "0002_index.sql").write_text(
        "-- depends: 0001_table\n-- transactional: false\n"
        "SET lock_timeout = 0;\nSET statement_timeout = 0;\n"
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_t_v ON t (v);\n"
    )
    (source / "0002_index.rollback.sql").write_text(
        "SET lock_timeout = 0;\nSET statement_timeout = 0;\nDROP INDEX CONCURRENTLY IF EXISTS idx_t_v;\n"
    )
    with pytest.raises(migrations.MigrationFailed, match="0002_index"):
        migrations.apply(empty_db_url, source=source)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_t_v'").fetchone() == (0,)
        conn.execute("DELETE FROM t WHERE ctid = (SELECT max(ctid) FROM t)")
    assert migrations.apply(empty_db_url, source=source) == ["0002_index"]


# --- functions that run as their owner --------------------------------------------


def test_a_temporary_table_cannot_take_the_place_of_the_history_the_owner_writes(
    api_login: str, db_url: str
) -> None:
    """The history trigger runs as its owner; a temporary table of the API's role named
    like the history must not receive its rows (pg_temp first would find it)."""
    with psycopg.connect(db_url, autocommit=True) as owner:
        _task(owner, _project(owner), "T-1")
    with psycopg.connect(api_login) as conn:
        conn.execute("CREATE TEMPORARY TABLE task_history (LIKE public.task_history)")
        conn.execute(
            "UPDATE tasks SET status = 'in_progress', claimed_by = 'x', claimed_at = now(),"
            " lease_expires_at = now() + interval '5 minutes' WHERE key = 'T-1'"
        )
        assert _one(conn, "SELECT count(*) FROM pg_temp.task_history") == 0
        assert _one(conn, "SELECT count(*) FROM public.task_history WHERE to_status = 'in_progress'") == 1
        conn.commit()


def test_every_function_that_runs_as_its_owner_searches_pg_temp_last(conn: Conn) -> None:
    rows = conn.execute(
        "SELECT p.oid::regprocedure::text, p.proconfig FROM pg_proc p"
        " WHERE p.prosecdef AND p.pronamespace = 'public'::regnamespace ORDER BY 1"
    ).fetchall()
    assert len(rows) >= 5, rows
    unsafe = [
        name
        for name, config in rows
        if not any(
            c.startswith("search_path=") and c.replace(" ", "").endswith(",pg_temp") for c in config or []
        )
    ]
    assert unsafe == []


def test_no_login_but_the_owner_and_an_admin_tokens_role_may_freeze_a_sprint(
    pg_server: str, db_url: str
) -> None:
    name = f"wt_other_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
    try:
        other = psycopg.conninfo.make_conninfo(db_url, user=name)
        with psycopg.connect(other) as conn, pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SELECT sprint_freeze(1)")
        with psycopg.connect(db_url) as conn:
            (may,) = conn.execute(
                "SELECT has_function_privilege('worktrack_api_admin', 'sprint_freeze(bigint)', 'EXECUTE')"
            ).fetchone() or (False,)
            assert may
    finally:
        with psycopg.connect(pg_server, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))
