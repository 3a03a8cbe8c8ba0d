"""The yardstick of `worktrack bench` answers what it stands in for, with the load's own keys."""

from __future__ import annotations

import re

import psycopg
import pytest
from starlette.testclient import TestClient

from service import bench
from service.minimal_app import minimal_app


def test_the_minimal_raw_sql_app_answers_the_measured_routes(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO projects (key, name) VALUES ('P0', 'P0')")
        conn.execute(
            "INSERT INTO tasks (project_id, key, title, priority)"
            " SELECT id, 'T-' || g, 'task', g FROM projects, generate_series(1, 3) g"
        )
    # The key as the bench's create load writes it, so the database checks its shape.
    script = bench._WRK_SCRIPTS["create"].replace("{RUN}", "0123ABCDEF")
    template = re.search(r"\"key\":\"([^\"]+)\"", script)
    assert template is not None
    key = template.group(1).replace("%d", "12")
    monkeypatch.setenv("DATABASE_URL", db_url)
    with TestClient(minimal_app()) as client:
        got = client.get("/projects/P0/tasks/T-2")
        assert (got.status_code, got.json()["key"]) == (200, "T-2")
        page = client.get("/projects/P0/tasks", params={"status": "pending", "limit": 2})
        assert [task["key"] for task in page.json()] == ["T-1", "T-2"]
        made = client.post("/projects/P0/tasks", json={"key": key, "title": "load"})
        assert (made.status_code, made.json()["status"]) == (201, "pending")
        claimed = client.post("/tasks/claim", json={"project": "P0", "agent": "wrk"})
        # the highest priority: the created task (5)
        assert (claimed.json()["key"], claimed.json()["claimed_by"]) == (key, "wrk")
    with psycopg.connect(db_url) as conn:
        # Its writes pay worktrack's triggers: the creation and the claim are in the history.
        moves = conn.execute(
            "SELECT h.from_status, h.to_status FROM task_history h JOIN tasks t ON t.id = h.task_id"
            " WHERE t.key = %s ORDER BY h.id",
            (key,),
        ).fetchall()
        assert moves == [(None, "pending"), ("pending", "in_progress")]
