"""The close of a sprint as the database keeps it (migration 0048), whoever closes it
and whatever races it: the close instant, the moves and the stored figures agree."""

from __future__ import annotations

import itertools
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from service import queries

_JIRA_IDS = itertools.count(1)


def _post(client: TestClient, path: str, body: dict[str, Any] | None = None, status: int = 201) -> Any:
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    return response.json()


def _active_sprint(client: TestClient, tasks: dict[str, int], name: str = "S1") -> int:
    """An active sprint of project alpha holding `tasks` (key: points), all pending."""
    if client.get("/projects/alpha").status_code == 404:
        _post(client, "/projects", {"key": "alpha", "name": "Alpha"})
    sprint = _post(client, "/sprints", {"jira_sprint_id": next(_JIRA_IDS), "name": name})["id"]
    for key, points in tasks.items():
        _post(
            client,
            "/projects/alpha/tasks",
            {"key": key, "title": key, "sprint": sprint, "story_points": points},
        )
    _post(client, f"/sprints/{sprint}/start", status=200)
    return int(sprint)


def _report(db_url: str, sprint_id: int) -> dict[str, Any]:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            queries.load("report")["sprint_report"], {"sprint_id": sprint_id, "velocity_sprints": 3}
        ).fetchone()
    assert row is not None
    return json.loads(row[0])  # type: ignore[no-any-return]


def _sprint_of(client: TestClient, key: str) -> int | None:
    return client.get(f"/projects/alpha/tasks/{key}").json()["sprint"]  # type: ignore[no-any-return]


def test_a_close_is_not_dated_in_the_future_nor_before_its_history(client: TestClient, db_url: str) -> None:
    sprint = _active_sprint(client, {"T-1": 5})
    future = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    refused = client.post(
        f"/sprints/{sprint}/close", json={"move_open_tasks_to": None, "completed_at": future}
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["errors"][0]["field"] == "body.completed_at"
    # T-1 joined moments ago: a close an hour ago would have it leave before it joined
    before = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    early = client.post(f"/sprints/{sprint}/close", json={"move_open_tasks_to": None, "completed_at": before})
    assert early.status_code == 422, early.text
    assert "joined, left or were re-estimated" in early.json()["errors"][0]["message"]
    assert client.get(f"/sprints/{sprint}").json()["state"] == "active"  # nothing moved, nothing lost
    assert _sprint_of(client, "T-1") == sprint
    with psycopg.connect(db_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.CheckViolation, match="in the future"):
            conn.execute(
                "UPDATE sprints SET state = 'closed', completed_at = now() + interval '1 day' WHERE id = %s",
                (sprint,),
            )
        with pytest.raises(psycopg.errors.CheckViolation, match="joined, left or were re-estimated"):
            conn.execute("SELECT sprint_close(%s, NULL, now() - interval '1 hour')", (sprint,))


def test_a_close_by_hand_moves_the_open_work_and_stores_the_figures(client: TestClient, db_url: str) -> None:
    sprint = _active_sprint(client, {"D-1": 3, "D-2": 2})
    client.post("/projects/alpha/tasks/D-2/status", json={"status": "in_progress"})
    client.post("/projects/alpha/tasks/D-2/status", json={"status": "completed"})
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE sprints SET state = 'closed' WHERE id = %s", (sprint,))  # as a DBA would
        stored = conn.execute(
            "SELECT key, completed_in, carried_over, moved_at_close FROM sprint_frozen_tasks"
            " WHERE sprint_id = %s ORDER BY key",
            (sprint,),
        ).fetchall()
        moves = conn.execute(
            "SELECT change, is_close_move, happened_at = (SELECT completed_at FROM sprints WHERE id = %s)"
            "  FROM sprint_membership_events WHERE sprint_id = %s AND change = 'left'",
            (sprint, sprint),
        ).fetchall()
        days = conn.execute(
            "SELECT count(*) FROM sprint_frozen_days WHERE sprint_id = %s", (sprint,)
        ).fetchone()
    assert stored == [("D-1", False, True, True), ("D-2", True, False, False)]
    assert moves == [("left", True, True)]  # the close's own move, at the close instant
    assert days is not None and days[0] >= 1
    assert _sprint_of(client, "D-1") is None and _sprint_of(client, "D-2") == sprint
    report = _report(db_url, sprint)
    assert (report["completed"]["points"], report["carry_over"]["points"]) == (2, 3)
    assert report["carry_over"]["tasks"][0]["moved_to"] == "backlog"


def _close_while_the_sprint_is_held(
    client: TestClient, db_url: str, sprint: int, meanwhile: list[tuple[str, str]]
) -> None:
    """Close `sprint` while another session holds its row; once the close waits, apply the
    status changes `meanwhile` (key, status) through the API, then let the close go on."""
    answer: dict[str, Any] = {}
    with psycopg.connect(db_url) as holder:
        holder.execute("SELECT 1 FROM sprints WHERE id = %s FOR UPDATE", (sprint,))
        closing = threading.Thread(
            target=lambda: answer.update(
                response=client.post(f"/sprints/{sprint}/close", json={"move_open_tasks_to": None})
            )
        )
        closing.start()
        with psycopg.connect(db_url, autocommit=True) as watch:
            for _ in range(200):  # until the close waits for the sprint's lock
                waiting = watch.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND query LIKE '%%sprint_close%%'"
                ).fetchone()
                if waiting and waiting[0]:
                    break
                time.sleep(0.02)
            else:
                pytest.fail("the close never waited for the sprint's lock")
        for key, status in meanwhile:
            changed = client.post(f"/projects/alpha/tasks/{key}/status", json={"status": status})
            assert changed.status_code == 200, changed.text
        holder.rollback()
        closing.join(30)
    assert answer["response"].status_code == 200, answer["response"].text


def test_a_task_completed_while_the_close_waits_counts_as_completed(client: TestClient, db_url: str) -> None:
    sprint = _active_sprint(client, {"X-1": 5, "X-2": 3})
    client.post("/projects/alpha/tasks/X-1/status", json={"status": "in_progress"})
    _close_while_the_sprint_is_held(client, db_url, sprint, [("X-1", "completed")])
    report = _report(db_url, sprint)
    assert (report["completed"]["points"], report["completed"]["issues"]) == (5, 1)
    assert [t["key"] for t in report["carry_over"]["tasks"]] == ["X-2"]
    assert _sprint_of(client, "X-1") == sprint and _sprint_of(client, "X-2") is None


def test_a_task_reopened_while_the_close_waits_is_carried_over(client: TestClient, db_url: str) -> None:
    sprint = _active_sprint(client, {"Y-1": 5})
    for status in ("in_progress", "completed"):
        client.post("/projects/alpha/tasks/Y-1/status", json={"status": status})
    _close_while_the_sprint_is_held(client, db_url, sprint, [("Y-1", "in_progress")])
    report = _report(db_url, sprint)
    assert report["completed"]["points"] == 0
    assert [(t["key"], t["moved_to"]) for t in report["carry_over"]["tasks"]] == [("Y-1", "backlog")]
    assert _sprint_of(client, "Y-1") is None


def test_a_session_cannot_pass_its_moves_off_as_a_close(client: TestClient, db_url: str) -> None:
    done = _active_sprint(client, {"Q-1": 2}, name="done")
    for status in ("in_progress", "completed"):
        client.post("/projects/alpha/tasks/Q-1/status", json={"status": status})
    _post(client, f"/sprints/{done}/close", {"move_open_tasks_to": None}, status=200)
    later = _active_sprint(client, {}, name="later")
    with psycopg.connect(db_url) as conn:
        (last,) = conn.execute("SELECT max(id) FROM sprint_membership_events").fetchone() or (0,)
        # a session naming the old close itself, as only the close's trigger may
        conn.execute("SELECT set_config('worktrack.closing_sprint', %s, true)", (str(done),))
        conn.execute("UPDATE tasks SET sprint_id = %s WHERE key = 'Q-1'", (later,))
        conn.commit()
        events = conn.execute(
            "SELECT e.change, e.is_close_move, e.happened_at > s.completed_at, e.happened_at > l.activated_at"
            "  FROM sprint_membership_events e, sprints s, sprints l"
            " WHERE e.id > %s AND s.id = %s AND l.id = %s ORDER BY e.id",
            (last, done, later),
        ).fetchall()
    # ordinary moves, dated now: not at the old close, and after the later sprint started
    assert events == [("left", False, True, True), ("joined", False, True, True)]


def test_the_stored_figures_are_written_only_by_a_close(client: TestClient, db_url: str) -> None:
    sprint = _active_sprint(client, {"F-1": 2})
    _post(client, f"/sprints/{sprint}/close", {"move_open_tasks_to": None}, status=200)
    before = _report(db_url, sprint)
    with psycopg.connect(db_url, autocommit=True) as conn:
        for statement in (
            "INSERT INTO sprint_frozen_tasks SELECT * FROM sprint_frozen_tasks ON CONFLICT DO NOTHING",
            "INSERT INTO sprint_frozen_days SELECT * FROM sprint_frozen_days ON CONFLICT DO NOTHING",
            "TRUNCATE sprint_frozen_tasks",
            "TRUNCATE sprint_frozen_days",
            f"SELECT sprint_freeze({sprint})",
        ):
            with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="stored by its close"):
                conn.execute(statement)
    assert _report(db_url, sprint) == before


def test_an_active_sprints_time_zone_is_fixed(client: TestClient) -> None:
    sprint = _active_sprint(client, {})
    changed = client.patch(f"/sprints/{sprint}", json={"timezone": "Pacific/Kiritimati"})
    assert changed.status_code == 409, changed.text
    assert changed.json()["detail"] == "the sprint has started: its time zone is fixed"
    assert client.patch(f"/sprints/{sprint}", json={"end_date": "2030-01-01"}).status_code == 200
