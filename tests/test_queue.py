"""The agent queue against real concurrent connections: claim, next, leases."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import psycopg
import pytest
from psycopg import AsyncConnection
from starlette.testclient import TestClient

from service import access
from service.db import create_pool
from service.queries import queue
from service.routes import queue as queue_routes
from tests.helpers import CLIENT_TOKEN, TEST_POOL


def _seed(db_url: str, projects: dict[str, int], seed: int = 7) -> dict[str, dict[str, Any]]:
    """Projects with pending tasks of random priority; every tenth task depends on an
    earlier one and has the lowest priority. Returns {project/key: task facts}."""
    rng = random.Random(seed)
    facts: dict[str, dict[str, Any]] = {}
    with psycopg.connect(db_url, autocommit=True) as conn:
        for project, count in projects.items():
            (project_id,) = conn.execute(
                "INSERT INTO projects (key, name) VALUES (%s, %s) RETURNING id", (project, project)
            ).fetchone()  # type: ignore[misc]
            rows = []
            for n in range(count):
                dependent = n % 10 == 9
                priority = 1 if dependent else rng.randint(2, 10)
                rows.append((project_id, f"T-{n}", f"task {n}", priority))
                facts[f"{project}/T-{n}"] = {
                    "priority": priority,
                    "depends_on": f"T-{n - 5}" if dependent else None,
                }
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO tasks (project_id, key, title, priority) VALUES (%s, %s, %s, %s)", rows
                )
            conn.execute(
                """
                INSERT INTO task_dependencies (project_id, task_id, depends_on_id)
                SELECT t.project_id, t.id, o.id
                  FROM tasks t JOIN tasks o ON o.project_id = t.project_id
                   AND o.key = 'T-' || (substr(t.key, 3)::int - 5)
                 WHERE t.project_id = %s AND substr(t.key, 3)::int %% 10 = 9
                """,
                (project_id,),
            )
    return facts


async def _claimer(url: str, project: str, agent: str, claims: list[tuple[str, str, int]]) -> None:
    """Claim until the project has nothing ready; complete each task at once."""
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        while True:
            doc = await queue.claim_next(conn, project=project, agent=agent, lease_seconds=300)
            if doc is None:
                return
            claimed = json.loads(doc)
            assert claimed["project"] == project
            assert claimed["status"] == "in_progress" and claimed["claimed_by"] == agent
            claims.append((agent, f"{project}/{claimed['key']}", claimed["priority"]))
            await conn.execute(
                "UPDATE tasks SET status = 'completed' WHERE key = %s"
                " AND project_id = (SELECT id FROM projects WHERE key = %s)",
                (claimed["key"], project),
            )


def test_sixteen_concurrent_claimers_take_every_task_exactly_once(db_url: str) -> None:
    projects = {"alpha": 700, "beta": 700, "gamma": 600}
    facts = _seed(db_url, projects)
    claims: list[tuple[str, str, int]] = []

    async def main() -> None:
        await asyncio.gather(
            *(
                _claimer(db_url, project, f"agent-{project}-{n}", claims)
                for n, project in ((n, list(projects)[n % 3]) for n in range(16))
            )
        )

    asyncio.run(main())

    claimed_keys = [key for _, key, _ in claims]
    assert len(claimed_keys) == 2000
    assert len(set(claimed_keys)) == 2000, "a task was handed out twice"
    for agent, key, _ in claims:
        assert key.startswith(agent.split("-")[1] + "/"), f"{agent} got {key} from another project"

    # Each claimer saw the best ready task each time: its priorities never rise.
    by_agent: dict[str, list[int]] = {}
    for agent, _, priority in claims:
        by_agent.setdefault(agent, []).append(priority)
    for agent, priorities in by_agent.items():
        assert priorities == sorted(priorities, reverse=True), f"{agent} claimed out of priority order"

    # No task was claimed before the task it depends on was completed.
    with psycopg.connect(db_url) as conn:
        early = conn.execute(
            """
            SELECT t.key
              FROM task_dependencies d
              JOIN tasks t ON t.project_id = d.project_id AND t.id = d.task_id
              JOIN tasks o ON o.project_id = d.project_id AND o.id = d.depends_on_id
             WHERE t.started_at < o.completed_at
            """
        ).fetchall()
        assert early == []
        assert conn.execute("SELECT count(*) FROM tasks WHERE status <> 'completed'").fetchone() == (0,)
        assert conn.execute("SELECT sum(attempts) FROM tasks").fetchone() == (2000,)
    assert len(facts) == 2000


def test_a_claimer_never_waits_on_another_claimers_lock(db_url: str) -> None:
    _seed(db_url, {"alpha": 2})
    with psycopg.connect(db_url) as holder:
        # The holder locks the best task in an open transaction and keeps it.
        ranked = holder.execute(
            "SELECT key FROM tasks WHERE status = 'pending' ORDER BY priority DESC, created_at, id"
        ).fetchall()
        holder.execute("SELECT id FROM tasks WHERE key = %s FOR UPDATE", (ranked[0][0],))

        async def claim() -> str | None:  # a claimer that waited would fail on its lock_timeout
            async with await AsyncConnection.connect(db_url, autocommit=True) as conn:
                await conn.execute("SET lock_timeout = '100ms'")
                return await queue.claim_next(conn, project="alpha", agent="b", lease_seconds=60)

        doc = asyncio.run(claim())
        assert doc is not None
        assert json.loads(doc)["key"] == ranked[1][0]  # the next best, not the locked one
        holder.rollback()


@pytest.fixture
def api(client: TestClient) -> TestClient:
    client.post("/projects", json={"key": "alpha", "name": "Alpha"})
    client.post("/projects", json={"key": "beta", "name": "Beta"})
    return client


def test_next_returns_the_best_ready_task_and_changes_nothing(api: TestClient) -> None:
    api.post(
        "/projects/alpha/tasks/bulk",
        json=[
            {"key": "T-1", "title": "low", "priority": 2},
            {"key": "T-2", "title": "high but waiting", "priority": 9},
            {"key": "T-3", "title": "high", "priority": 8},
            {"key": "T-4", "title": "high, newer", "priority": 8},
        ],
    )
    api.put("/projects/alpha/tasks/T-2/dependencies/T-1")
    first = api.get("/tasks/next", params={"project": "alpha"})
    again = api.get("/tasks/next", params={"project": "alpha"})
    assert first.status_code == 200
    assert first.json()["key"] == "T-3"  # T-2 waits on T-1; T-3 is older than T-4
    assert again.json() == first.json()
    assert api.get("/projects/alpha/tasks/T-3").json()["status"] == "pending"
    assert api.get("/tasks/next", params={"project": "beta"}).status_code == 204
    missing = api.get("/tasks/next", params={"project": "nope"})
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert api.get("/tasks/next").status_code == 422


def test_claim_hands_out_with_a_lease_then_answers_204(api: TestClient) -> None:
    api.post("/projects/alpha/tasks", json={"key": "T-1", "title": "only"})
    claimed = api.post("/tasks/claim", json={"project": "alpha", "agent": "agent-1", "lease_seconds": 120})
    assert claimed.status_code == 200
    task = claimed.json()
    assert (task["key"], task["status"], task["claimed_by"], task["attempts"]) == (
        "T-1",
        "in_progress",
        "agent-1",
        1,
    )
    assert task["lease_expires_at"] > task["claimed_at"]
    empty = api.post("/tasks/claim", json={"project": "alpha", "agent": "agent-2"})
    assert empty.status_code == 204 and empty.content == b""
    assert api.post("/tasks/claim", json={"project": "nope", "agent": "a"}).status_code == 404
    bad = api.post("/tasks/claim", json={"project": "alpha", "agent": "a", "lease_seconds": 0})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body.lease_seconds"


def test_an_expired_lease_returns_the_task_with_attempts_and_history(api: TestClient, db_url: str) -> None:
    api.post("/projects/alpha/tasks", json={"key": "T-1", "title": "flaky"})
    assert api.post("/tasks/claim", json={"project": "alpha", "agent": "agent-1"}).status_code == 200
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE tasks SET lease_expires_at = now() - interval '1 second'")

    again = api.post("/tasks/claim", json={"project": "alpha", "agent": "agent-2"})
    assert again.status_code == 200
    assert (again.json()["claimed_by"], again.json()["attempts"]) == ("agent-2", 2)
    history = [
        (h["from_status"], h["to_status"], h["actor"], h["note"])
        for h in api.get("/projects/alpha/tasks/T-1/history").json()["items"]
    ]
    assert history == [
        (None, "pending", CLIENT_TOKEN, None),
        ("pending", "in_progress", "agent-1", "claimed"),
        ("in_progress", "pending", "lease-expiry", "lease expired"),
        ("pending", "in_progress", "agent-2", "claimed"),
    ]


def test_expired_leases_are_handed_back_once_a_second_or_when_nothing_is_ready(
    api: TestClient, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.post("/projects/alpha/tasks", json={"key": "T-1", "title": "urgent", "priority": 9})
    api.post("/projects/alpha/tasks", json={"key": "T-2", "title": "later", "priority": 2})
    api.post("/projects/alpha/tasks", json={"key": "T-3", "title": "last", "priority": 1})
    assert api.post("/tasks/claim", json={"project": "alpha", "agent": "a1"}).json()["key"] == "T-1"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE tasks SET lease_expires_at = now() - interval '1 second' WHERE key = 'T-1'")

    # Between hand-backs a claim takes what is ready and leaves the expired lease for later.
    monkeypatch.setattr(queue_routes, "RECLAIM_EVERY_SECONDS", 3600.0)
    assert api.post("/tasks/claim", json={"project": "alpha", "agent": "a2"}).json()["key"] == "T-2"
    # Once the hand-back is due, the expired task goes back first and, being first, out again.
    monkeypatch.setattr(queue_routes, "RECLAIM_EVERY_SECONDS", 0.0)
    again = api.post("/tasks/claim", json={"project": "alpha", "agent": "a3"}).json()
    assert (again["key"], again["claimed_by"], again["attempts"]) == ("T-1", "a3", 2)

    # With nothing else ready, a claim hands back expired leases at once, however recent the last.
    monkeypatch.setattr(queue_routes, "RECLAIM_EVERY_SECONDS", 3600.0)
    assert api.post("/tasks/claim", json={"project": "alpha", "agent": "a4"}).json()["key"] == "T-3"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE tasks SET lease_expires_at = now() - interval '1 second' WHERE key = 'T-2'")
    late = api.post("/tasks/claim", json={"project": "alpha", "agent": "a5"}).json()
    assert (late["key"], late["claimed_by"]) == ("T-2", "a5")
    assert api.post("/tasks/claim", json={"project": "alpha", "agent": "a6"}).status_code == 204


def test_heartbeat_extends_only_the_holders_lease(api: TestClient, db_url: str) -> None:
    api.post("/projects/alpha/tasks", json={"key": "T-1", "title": "long"})
    claimed = api.post(
        "/tasks/claim", json={"project": "alpha", "agent": "agent-1", "lease_seconds": 10}
    ).json()
    beat = api.post("/projects/alpha/tasks/T-1/heartbeat", json={"agent": "agent-1", "lease_seconds": 600})
    assert beat.status_code == 200
    assert beat.json()["lease_expires_at"] > claimed["lease_expires_at"]
    stranger = api.post("/projects/alpha/tasks/T-1/heartbeat", json={"agent": "agent-2"})
    assert stranger.status_code == 409
    assert "not in progress under agent 'agent-2'" in stranger.json()["detail"]
    assert api.post("/projects/alpha/tasks/T-9/heartbeat", json={"agent": "agent-1"}).status_code == 404
    with psycopg.connect(db_url, autocommit=True) as conn:
        (seconds,) = conn.execute("SELECT extract(epoch FROM lease_expires_at - now()) FROM tasks").fetchone()  # type: ignore[misc]
        assert 590 < seconds <= 600
        conn.execute("UPDATE tasks SET lease_expires_at = now() - interval '1 second'")
    late = api.post("/projects/alpha/tasks/T-1/heartbeat", json={"agent": "agent-1"})
    assert late.status_code == 409  # a lease that ran out is lost, even before it is reclaimed
    finish = api.post("/projects/alpha/tasks/T-1/status", json={"status": "completed", "agent": "agent-1"})
    assert finish.status_code == 409
    assert finish.json()["detail"] == "task 'T-1' is in progress but no longer held by agent 'agent-1'"
    assert api.get("/projects/alpha/tasks/T-1").json()["status"] == "in_progress"


def test_the_holder_of_a_lease_may_move_its_task_and_others_may_not(api: TestClient) -> None:
    api.post("/projects/alpha/tasks", json={"key": "T-1", "title": "work"})
    api.post("/tasks/claim", json={"project": "alpha", "agent": "agent-1"})
    other = api.post("/projects/alpha/tasks/T-1/status", json={"status": "completed", "agent": "agent-2"})
    assert other.status_code == 409
    mine = api.post("/projects/alpha/tasks/T-1/status", json={"status": "completed", "agent": "agent-1"})
    assert mine.status_code == 200
    history = api.get("/projects/alpha/tasks/T-1/history").json()["items"]
    assert (history[-1]["to_status"], history[-1]["actor"]) == ("completed", "agent-1")


def test_reclaim_takes_only_the_projects_expired_leases(db_url: str) -> None:
    _seed(db_url, {"alpha": 3, "beta": 2})
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE tasks SET status = 'in_progress', claimed_by = 'a',"
            " lease_expires_at = now() + interval '1 hour' WHERE key = 'T-0'"
        )
        conn.execute(
            "UPDATE tasks SET status = 'in_progress', claimed_by = 'a',"
            " lease_expires_at = now() - interval '1 second' WHERE key = 'T-1'"
        )  # in both projects: beta's T-1 is not alpha's to return

    async def reclaim() -> int:
        pool = create_pool(db_url, TEST_POOL)
        await pool.open()
        access.current.set(access.NOBODY_CHECKS)  # as an admin's request (row-level security)
        try:
            async with pool.connection() as conn:
                return await queue.reclaim_expired(conn, project="alpha")
        finally:
            await pool.close()

    assert asyncio.run(reclaim()) == 1
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT p.key, t.key, t.status FROM tasks t JOIN projects p ON p.id = t.project_id ORDER BY 1, 2"
        ).fetchall()
    assert rows == [
        ("alpha", "T-0", "in_progress"),
        ("alpha", "T-1", "pending"),
        ("alpha", "T-2", "pending"),
        ("beta", "T-0", "in_progress"),
        ("beta", "T-1", "in_progress"),  # expired, but beta's to return, not alpha's
    ]


def _lease_seconds(db_url: str, key: str) -> float:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT extract(epoch FROM lease_expires_at - now()) FROM tasks WHERE key = %s", (key,)
        ).fetchone()
    assert row is not None
    return float(row[0])


def test_leases_default_to_the_projects_and_stop_at_its_maximum(api: TestClient, db_url: str) -> None:
    limits = {"default_lease_seconds": 60, "max_lease_seconds": 900}
    created = api.post("/projects", json={"key": "leases", "name": "L", **limits})
    assert (created.json()["default_lease_seconds"], created.json()["max_lease_seconds"]) == (60, 900)
    api.post("/projects/leases/tasks/bulk", json=[{"key": "T-1", "title": "a"}, {"key": "T-2", "title": "b"}])
    api.post("/tasks/claim", json={"project": "leases", "agent": "a"})
    assert 50 < _lease_seconds(db_url, "T-1") <= 60
    api.post("/tasks/claim", json={"project": "leases", "agent": "a", "lease_seconds": 5000})
    assert 890 < _lease_seconds(db_url, "T-2") <= 900
    api.post("/projects/leases/tasks/T-2/heartbeat", json={"agent": "a"})
    assert 50 < _lease_seconds(db_url, "T-2") <= 60
    refused = api.patch("/projects/leases", json={"default_lease_seconds": 1000})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body.default_lease_seconds"
    assert api.patch("/projects/leases", json={"max_lease_seconds": None}).status_code == 422


def test_a_claim_within_an_epic_feature_or_agent_type_stays_within_it(api: TestClient) -> None:
    for epic in ("E01", "E02"):
        api.post("/projects/alpha/epics", json={"key": epic, "title": epic})
        api.post("/projects/alpha/features", json={"key": f"{epic}-F01", "epic": epic, "title": "f"})
    api.post(
        "/projects/alpha/tasks/bulk",
        json=[
            {"key": "T-1", "title": "top, no feature", "priority": 10, "agent_type": "reviewer"},
            {"key": "T-2", "title": "E02", "priority": 9, "feature": "E02-F01"},
            {"key": "T-3", "title": "E01", "priority": 1, "feature": "E01-F01", "agent_type": "coder"},
        ],
    )

    def claim(**within: str) -> str | None:
        answer = api.post("/tasks/claim", json={"project": "alpha", "agent": "a", **within})
        return answer.json()["key"] if answer.status_code == 200 else None

    assert claim(epic="E01") == "T-3"
    assert claim(epic="E01") is None
    assert claim(feature="E02-F01") == "T-2"
    assert claim(agent_type="coder") is None
    assert claim(agent_type="reviewer") == "T-1"
    assert claim(epic="E09") is None  # an unknown epic simply has no ready task
    bad = api.post("/tasks/claim", json={"project": "alpha", "agent": "a", "feature": "F1"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.feature"


def test_evidence_is_kept_with_the_task_and_its_history_row(api: TestClient, db_url: str) -> None:
    api.post("/projects/alpha/tasks", json={"key": "T-1", "title": "work"})
    api.post("/tasks/claim", json={"project": "alpha", "agent": "a"})
    evidence = {"commit": "abc123", "tests": "12 passed", "files": ["a.py"]}
    done = api.post(
        "/projects/alpha/tasks/T-1/status",
        json={"status": "completed", "agent": "a", "note": "ok", "evidence": evidence},
    )
    assert done.status_code == 200 and done.json()["evidence"] == evidence
    history = api.get("/projects/alpha/tasks/T-1/history").json()["items"]
    assert [h["evidence"] for h in history] == [None, None, evidence]
    not_object = api.post("/projects/alpha/tasks/T-1/status", json={"status": "in_progress", "evidence": [1]})
    assert not_object.status_code == 422 and not_object.json()["errors"][0]["field"] == "body.evidence"
    with psycopg.connect(db_url, autocommit=True) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("UPDATE tasks SET evidence = '[1]'")  # the database refuses it too


def test_links_are_listed_on_the_task_and_never_block(api: TestClient) -> None:
    api.post(
        "/projects/alpha/tasks/bulk",
        json=[{"key": "T-1", "title": "a", "priority": 9}, {"key": "T-2", "title": "found", "priority": 1}],
    )
    assert api.put("/projects/alpha/tasks/T-2/links/discovered_from/T-1").status_code == 201
    assert api.put("/projects/alpha/tasks/T-2/links/discovered_from/T-1").status_code == 200
    assert api.put("/projects/alpha/tasks/T-1/links/related/T-2").status_code == 201
    found = api.get("/projects/alpha/tasks/T-2").json()
    assert (found["discovered_from"], found["related"], found["depends_on"]) == (["T-1"], ["T-1"], [])
    assert api.get("/projects/alpha/tasks/T-1").json()["related"] == ["T-2"]
    claimed = [api.post("/tasks/claim", json={"project": "alpha", "agent": "a"}).json()["key"] for _ in "ab"]
    assert claimed == ["T-1", "T-2"]  # T-2 is ready although T-1 is not completed
    assert api.put("/projects/alpha/tasks/T-1/links/blocks/T-2").status_code == 404
    assert api.put("/projects/alpha/tasks/T-1/links/related/T-1").status_code == 422
    assert api.put("/projects/alpha/tasks/T-1/links/related/T-9").status_code == 404
    assert api.delete("/projects/alpha/tasks/T-2/links/related/T-1").status_code == 204
    assert api.get("/projects/alpha/tasks/T-1").json()["related"] == []
    assert api.delete("/projects/alpha/tasks/T-2/links/related/T-1").status_code == 404
