"""Where separately built rules meet: the status change under If-Match (one
REPEATABLE READ snapshot) beside the dependency triggers."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from typing import Any

import psycopg
import pytest
from psycopg import sql
from starlette.testclient import TestClient

from service import migrations, queries
from service.app import create_app
from tests.helpers import TEST_POOL, admin_token

Conn = psycopg.Connection[tuple[Any, ...]]


def _blocker_and_dependent(client: TestClient) -> None:
    client.post("/projects", json={"key": "alpha", "name": "Alpha"})
    client.post("/projects/alpha/tasks", json={"key": "T-1", "title": "blocker"})
    client.post("/projects/alpha/tasks", json={"key": "T-2", "title": "dependent"})
    assert client.put("/projects/alpha/tasks/T-2/dependencies/T-1").status_code == 201


def test_completing_a_blocker_with_if_match_unblocks_its_dependent(client: TestClient) -> None:
    _blocker_and_dependent(client)
    assert client.post("/tasks/claim", json={"project": "alpha", "agent": "a"}).json()["key"] == "T-1"
    tag = client.get("/projects/alpha/tasks/T-1").headers["etag"]
    done = client.post(
        "/projects/alpha/tasks/T-1/status",
        json={"status": "completed", "agent": "a", "evidence": {"tests": "green"}},
        headers={"If-Match": tag},
    )
    assert done.status_code == 200, done.text
    assert client.get("/projects/alpha/tasks/T-2").json()["waiting_on"] == []
    claimed = client.post("/tasks/claim", json={"project": "alpha", "agent": "a"})
    assert claimed.json()["key"] == "T-2"


def test_a_status_change_under_repeatable_read_flips_the_edges_it_finishes(
    client: TestClient, db_url: str
) -> None:
    """Flipping is_satisfied changes no edge, so it cannot close a cycle: the guard
    that refuses snapshot isolation for new edges does not apply to it."""
    _blocker_and_dependent(client)
    for level in ("REPEATABLE READ", "SERIALIZABLE"):
        with psycopg.connect(db_url) as conn:
            conn.execute(f"SET TRANSACTION ISOLATION LEVEL {level}")
            to = "cancelled" if level == "REPEATABLE READ" else "pending"
            conn.execute("UPDATE tasks SET status = %s WHERE key = 'T-1'", (to,))
        with psycopg.connect(db_url) as check:
            row = check.execute(
                "SELECT d.is_satisfied, t.unfinished_dependencies FROM task_dependencies d"
                " JOIN tasks t ON t.project_id = d.project_id AND t.id = d.task_id"
            ).fetchone()
            assert row == ((True, 0) if to == "cancelled" else (False, 1))


def test_a_claim_within_a_feature_or_agent_type_skips_no_waiting_tasks(db_url: str) -> None:
    """The filter indexes hold ready tasks only: 3,000 higher-priority tasks of the
    feature that wait on a dependency are not walked past to reach the ready one."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            """
            WITH p AS (INSERT INTO projects (key, name) VALUES ('alpha', 'Alpha') RETURNING id),
                 e AS (INSERT INTO epics (project_id, key, title)
                       SELECT id, 'E01', 'e' FROM p RETURNING id, project_id),
                 f AS (INSERT INTO features (project_id, epic_id, key, title)
                       SELECT project_id, id, 'E01-F01', 'f' FROM e RETURNING id, project_id)
            INSERT INTO tasks (project_id, key, title, priority, feature_id, agent_type)
            SELECT f.project_id, 'T-' || g, 't', CASE WHEN g = 1 THEN 1 WHEN g = 2 THEN 2 ELSE 9 END,
                   CASE WHEN g = 1 THEN NULL ELSE f.id END, CASE WHEN g = 1 THEN NULL ELSE 'coder' END
              FROM f, generate_series(1, 3002) g
            """
        )
        conn.execute(
            "INSERT INTO task_dependencies (project_id, task_id, depends_on_id)"
            " SELECT t.project_id, t.id, b.id FROM tasks t JOIN tasks b ON b.key = 'T-1'"
            " WHERE t.key NOT IN ('T-1', 'T-2')"
        )
        conn.execute("VACUUM ANALYZE tasks")
        claim = queries.load("queue")["task_claim_next"]
        (project_id,) = conn.execute("SELECT id FROM projects WHERE key = 'alpha'").fetchone()  # type: ignore[misc]
        base = {
            "project": "alpha",
            "project_id": project_id,
            "agent": "a",
            "lease_seconds": 60,
            "epic": None,
            "feature": None,
        }
        for within, index in (
            ({**base, "feature": "E01-F01", "agent_type": None}, "idx_tasks_ready_feature"),
            ({**base, "agent_type": "coder"}, "idx_tasks_ready_agent_type"),
        ):
            with conn.transaction(force_rollback=True):
                plan = "\n".join(
                    row[0] for row in conn.execute(sql.SQL("EXPLAIN (ANALYZE, COSTS OFF) ") + claim, within)
                )
            assert f"Index Scan using {index} on tasks" in plan, plan
            assert "Rows Removed by Filter: 3000" not in plan, plan
            row = conn.execute(claim, within).fetchone()
            assert row is not None and '"T-2"' in row[1]  # (project, document)
            conn.execute(
                "UPDATE tasks SET status = 'pending', claimed_by = NULL, lease_expires_at = NULL"
                " WHERE key = 'T-2'"
            )


def test_the_api_role_is_told_in_one_line_that_it_may_not_migrate(db_url: str, pg_server: str) -> None:
    name = f"wt_api_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE worktrack_api").format(sql.Identifier(name)))
    try:
        api_url = psycopg.conninfo.make_conninfo(db_url, user=name)
        with pytest.raises(migrations.MigrationFailed) as refused:
            migrations.apply(api_url)
        assert "--no-migrate" in str(refused.value) and "permission denied" in str(refused.value)
        ran = subprocess.run(
            [sys.executable, "-m", "service.cli", "migrate", "apply"],
            env={**os.environ, "DATABASE_URL": api_url},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert ran.returncode == 1 and "Traceback" not in ran.stderr, ran.stderr
        assert ran.stderr.count("\n") == 1 and "--no-migrate" in ran.stderr
    finally:
        with psycopg.connect(pg_server, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


TOOLS_LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
MCP_ACCEPT = {"accept": "application/json, text/event-stream"}


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "localhost:8000", "10.1.2.3", "10.1.2.3:8000"])
def test_mcp_answers_the_host_names_the_api_answers(
    db_url: str, host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By default /mcp and the API serve the same names: the loopback names and the
    address the server listens on, with or without a port."""
    monkeypatch.delenv("WORKTRACK_ALLOWED_HOSTS", raising=False)
    monkeypatch.delenv("WORKTRACK_MCP_ALLOWED_HOSTS", raising=False)
    monkeypatch.setenv("WORKTRACK_LISTEN_HOST", "10.1.2.3")
    app = create_app(db_url, TEST_POOL)
    signed_in = {"Authorization": f"Bearer {admin_token(db_url)}"}
    with TestClient(
        app, base_url=f"http://{host}", headers=signed_in, raise_server_exceptions=False
    ) as client:
        assert client.get("/projects").status_code == 200
        listed = client.post("/mcp", json=TOOLS_LIST, headers=MCP_ACCEPT)
        assert listed.status_code == 200, listed.text
        assert (
            client.post("/mcp", json=TOOLS_LIST, headers={**MCP_ACCEPT, "host": "evil.example"}).status_code
            == 421
        )
