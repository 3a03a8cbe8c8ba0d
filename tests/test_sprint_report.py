"""The sprint lifecycle and the exact sprint report, through the API on a real
PostgreSQL. Changes to tasks happen at pinned instants: each runs in its own
transaction with worktrack.event_at set, as an import of Jira history does, so the
membership and status history carry those times."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from psycopg import sql
from starlette.testclient import TestClient

from service import migrations, queries
from service.bench import load_sprints

Conn = psycopg.Connection[tuple[Any, ...]]

# Sprint S3 runs Monday 2026-11-02 .. Friday 11-06 in New York (UTC-5 after the
# clocks went back on Sunday 11-01; 10-30 is still UTC-4).
START = "2026-11-02T09:00:00-05:00"
CLOSE = "2026-11-06T17:00:00-05:00"


def _post(client: TestClient, path: str, body: dict[str, Any] | None = None, status: int = 201) -> Any:
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    return response.json()


def _at(conn: Conn, instant: str, statement: str, *params: Any) -> None:
    """One change of tasks, committed as if made at `instant` by ann."""
    with conn.transaction():
        conn.execute(
            "SELECT import_begin('test'), set_config('worktrack.event_at', %s, true),"
            " set_config('worktrack.actor', 'ann', true)",
            (instant,),
        )
        conn.execute(statement, params)


def _status(conn: Conn, instant: str, key: str, status: str) -> None:
    _at(conn, instant, "UPDATE tasks SET status = %s WHERE key = %s", status, key)


@pytest.fixture
def crafted(client: TestClient, db_url: str) -> dict[str, int]:
    """S3 with a task for every rule; the close moves open work to S4."""
    _post(client, "/projects", {"key": "alpha", "name": "Alpha"})
    workstream = _post(
        client, "/workstreams", {"project": "alpha", "name": "W", "timezone": "America/New_York"}
    )["id"]
    ids = {}
    for jira, name, start, end in [
        (3, "S3", "2026-11-02", "2026-11-06"),
        (4, "S4", "2026-11-09", "2026-11-13"),
    ]:
        ids[name] = _post(
            client, "/sprints", {"jira_sprint_id": jira, "name": name, "start_date": start, "end_date": end}
        )["id"]
        client.put(f"/sprints/{ids[name]}/workstreams/{workstream}", json={"association_type": "primary"})
    s3 = ids["S3"]
    with psycopg.connect(db_url, autocommit=True) as conn:
        # Created on Friday 10-30 at 09:00 New York; T-4 and T-5 in the backlog.
        _at(
            conn,
            "2026-10-30T09:00:00-04:00",
            "INSERT INTO tasks (project_id, sprint_id, key, title, story_points, created_at)"
            " SELECT p.id, CASE WHEN t.key IN ('T-4', 'T-5') THEN NULL ELSE %s::bigint END, t.key, t.key,"
            "        t.points, '2026-10-30T09:00:00-04:00'"
            "   FROM projects p, (VALUES ('T-1', 5), ('T-2', 3), ('T-3', 2), ('T-4', 1), ('T-5', 3),"
            "        ('T-6', 2), ('T-7', 5), ('T-8', 3), ('T-9', NULL), ('T-10', 2)) t (key, points)",
            s3,
        )
        _status(conn, "2026-10-30T10:00:00-04:00", "T-4", "in_progress")
        _status(conn, "2026-10-30T15:00:00-04:00", "T-4", "completed")  # done before it joins
        _status(conn, "2026-11-01T12:00:00-05:00", "T-3", "cancelled")  # cancelled before the start
    started = _post(client, f"/sprints/{s3}/start", {"activated_at": START}, status=200)
    assert (started["state"], started["timezone"]) == ("active", "America/New_York")
    with psycopg.connect(db_url, autocommit=True) as conn:
        _status(conn, "2026-11-02T09:30:00-05:00", "T-1", "in_progress")
        # T-5 is added after the start; T-4 joins already completed
        _at(conn, "2026-11-03T10:00:00-05:00", "UPDATE tasks SET sprint_id = %s WHERE key = 'T-5'", s3)
        _at(conn, "2026-11-03T11:00:00-05:00", "UPDATE tasks SET sprint_id = %s WHERE key = 'T-4'", s3)
        _status(conn, "2026-11-03T12:00:00-05:00", "T-2", "in_progress")
        _status(conn, "2026-11-03T13:00:00-05:00", "T-8", "in_progress")
        # T-1 is done on Tuesday in New York (Wednesday in UTC), T-2 on Wednesday either way
        _status(conn, "2026-11-03T23:30:00-05:00", "T-1", "completed")
        _status(conn, "2026-11-04T00:30:00-05:00", "T-2", "completed")
        _at(conn, "2026-11-04T10:00:00-05:00", "UPDATE tasks SET story_points = 8 WHERE key = 'T-7'")
        _status(conn, "2026-11-04T12:00:00-05:00", "T-5", "in_progress")
        _at(conn, "2026-11-04T15:00:00-05:00", "UPDATE tasks SET sprint_id = NULL WHERE key = 'T-6'")
        _status(conn, "2026-11-05T08:00:00-05:00", "T-9", "in_progress")
        _status(conn, "2026-11-05T09:00:00-05:00", "T-10", "cancelled")  # cancelled after the start
        _status(conn, "2026-11-05T10:00:00-05:00", "T-9", "completed")
        _status(conn, "2026-11-05T12:00:00-05:00", "T-5", "completed")
    closed = _post(
        client, f"/sprints/{s3}/close", {"move_open_tasks_to": ids["S4"], "completed_at": CLOSE}, status=200
    )
    assert (closed["state"], closed["completed_at"]) == ("closed", "2026-11-06T22:00:00+00:00")
    return ids


def test_the_crafted_sprint_report_to_the_point(client: TestClient, crafted: dict[str, int]) -> None:
    report = client.get(f"/sprints/{crafted['S3']}/report").json()
    assert report["sprint"]["as_of"]["start"] == "2026-11-02T14:00:00+00:00"
    assert report["sprint"]["as_of"]["close"] == "2026-11-06T22:00:00+00:00"
    assert report["sprint"]["timezone"] == "America/New_York"
    # T-1 5, T-2 3, T-6 2, T-7 5, T-8 3, T-9 unestimated, T-10 2; not T-3 (cancelled before)
    commitment = report["commitment"]
    assert (commitment["points"], commitment["issues"], commitment["unestimated_issues"]) == (20, 7, 1)
    assert commitment["source"] == "membership history"
    scope = report["scope_change"]
    assert (scope["added_points"], scope["added_issues"]) == (3, 1)  # T-5
    assert (scope["removed_points"], scope["removed_issues"]) == (4, 2)  # T-6 left, T-10 cancelled
    assert scope["reestimated_points"] == 3  # T-7 5 -> 8
    assert (scope["net_points"], scope["share_of_commitment_percent"]) == (2, 10)
    completed = report["completed"]  # T-1 5, T-2 3, T-5 3, T-9 unestimated
    assert (completed["points"], completed["issues"], completed["unestimated_issues"]) == (11, 4, 1)
    outside = report["completed_outside"]
    assert (outside["points"], outside["issues"]) == (1, 1)
    assert [t["key"] for t in outside["tasks"]] == ["T-4"]
    completion = report["completion"]
    assert (completion["final_scope_points"], completion["of_commitment_percent"]) == (22, 55)
    assert completion["of_final_scope_percent"] == 50
    carry = report["carry_over"]
    assert (carry["points"], carry["issues"]) == (11, 2)
    assert carry["tasks"] == [
        {"project": "alpha", "key": "T-7", "status": "pending", "story_points": 8, "moved_to": crafted["S4"]},
        {
            "project": "alpha",
            "key": "T-8",
            "status": "in_progress",
            "story_points": 3,
            "moved_to": crafted["S4"],
        },
    ]
    # cycle: T-9 2 h, T-2 12.5 h, T-5 24 h, T-1 38 h; lead from 10-30 13:00 UTC
    assert (report["cycle_time_hours"]["p50"], report["cycle_time_hours"]["p85"]) == (18.25, 31.7)
    assert (report["lead_time_hours"]["p50"], report["lead_time_hours"]["p85"]) == (129.25, 147.1)
    days = [
        (
            d["day"],
            d["scope_points"],
            d["completed_points"],
            d["remaining_points"],
            d["ideal_remaining_points"],
        )
        for d in report["burndown"]
    ]
    assert days == [
        ("2026-11-02", 20, 0, 20, 20),
        ("2026-11-03", 23, 5, 18, 15),
        ("2026-11-04", 24, 8, 16, 10),
        ("2026-11-05", 22, 11, 11, 5),
        ("2026-11-06", 22, 11, 11, 0),
    ]
    events = {
        d["day"]: [(e["change"], e["key"], e["points"]) for e in d["events"]] for d in report["burndown"]
    }
    assert events == {
        "2026-11-02": [],
        "2026-11-03": [("joined", "T-5", 3), ("completed", "T-1", 5)],
        "2026-11-04": [("completed", "T-2", 3), ("reestimated", "T-7", 8), ("left", "T-6", 2)],
        "2026-11-05": [("cancelled", "T-10", 2), ("completed", "T-9", None), ("completed", "T-5", 3)],
        "2026-11-06": [],
    }
    for figure in (
        "commitment",
        "completed",
        "completed_outside",
        "scope_change",
        "completion",
        "carry_over",
    ):
        assert report[figure]["definition"], figure


def test_a_closed_sprint_report_never_changes(
    client: TestClient, crafted: dict[str, int], db_url: str
) -> None:
    path = f"/sprints/{crafted['S3']}/report"
    before = client.get(path).content
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE tasks SET status = 'in_progress' WHERE key = 'T-1'")  # reopened after the close
        conn.execute("UPDATE tasks SET story_points = 13 WHERE key IN ('T-2', 'T-8')")
        conn.execute("UPDATE tasks SET status = 'pending' WHERE key = 'T-3'")  # restored
        conn.execute("UPDATE tasks SET sprint_id = NULL WHERE key = 'T-5'")
        conn.execute("UPDATE tasks SET sprint_id = %s WHERE key = 'T-6'", (crafted["S4"],))
    assert client.get(path).content == before
    assert json.loads(before)["completed"]["points"] == 11


def test_velocity_counts_the_closed_sprint_by_the_same_definitions(
    client: TestClient, crafted: dict[str, int]
) -> None:
    _post(
        client, f"/sprints/{crafted['S4']}/start", {"activated_at": "2026-11-09T09:00:00-05:00"}, status=200
    )
    report = client.get(f"/sprints/{crafted['S4']}/report").json()
    (velocity,) = report["velocity"]["workstreams"]
    assert velocity["sprints"] == [
        {"sprint_id": crafted["S3"], "name": "S3", "completed_points": 11, "source": "membership history"}
    ]
    assert (velocity["mean_points"], velocity["sprints_counted"]) == (11, 1)
    # T-7 and T-8 arrived with the close of S3, before S4 started: they are its commitment
    assert (report["commitment"]["points"], report["commitment"]["issues"]) == (11, 2)
    assert report["previous_sprint"]["name"] == "S3"


def test_the_lifecycle_is_kept_by_the_database(client: TestClient, db_url: str) -> None:
    _post(client, "/projects", {"key": "alpha", "name": "Alpha"})
    sprint = _post(client, "/sprints", {"jira_sprint_id": 1, "name": "S1", "timezone": "Europe/Berlin"})
    other = _post(client, "/sprints", {"jira_sprint_id": 2, "name": "S2"})
    path = f"/sprints/{sprint['id']}"
    patched = client.patch(path, json={"state": "active"})
    assert patched.status_code == 422
    assert "POST /sprints/{id}/start" in patched.json()["detail"]
    assert "POST /sprints/{id}/close" in patched.json()["detail"]
    bad_zone = client.post("/sprints", json={"jira_sprint_id": 3, "name": "S3", "timezone": "Mars/Olympus"})
    assert bad_zone.status_code == 422
    assert bad_zone.json()["errors"][0]["field"] == "body.timezone"
    _post(client, "/workstreams", {"project": "alpha", "name": "W"})
    # pg_timezone_names lists them all the same (posix/Factory on a server built with system tzdata)
    for not_a_place in ("localtime", "posixrules", "Factory", "posix/Factory"):
        refused = client.post("/sprints", json={"jira_sprint_id": 3, "name": "S3", "timezone": not_a_place})
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "body.timezone"
        with psycopg.connect(db_url) as conn, pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("UPDATE project_workstreams SET timezone = %s", (not_a_place,))
    assert client.post(f"{path}/close", json={"move_open_tasks_to": None}).status_code == 409  # still future
    naive = client.post(f"{path}/start", json={"activated_at": "2026-11-02T09:00:00"})
    assert naive.status_code == 422  # an instant needs its offset
    started = _post(client, f"{path}/start", status=200)  # no body: now
    assert started["state"] == "active" and started["activated_at"] is not None
    assert started["start_date"] is not None and started["timezone"] == "Europe/Berlin"
    again = client.post(f"{path}/start")
    assert again.status_code == 409
    assert again.json()["detail"] == f"sprint {sprint['id']} is active: only a future sprint starts"
    client.post("/projects/alpha/tasks", json={"key": "T-1", "title": "open", "sprint": sprint["id"]})
    assert client.post(f"{path}/close", json={"move_open_tasks_to": 999999}).status_code == 404
    assert client.post(f"{path}/close", json={"move_open_tasks_to": sprint["id"]}).status_code == 409
    assert client.post(f"{path}/close", json={}).status_code == 422  # say where open work goes
    closed = _post(client, f"{path}/close", {"move_open_tasks_to": None}, status=200)
    assert closed["state"] == "closed"
    assert client.get("/projects/alpha/tasks/T-1").json()["sprint"] is None  # to the backlog
    reopened = client.post(f"{path}/start")  # a closed sprint never reopens
    assert reopened.json()["detail"] == f"sprint {sprint['id']} is closed: only a future sprint starts"
    assert client.patch(path, json={"end_date": "2030-01-01"}).status_code == 409
    assert client.patch(path, json={"name": "S1 (done)"}).status_code == 200
    joined = client.patch("/projects/alpha/tasks/T-1", json={"sprint": sprint["id"]})
    assert joined.status_code == 409  # no task joins a closed sprint
    _post(client, f"/sprints/{other['id']}/start", status=200)
    assert (
        client.post(f"/sprints/{other['id']}/close", json={"move_open_tasks_to": sprint["id"]}).status_code
        == 409
    )
    with psycopg.connect(db_url, autocommit=True) as conn:
        final = "is closed: its state, dates and time zone are final"
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match=final):
            conn.execute("UPDATE sprints SET state = 'active' WHERE id = %s", (sprint["id"],))
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="append-only"):
            conn.execute("DELETE FROM sprint_membership_events")
        events = conn.execute(
            "SELECT change, is_close_move, moved_to_sprint_id FROM sprint_membership_events ORDER BY id"
        ).fetchall()
    assert events == [("joined", False, None), ("left", True, None)]


def test_parallel_sprints_and_moves_at_insert(client: TestClient, db_url: str) -> None:
    _post(client, "/projects", {"key": "alpha", "name": "Alpha"})
    first = _post(client, "/sprints", {"jira_sprint_id": 1, "name": "A", "jira_board_id": 5})
    second = _post(client, "/sprints", {"jira_sprint_id": 2, "name": "B", "jira_board_id": 5})
    for sprint in (first, second):  # a board may run several active sprints at once
        _post(client, f"/sprints/{sprint['id']}/start", status=200)
    _post(
        client,
        "/projects/alpha/tasks",
        {"key": "T-1", "title": "t", "sprint": first["id"], "story_points": 2},
    )
    client.patch("/projects/alpha/tasks/T-1", json={"story_points": 3})
    client.patch("/projects/alpha/tasks/T-1", json={"sprint": second["id"]})
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT sprint_id, change, points_before, points_after, moved_to_sprint_id"
            " FROM sprint_membership_events ORDER BY id"
        ).fetchall()
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [
        (first["id"], "joined", None, 2, None),
        (first["id"], "reestimated", 2, 3, None),
        (first["id"], "left", 3, None, second["id"]),
        (second["id"], "joined", None, 3, None),
    ]


def test_the_report_of_a_sprint_of_2000_tasks_uses_indexes(db_url: str) -> None:
    """2,000 tasks with about 20,000 membership and status events, after a sprint of as
    many (for velocity), among 60,000 other tasks in 30 other sprints: every table is
    reached by index, by the report of the closed sprint (its stored rows) and by the
    computation an active sprint's report and the close make."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO projects (key, name) VALUES ('BENCH', 'Bench'), ('OTHER', 'Other')")
        conn.execute(
            "INSERT INTO sprints (jira_sprint_id, name)"
            " SELECT 700000 + g, 'other ' || g FROM generate_series(1, 30) g"
        )
        conn.execute(
            "INSERT INTO tasks (project_id, key, title, story_points, sprint_id)"
            " SELECT p.id, 'T-' || g, 'other ' || g, 1, (SELECT min(id) FROM sprints) + g % 30"
            "   FROM projects p, generate_series(1, 30000) g"
        )
        # The other sprints run and close too, so that the stored figures hold many
        # sprints, as they do in use: an index on them pays only then.
        conn.execute(
            "SELECT sprint_start(id, now() - interval '20 days') FROM sprints WHERE jira_sprint_id > 700000"
        )
        conn.execute("SELECT sprint_close(id) FROM sprints WHERE jira_sprint_id > 700000")
        sprint_id = load_sprints(conn, "BENCH", sprint_count=2, per_sprint=2000)
        events = conn.execute(
            "SELECT (SELECT count(*) FROM sprint_membership_events WHERE sprint_id = %(s)s)"
            "     + (SELECT count(*) FROM task_history h JOIN tasks t ON t.project_id = h.project_id"
            "          AND t.id = h.task_id WHERE t.sprint_id = %(s)s OR t.key LIKE 'S' || %(s)s || '-%%')",
            {"s": sprint_id},
        ).fetchone()
        assert events is not None and events[0] >= 20_000
        report = queries.load("report")["sprint_report"]
        plan = "\n".join(
            str(row[0])
            for row in conn.execute(
                sql.SQL("EXPLAIN ") + report, {"sprint_id": sprint_id, "velocity_sprints": 3}
            )
        )
        # What an active sprint's report (and the close) computes: the plans of the
        # function's own statements, as auto_explain reports them.
        nested: list[str] = []
        conn.add_notice_handler(lambda notice: nested.append(notice.message_primary or ""))
        conn.execute("LOAD 'auto_explain'")
        conn.execute(
            "SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on;"
            " SET client_min_messages = log"
        )
        conn.execute(
            "SELECT count(*) FROM sprints s CROSS JOIN LATERAL sprint_window(s) w"
            " CROSS JOIN LATERAL sprint_report_tasks(s.id, w.starts, w.closes) f WHERE s.id = %s",
            (sprint_id,),
        )
        conn.execute("RESET client_min_messages")
    computed = "\n".join(nested)
    # the closed sprint's report reads what its close stored
    assert "sprint_frozen_tasks_pkey" in plan and "sprint_frozen_days_pkey" in plan
    assert "idx_sprint_frozen_tasks_completed" in plan  # velocity, index only
    assert "idx_sprint_membership_events_sprint_happened_at" in computed
    assert "idx_task_history_project_task" in computed
    assert "tasks_pkey" in computed
    for table in ("tasks", "task_history", "sprint_membership_events", "sprint_frozen_tasks"):
        assert f"Seq Scan on {table} " not in plan, plan
        assert f"Seq Scan on {table} " not in computed, computed


def test_the_backfill_gives_each_task_in_a_sprint_one_joined_event(empty_db_url: str) -> None:
    """Tasks in sprints before membership history existed get one "joined" event,
    dated at the later of their creation and the sprint's start; a second run adds
    none, and the report reads them."""
    ids = migrations.known_migration_ids()
    migrations.apply(empty_db_url, ids.index("0021_sprint_lifecycle"))
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO projects (key, name) VALUES ('alpha', 'Alpha')")
        conn.execute(
            "INSERT INTO sprints (jira_sprint_id, name, state, start_date, end_date)"
            " VALUES (1, 'S1', 'active', '2026-11-02', '2026-11-13'), (2, 'S2', 'future', NULL, NULL)"
        )
        conn.execute(
            "INSERT INTO tasks (project_id, sprint_id, key, title, story_points, created_at)"
            " SELECT p.id, s.id, t.key, t.key, 3, t.created::timestamptz"
            "   FROM projects p, sprints s,"
            "        (VALUES ('T-1', 1, '2026-10-20T10:00Z'), ('T-2', 1, '2026-11-05T10:00Z'),"
            "                ('T-3', 2, '2026-11-01T08:00Z')) t (key, sprint, created)"
            "  WHERE s.jira_sprint_id = t.sprint"
        )
        conn.execute("INSERT INTO tasks (project_id, key, title) SELECT id, 'T-4', 'backlog' FROM projects")
    migrations.apply(empty_db_url)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT t.key, e.change, e.points_after, e.actor, e.happened_at"
            "  FROM sprint_membership_events e JOIN tasks t ON t.id = e.task_id ORDER BY t.key"
        ).fetchall()
    assert [(key, change, points, actor, at.isoformat()) for key, change, points, actor, at in rows] == [
        ("T-1", "joined", 3, "membership backfill", "2026-11-02T00:00:00+00:00"),  # the sprint's start
        ("T-2", "joined", 3, "membership backfill", "2026-11-05T10:00:00+00:00"),  # its creation
        ("T-3", "joined", 3, "membership backfill", "2026-11-01T08:00:00+00:00"),  # a sprint not started
    ]
    migrations.rollback(empty_db_url, 1)
    migrations.apply(empty_db_url)
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM sprint_membership_events").fetchone() == (3,)
        report = json.loads(
            conn.execute(
                queries.load("report")["sprint_report"],
                {
                    "sprint_id": conn.execute("SELECT id FROM sprints WHERE name = 'S1'").fetchone()[0],  # type: ignore[index]
                    "velocity_sprints": 3,
                },
            ).fetchone()[0]
        )
    assert (report["commitment"]["issues"], report["scope_change"]["added_issues"]) == (1, 1)


def _stored_and_computed(conn: Conn, sprint_id: int) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    """A closed sprint's stored task rows and burndown, and the same computed now
    as of its start and close by the same functions."""
    stored = conn.execute(
        "SELECT * FROM sprint_frozen_tasks WHERE sprint_id = %s ORDER BY project_id, task_id", (sprint_id,)
    ).fetchall()
    computed = conn.execute(
        "SELECT f.* FROM sprints s CROSS JOIN LATERAL sprint_window(s) w"
        " CROSS JOIN LATERAL sprint_report_tasks(s.id, w.starts, w.closes) f"
        " WHERE s.id = %s ORDER BY f.project_id, f.task_id",
        (sprint_id,),
    ).fetchall()
    stored_days = conn.execute(
        "SELECT day, i, planned_days, scope_points, completed_points, events::text"
        "  FROM sprint_frozen_days WHERE sprint_id = %s ORDER BY day",
        (sprint_id,),
    ).fetchall()
    computed_days = conn.execute(
        "SELECT b.day, b.i, b.planned_days, b.scope_points, b.completed_points, b.events::text"
        "  FROM sprint_burndown_days(%(s)s, (SELECT array_agg(f) FROM sprint_frozen_tasks f"
        "                                     WHERE f.sprint_id = %(s)s)) b ORDER BY b.day",
        {"s": sprint_id},
    ).fetchall()
    return stored, computed, stored_days, computed_days


def test_the_close_stores_the_figures_it_computes_as_of_the_close(
    client: TestClient, crafted: dict[str, int], db_url: str
) -> None:
    with psycopg.connect(db_url) as conn:
        stored, computed, stored_days, computed_days = _stored_and_computed(conn, crafted["S3"])
        keys = conn.execute(
            "SELECT key FROM sprint_frozen_tasks WHERE sprint_id = %s AND carried_over ORDER BY key",
            (crafted["S3"],),
        ).fetchall()
    # T-1 .. T-10: every task the sprint had, T-3 (cancelled before the start) included
    assert len(stored) == 10 and stored == computed
    assert [d[0].isoformat() for d in stored_days] == [f"2026-11-0{n}" for n in range(2, 7)]
    assert stored_days == computed_days
    assert keys == [("T-7",), ("T-8",)]


def test_a_closed_sprint_report_reads_what_its_close_stored(
    client: TestClient, crafted: dict[str, int], db_url: str
) -> None:
    """History rewritten inside the window afterwards (an import may replay the
    past) changes what would be computed now, not the closed sprint's report."""
    path = f"/sprints/{crafted['S3']}/report"
    before = client.get(path).content
    with psycopg.connect(db_url, autocommit=True) as conn:
        _status(conn, "2026-11-05T16:00:00-05:00", "T-8", "in_review")
        _status(conn, "2026-11-05T17:00:00-05:00", "T-8", "completed")
        stored, computed, _, _ = _stored_and_computed(conn, crafted["S3"])
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="final"):
            conn.execute("UPDATE sprint_frozen_tasks SET completed_in = true")
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="final"):
            conn.execute("DELETE FROM sprint_frozen_days")
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="not closed"):
            conn.execute("SELECT sprint_freeze(%s)", (crafted["S4"],))
    assert stored != computed  # now T-8 would count as completed in S3
    assert client.get(path).content == before
    assert json.loads(before)["completed"]["points"] == 11


def _report_text(conn: Conn, sprint_id: int) -> str:
    row = conn.execute(
        queries.load("report")["sprint_report"], {"sprint_id": sprint_id, "velocity_sprints": 3}
    ).fetchone()
    assert row is not None
    return str(row[0])


def test_the_computed_report_of_a_sprint_agrees_with_its_stored_report(
    crafted: dict[str, int], db_url: str
) -> None:
    """What an active sprint's report computes (task rows, burndown, velocity) is what
    the close stores: without S3's stored rows, its report and S4's (whose velocity
    counts S3) are computed from the history, and are the same to the byte."""
    with psycopg.connect(db_url) as conn:
        stored = _report_text(conn, crafted["S3"]), _report_text(conn, crafted["S4"])
        with conn.transaction(force_rollback=True):
            # the stored rows refuse deletion by trigger; replica role skips triggers
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute("DELETE FROM sprint_frozen_tasks WHERE sprint_id = %s", (crafted["S3"],))
            conn.execute("DELETE FROM sprint_frozen_days WHERE sprint_id = %s", (crafted["S3"],))
            assert conn.execute("SELECT count(*) FROM sprint_frozen_tasks").fetchone() == (0,)
            computed = _report_text(conn, crafted["S3"]), _report_text(conn, crafted["S4"])
    report = json.loads(stored[0])
    assert len(report["burndown"]) == 5 and report["completed"]["points"] == 11
    velocity = json.loads(stored[1])["velocity"]["workstreams"]
    assert [(w["sprints_counted"], w["mean_points"]) for w in velocity] == [(1, 11)]
    assert computed == stored


def test_the_burndown_events_are_written_as_json_build_object_writes_them(
    crafted: dict[str, int], db_url: str
) -> None:
    """The day's events, written by hand for speed, are the text json_build_object and
    json_agg give (the stored burndowns of sprints closed earlier hold that text)."""
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT b.events::text,"
            "       (SELECT json_agg(json_build_object('change', e->>'change', 'project', e->>'project',"
            "                                          'key', e->>'key', 'points', (e->>'points')::numeric,"
            "                                          'at', (e->>'at')::timestamptz))::text"
            "          FROM json_array_elements(b.events) e)"
            "  FROM sprint_burndown_days(%(s)s, (SELECT array_agg(f) FROM sprint_frozen_tasks f"
            "                                     WHERE f.sprint_id = %(s)s)) b ORDER BY b.day",
            {"s": crafted["S3"]},
        ).fetchall()
    events = [json.loads(text) for text, _ in rows]
    assert sum(len(day) for day in events) == 8
    assert {e["change"] for day in events for e in day} >= {"joined", "left", "completed", "cancelled"}
    assert None in {e["points"] for day in events for e in day}  # T-9, unestimated
    assert [text for text, _ in rows] == [rebuilt or "[]" for _, rebuilt in rows]


def test_the_backfill_stores_the_figures_of_sprints_already_closed(empty_db_url: str) -> None:
    """A sprint closed before its figures were stored gets them from the migration
    that stores them, by the same definitions; its report is the same as before."""
    ids = migrations.known_migration_ids()
    migrations.apply(empty_db_url, ids.index("0040_sprint_frozen_tasks"))
    report_before = "SELECT count(*) FROM sprint_membership_events"  # nothing stored yet
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO projects (key, name) VALUES ('alpha', 'Alpha')")
        (sprint_id,) = conn.execute(
            "INSERT INTO sprints (jira_sprint_id, name, start_date, end_date, timezone)"
            " VALUES (1, 'S1', '2026-11-02', '2026-11-06', 'America/New_York') RETURNING id"
        ).fetchone()  # type: ignore[misc]
        _at(
            conn,
            "2026-10-30T09:00:00-04:00",
            "INSERT INTO tasks (project_id, sprint_id, key, title, story_points)"
            " SELECT p.id, %s, t.key, t.key, t.points FROM projects p,"
            "        (VALUES ('T-1', 5), ('T-2', 3), ('T-3', 2)) t (key, points)",
            sprint_id,
        )
        conn.execute("SELECT sprint_start(%s, '2026-11-02T09:00:00-05:00')", (sprint_id,))
        _status(conn, "2026-11-03T23:30:00-05:00", "T-1", "completed")
        _at(conn, "2026-11-04T10:00:00-05:00", "UPDATE tasks SET story_points = 8 WHERE key = 'T-2'")
        conn.execute("SELECT sprint_close(%s, NULL, '2026-11-06T17:00:00-05:00')", (sprint_id,))
        assert conn.execute(report_before).fetchone() == (6,)
    migrations.apply(empty_db_url)
    report = queries.load("report")["sprint_report"]
    with psycopg.connect(empty_db_url) as conn:
        stored, computed, stored_days, computed_days = _stored_and_computed(conn, sprint_id)
        (figures,) = conn.execute(report, {"sprint_id": sprint_id, "velocity_sprints": 3}).fetchone()  # type: ignore[misc]
    assert len(stored) == 3 and stored == computed
    assert len(stored_days) == 5 and stored_days == computed_days
    doc = json.loads(figures)
    assert (doc["commitment"]["points"], doc["completed"]["points"]) == (10, 5)
    assert doc["scope_change"]["reestimated_points"] == 5
    assert [(t["key"], t["moved_to"]) for t in doc["carry_over"]["tasks"]] == [
        ("T-2", "backlog"),
        ("T-3", "backlog"),
    ]


def test_a_sprint_cannot_start_in_the_future(client: TestClient, db_url: str) -> None:
    sprint = _post(client, "/sprints", {"jira_sprint_id": 1, "name": "S1"})
    refused = client.post(f"/sprints/{sprint['id']}/start", json={"activated_at": "2999-01-01T09:00:00Z"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "body.activated_at"
    assert client.get(f"/sprints/{sprint['id']}").json()["state"] == "future"
    with (
        psycopg.connect(db_url, autocommit=True) as conn,
        pytest.raises(psycopg.errors.CheckViolation, match="cannot start in the future"),
    ):
        conn.execute(
            "UPDATE sprints SET state = 'active', activated_at = now() + interval '1 hour' WHERE id = %s",
            (sprint["id"],),
        )
    started = _post(
        client, f"/sprints/{sprint['id']}/start", {"activated_at": "2026-01-05T09:00:00+01:00"}, status=200
    )
    assert started["activated_at"] == "2026-01-05T08:00:00+00:00"


def test_a_task_completed_in_the_sprint_that_left_and_came_back_counts_as_completed(
    client: TestClient,
) -> None:
    _post(client, "/projects", {"key": "alpha", "name": "Alpha"})
    sprint = _post(client, "/sprints", {"jira_sprint_id": 1, "name": "Edge"})["id"]
    for key, points in (("E-1", 5), ("E-2", 2)):
        _post(
            client,
            "/projects/alpha/tasks",
            {"key": key, "title": key, "sprint": sprint, "story_points": points},
        )
    _post(client, f"/sprints/{sprint}/start", status=200)
    for status in ("in_progress", "completed"):
        _post(client, "/projects/alpha/tasks/E-1/status", {"status": status}, status=200)
    for moved_to in (None, sprint):  # out of the sprint and back, already completed
        assert client.patch("/projects/alpha/tasks/E-1", json={"sprint": moved_to}).status_code == 200
    _post(client, f"/sprints/{sprint}/close", {"move_open_tasks_to": None}, status=200)
    report = client.get(f"/sprints/{sprint}/report").json()
    assert (report["commitment"]["points"], report["commitment"]["issues"]) == (7, 2)
    assert (report["completed"]["points"], report["completed"]["issues"]) == (5, 1)
    assert (report["completed_outside"]["issues"], report["completed_outside"]["tasks"]) == (0, [])
    assert [t["key"] for t in report["carry_over"]["tasks"]] == ["E-2"]
    assert report["completion"]["of_commitment_percent"] == 71.43


def test_a_task_finished_at_the_start_and_reopened_in_the_sprint_is_added(client: TestClient) -> None:
    _post(client, "/projects", {"key": "alpha", "name": "Alpha"})
    sprint = _post(client, "/sprints", {"jira_sprint_id": 1, "name": "Reopened"})["id"]
    for key, points in (("R-1", 3), ("R-2", 2), ("R-3", 1)):
        _post(
            client,
            "/projects/alpha/tasks",
            {"key": key, "title": key, "sprint": sprint, "story_points": points},
        )
    for status in ("in_progress", "completed"):  # R-1 done before the start
        _post(client, "/projects/alpha/tasks/R-1/status", {"status": status}, status=200)
    _post(client, "/projects/alpha/tasks/R-3/status", {"status": "cancelled"}, status=200)
    _post(client, f"/sprints/{sprint}/start", status=200)
    # in the sprint: R-1 reopened, re-estimated and completed again; R-3 reopened
    _post(client, "/projects/alpha/tasks/R-1/status", {"status": "in_progress"}, status=200)
    assert client.patch("/projects/alpha/tasks/R-1", json={"story_points": 5}).status_code == 200
    _post(client, "/projects/alpha/tasks/R-1/status", {"status": "completed"}, status=200)
    _post(client, "/projects/alpha/tasks/R-3/status", {"status": "pending"}, status=200)
    _post(client, f"/sprints/{sprint}/close", {"move_open_tasks_to": None}, status=200)

    report = client.get(f"/sprints/{sprint}/report").json()
    assert (report["commitment"]["points"], report["commitment"]["issues"]) == (2, 1)
    change = report["scope_change"]
    assert (change["added_points"], change["added_issues"], change["reestimated_points"]) == (4, 2, 2)
    assert (change["removed_points"], change["removed_issues"]) == (0, 0)
    assert (report["completed"]["points"], report["completed"]["issues"]) == (5, 1)
    assert report["completed_outside"]["issues"] == 0
    assert report["completion"]["final_scope_points"] == 8  # 2 committed + 4 added + 2 re-estimated
    assert sorted(t["key"] for t in report["carry_over"]["tasks"]) == ["R-2", "R-3"]
    assert report["carry_over"]["points"] == 3
    last_day = report["burndown"][-1]
    assert (last_day["scope_points"], last_day["completed_points"]) == (8, 5)
    events = [event for day in report["burndown"] for event in day["events"]]
    joined = [(event["key"], event["points"]) for event in events if event["change"] == "joined"]
    assert sorted(joined) == [("R-1", 3), ("R-3", 1)]


def test_the_report_of_a_sprint_without_figures_says_so(client: TestClient) -> None:
    _post(client, "/projects", {"key": "alpha", "name": "Alpha"})
    sprint = _post(client, "/sprints", {"jira_sprint_id": 1, "name": "Planned", "start_date": "2026-12-07"})
    _post(
        client,
        "/projects/alpha/tasks",
        {"key": "P-1", "title": "planned", "sprint": sprint["id"], "story_points": 3},
    )
    report = client.get(f"/sprints/{sprint['id']}/report").json()
    assert (report["commitment"]["points"], report["commitment"]["source"]) == (0, "none: not started")
    assert (report["burndown"], report["burndown_source"]) == ([], "none: not started")
    # started here with no task: its figures are the history's, all 0, a day at a time
    empty = _post(client, "/sprints", {"jira_sprint_id": 2, "name": "Empty"})
    _post(client, f"/sprints/{empty['id']}/start", status=200)
    report = client.get(f"/sprints/{empty['id']}/report").json()
    assert (report["commitment"]["points"], report["burndown_source"]) == (0, "membership history")
    assert [(d["scope_points"], d["completed_points"]) for d in report["burndown"]] == [(0, 0)]
    # a legacy sprint (created closed) with neither tasks nor snapshots
    legacy = _post(
        client,
        "/sprints",
        {
            "jira_sprint_id": 3,
            "name": "Legacy",
            "state": "closed",
            "start_date": "2026-01-05",
            "end_date": "2026-01-16",
        },
    )
    report = client.get(f"/sprints/{legacy['id']}/report").json()
    assert (report["completed"]["points"], report["completed"]["source"]) == (
        0,
        "none: no tasks and no snapshots",
    )
    assert report["burndown"] == []


def test_a_task_finished_at_the_start_and_completed_without_reopening_is_completed_outside(
    client: TestClient, db_url: str
) -> None:
    """Imported histories skip the transition table: "Won't Do -> Done" with no open
    status between, or rows without from_status. Completed in the sprint is only what
    is in its scope: a task finished at the start completes in the sprint once reopened."""
    _post(client, "/projects", {"key": "alpha", "name": "Alpha"})
    sprint = _post(client, "/sprints", {"jira_sprint_id": 1, "name": "Imported", "start_date": "2026-11-02"})
    with psycopg.connect(db_url, autocommit=True) as conn:
        _at(
            conn,
            "2026-10-30T09:00:00Z",
            "INSERT INTO tasks (project_id, sprint_id, key, title, story_points, created_at)"
            " SELECT p.id, %s, t.key, t.key, t.points, '2026-10-30T09:00:00Z'"
            "   FROM projects p, (VALUES ('A-1', 3), ('B-1', 5), ('K-1', 1), ('C-1', 2)) t (key, points)",
            sprint["id"],
        )
        _status(conn, "2026-10-31T09:00:00Z", "A-1", "cancelled")
        for key in ("B-1", "K-1"):
            _status(conn, "2026-10-31T09:00:00Z", key, "completed")
    _post(client, f"/sprints/{sprint['id']}/start", {"activated_at": "2026-11-02T09:00:00Z"}, status=200)
    with psycopg.connect(db_url, autocommit=True) as conn:
        _status(conn, "2026-11-03T10:00:00Z", "A-1", "completed")  # Won't Do -> Done
        _status(conn, "2026-11-03T10:00:00Z", "B-1", "cancelled")
        _status(conn, "2026-11-04T10:00:00Z", "B-1", "completed")
        # K-1's reopening and completion as rows without from_status (as a history import writes)
        with conn.transaction():
            conn.execute("SELECT import_begin('test'), set_config('worktrack.history_import', 'on', true)")
            conn.execute(
                "INSERT INTO task_history (project_id, task_id, from_status, to_status, changed_at, actor)"
                " SELECT project_id, id, NULL, s.status, s.at::timestamptz, 'ann'"
                "   FROM tasks, (VALUES ('in_progress', '2026-11-03T11:00:00Z'),"
                "                       ('completed', '2026-11-04T11:00:00Z')) s (status, at)"
                " WHERE key = 'K-1'"
            )
    _post(
        client,
        f"/sprints/{sprint['id']}/close",
        {"move_open_tasks_to": None, "completed_at": "2026-11-06T17:00:00Z"},
        status=200,
    )
    report = client.get(f"/sprints/{sprint['id']}/report").json()
    assert (report["commitment"]["points"], report["commitment"]["issues"]) == (2, 1)  # C-1
    change = report["scope_change"]
    assert (change["added_points"], change["added_issues"]) == (1, 1)  # K-1, reopened
    assert (report["completed"]["points"], report["completed"]["issues"]) == (1, 1)
    outside = report["completed_outside"]
    assert (outside["points"], sorted(t["key"] for t in outside["tasks"])) == (8, ["A-1", "B-1"])
    assert report["completion"]["final_scope_points"] == 3
    last_day = report["burndown"][-1]
    assert (last_day["scope_points"], last_day["completed_points"]) == (3, 1)
