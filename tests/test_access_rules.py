"""The rules of access beyond a role on a project: sprint reports for project roles,
the history actor of a token's changes, an agent token limited to the tasks its agent
holds, and the stdio MCP server checking its token on every call."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import anyio
import psycopg
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from starlette.testclient import TestClient

from service import access
from service.app import create_app
from tests.helpers import TEST_POOL, admin_token, make_token
from tests.test_mcp_server import ok, status


@pytest.fixture
def app_client(db_url: str) -> Iterator[TestClient]:
    """Projects alpha (tasks T-1, T-2) and beta (task B-1), no token set."""
    access.forget_cached()
    with TestClient(
        create_app(db_url, TEST_POOL), base_url="http://localhost", raise_server_exceptions=False
    ) as client:
        admin = {"Authorization": f"Bearer {admin_token(db_url)}"}
        for key in ("alpha", "beta"):
            assert client.post("/projects", json={"key": key, "name": key}, headers=admin).status_code == 201
        client.post(
            "/projects/alpha/tasks/bulk",
            json=[{"key": "T-1", "title": "a", "priority": 9}, {"key": "T-2", "title": "b", "priority": 1}],
            headers=admin,
        )
        client.post("/projects/beta/tasks", json={"key": "B-1", "title": "c"}, headers=admin)
        client.headers.update(admin)
        yield client


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_sprint_report_is_read_with_read_on_a_project_of_the_sprint(
    app_client: TestClient, db_url: str
) -> None:
    client = app_client
    in_alpha = client.post("/sprints", json={"jira_sprint_id": 1, "name": "A"}).json()["id"]
    in_beta = client.post("/sprints", json={"jira_sprint_id": 2, "name": "B"}).json()["id"]
    assert client.patch("/projects/alpha/tasks/T-1", json={"sprint": in_alpha}).status_code == 200
    assert client.patch("/projects/beta/tasks/B-1", json={"sprint": in_beta}).status_code == 200
    reader = _as(make_token(db_url, "reader", "read", ["alpha"]))
    agent = _as(make_token(db_url, "agent", "agent", ["alpha"]))

    mine = client.get(f"/sprints/{in_alpha}/report", headers=reader)
    assert mine.status_code == 200, mine.text
    assert client.get(f"/sprints/{in_alpha}/report", headers=agent).status_code == 200
    theirs = client.get(f"/sprints/{in_beta}/report", headers=reader)
    missing = client.get("/sprints/999/report", headers=reader)
    # a sprint of none of the token's projects answers as one that does not exist
    assert (theirs.status_code, theirs.json()["detail"]) == (404, f"sprint {in_beta} does not exist")
    assert (missing.status_code, missing.json()["detail"]) == (404, "sprint 999 does not exist")
    assert client.get(f"/ui/sprints/{in_alpha}", headers=reader).status_code == 200
    assert client.get(f"/ui/sprints/{in_beta}", headers=reader).status_code == 404
    # the rest of the sprint side stays for admins
    assert client.get(f"/sprints/{in_alpha}", headers=reader).status_code == 403
    assert client.post("/sprints", json={"jira_sprint_id": 3, "name": "C"}, headers=reader).status_code == 403
    assert client.post(f"/sprints/{in_alpha}/start", json={}, headers=reader).status_code == 403
    assert client.get(f"/sprints/{in_beta}/report").status_code == 200  # admin


def _history(client: TestClient, project: str, key: str) -> list[tuple[str, str]]:
    items = client.get(f"/projects/{project}/tasks/{key}/history").json()["items"]
    return [(item["to_status"], item["actor"]) for item in items]


def test_a_snapshot_burndown_shows_only_the_tokens_workstreams(app_client: TestClient, db_url: str) -> None:
    """A sprint known only by metric snapshots (no membership history of the reader's
    projects): its burndown sums the reader's workstreams, not the other project's."""
    client = app_client
    ids = {}
    for project in ("alpha", "beta"):
        made = client.post("/workstreams", json={"project": project, "name": project})
        assert made.status_code == 201, made.text
        ids[project] = made.json()["id"]
    sprint = client.post(
        "/sprints",
        json={"jira_sprint_id": 1, "name": "Shared", "start_date": "2026-11-30", "end_date": "2026-12-10"},
    ).json()["id"]
    assert client.put(f"/sprints/{sprint}/workstreams/{ids['alpha']}", json={}).is_success
    assert client.put(
        f"/sprints/{sprint}/workstreams/{ids['beta']}", json={"association_type": "secondary"}
    ).is_success
    for project, total, done in (("alpha", 10, 1), ("beta", 777, 111)):
        snapshot = {"workstream_id": ids[project], "snapshot_at": "2026-12-01T10:00:00Z"}
        answer = client.post(
            f"/sprints/{sprint}/metrics",
            json={**snapshot, "story_points_total": total, "story_points_completed": done},
        )
        assert answer.status_code == 201, answer.text
    assert client.post(f"/sprints/{sprint}/start", json={"activated_at": "2026-11-30T09:00:00Z"}).is_success
    reader = _as(make_token(db_url, "reader", "read", ["alpha"]))
    mine = client.get(f"/sprints/{sprint}/report", headers=reader).json()
    everyone = client.get(f"/sprints/{sprint}/report").json()  # admin
    assert mine["commitment"]["points"] == 10
    days = {d["scope_points"] for d in mine["burndown"]} - {None}
    assert days == {10}, mine["burndown"]
    assert {d["scope_points"] for d in everyone["burndown"]} - {None} == {787}


def test_history_names_the_token_unless_the_request_names_an_agent(
    app_client: TestClient, db_url: str
) -> None:
    client = app_client
    writer = _as(make_token(db_url, "ci-writer", "write", ["alpha"]))
    assert (
        client.post("/projects/alpha/tasks", json={"key": "T-5", "title": "x"}, headers=writer).status_code
        == 201
    )
    moved = client.post("/projects/alpha/tasks/T-5/status", json={"status": "blocked"}, headers=writer)
    assert moved.status_code == 200, moved.text
    claimed = client.post("/tasks/claim", json={"project": "alpha", "agent": "bot-7"}, headers=writer)
    assert claimed.json()["key"] == "T-1"
    assert client.post(
        "/projects/alpha/tasks/T-1/status", json={"status": "in_review", "agent": "bot-7"}, headers=writer
    ).is_success
    assert _history(client, "alpha", "T-5") == [("pending", "ci-writer"), ("blocked", "ci-writer")]
    assert _history(client, "alpha", "T-1")[1:] == [("in_progress", "bot-7"), ("in_review", "bot-7")]


def test_only_an_admin_token_names_the_actor_of_a_change(app_client: TestClient, db_url: str) -> None:
    client = app_client
    writer = _as(make_token(db_url, "ci-writer", "write", ["alpha"]))
    forged = client.post(
        "/projects/alpha/tasks/T-2/status", json={"status": "blocked", "actor": "admin"}, headers=writer
    )
    assert forged.status_code == 403, forged.text
    assert forged.json()["detail"].startswith("only an admin token names the actor of a change")
    assert [status for status, _ in _history(client, "alpha", "T-2")] == ["pending"]  # nothing changed
    named = client.post("/projects/alpha/tasks/T-2/status", json={"status": "blocked", "actor": "dana"})
    assert named.status_code == 200, named.text
    assert _history(client, "alpha", "T-2")[-1] == ("blocked", "dana")


def test_a_project_token_puts_tasks_only_into_sprints_it_can_see(app_client: TestClient, db_url: str) -> None:
    client = app_client
    in_alpha = client.post("/sprints", json={"jira_sprint_id": 1, "name": "A"}).json()["id"]
    in_beta = client.post("/sprints", json={"jira_sprint_id": 2, "name": "B"}).json()["id"]
    assert client.patch("/projects/alpha/tasks/T-2", json={"sprint": in_alpha}).status_code == 200
    assert client.patch("/projects/beta/tasks/B-1", json={"sprint": in_beta}).status_code == 200
    writer = _as(make_token(db_url, "writer", "write", ["alpha"]))

    theirs = client.patch("/projects/alpha/tasks/T-1", json={"sprint": in_beta}, headers=writer)
    assert (theirs.status_code, theirs.json()["detail"]) == (404, f"sprint {in_beta} does not exist")
    made = client.post(
        "/projects/alpha/tasks", json={"key": "T-3", "title": "x", "sprint": in_beta}, headers=writer
    )
    assert made.status_code == 404
    assert (
        client.patch("/projects/alpha/tasks/T-1", json={"sprint": in_alpha}, headers=writer).status_code
        == 200
    )
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT t.key, s.name FROM tasks t JOIN sprints s ON s.id = t.sprint_id ORDER BY t.key"
        ).fetchall()
    assert rows == [("B-1", "B"), ("T-1", "A"), ("T-2", "A")]
    # the sprint of the other project stays as unseen as before
    reader = _as(make_token(db_url, "reader", "read", ["alpha"]))
    assert client.get(f"/sprints/{in_beta}/report", headers=reader).status_code == 404


def test_an_agent_token_creates_work_still_to_do_in_no_sprint(app_client: TestClient, db_url: str) -> None:
    client = app_client
    sprint = client.post("/sprints", json={"jira_sprint_id": 1, "name": "A"}).json()["id"]
    agent = _as(make_token(db_url, "agent", "agent", ["alpha"]))

    def create(body: dict[str, object]) -> int:
        return client.post(
            "/projects/alpha/tasks", json={"title": "found", **body}, headers=agent
        ).status_code

    assert create({"key": "T-7", "status": "completed", "story_points": 99}) == 403
    assert create({"key": "T-8", "sprint": sprint}) == 403
    bulk = client.post(
        "/projects/alpha/tasks/bulk",
        json=[{"key": "T-9", "title": "a"}, {"key": "T-10", "title": "b", "status": "in_review"}],
        headers=agent,
    )
    assert bulk.status_code == 403
    assert create({"key": "T-11"}) == 201 and create({"key": "T-12", "status": "blocked"}) == 201
    with psycopg.connect(db_url) as conn:
        keys = conn.execute("SELECT key FROM tasks WHERE key LIKE 'T-%' ORDER BY id").fetchall()
    assert [k for (k,) in keys] == ["T-1", "T-2", "T-11", "T-12"]


def test_a_stale_project_id_does_not_skip_the_agents_hold_check(app_client: TestClient, db_url: str) -> None:
    """A project deleted and made again outside this worker (SQL, another worker)
    gets a new id; the hold check finds the stale id out as every statement does."""
    client = app_client
    agent = _as(make_token(db_url, "agent", "agent", ["alpha"]))
    assert client.get("/projects/alpha/tasks/T-1", headers=agent).status_code == 200  # id cached
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DELETE FROM projects WHERE key = 'alpha'")
        conn.execute("INSERT INTO projects (key, name) VALUES ('alpha', 'alpha again')")
        conn.execute(
            "INSERT INTO tasks (project_id, key, title, status)"
            " SELECT id, 'T-1', 'again', 'in_review' FROM projects WHERE key = 'alpha'"
        )
    again = _as(make_token(db_url, "agent-again", "agent", ["alpha"]))
    changed = client.post(
        "/projects/alpha/tasks/T-1/status", json={"status": "completed", "agent": "mallory"}, headers=again
    )
    assert changed.status_code == 403, changed.text
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT status FROM tasks WHERE key = 'T-1'").fetchall() == [("in_review",)]


def test_an_agent_token_changes_the_status_only_of_tasks_its_agent_holds(
    app_client: TestClient, db_url: str
) -> None:
    client = app_client
    agent = _as(make_token(db_url, "agent", "agent", ["alpha"]))
    writer = _as(make_token(db_url, "writer", "write", ["alpha"]))
    claimed = client.post("/tasks/claim", json={"project": "alpha", "agent": "bot-1"}, headers=agent)
    assert claimed.json()["key"] == "T-1"

    def change(key: str, body: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        answer = client.post(f"/projects/alpha/tasks/{key}/status", json=body, headers=headers)
        return answer.status_code, answer.json().get("detail", "")

    assert change("T-1", {"status": "completed"}, agent) == (
        403,
        "an agent token names the agent that holds the task (agent) to change its status",
    )
    assert change("T-1", {"status": "completed", "agent": "bot-2"}, agent) == (
        403,
        "an agent token changes the status only of tasks its agent holds; 'bot-2' does not hold 'T-1'",
    )
    # a task nobody holds: an agent token may not move it, a write token may
    assert change("T-2", {"status": "cancelled", "agent": "bot-1"}, agent)[0] == 403
    assert change("T-9", {"status": "cancelled", "agent": "bot-1"}, agent)[0] == 404
    assert change("T-2", {"status": "blocked"}, writer)[0] == 200
    held = client.post("/projects/alpha/tasks/T-1/heartbeat", json={"agent": "bot-2"}, headers=agent)
    assert held.status_code == 409
    assert client.post(
        "/projects/alpha/tasks/T-1/heartbeat", json={"agent": "bot-1"}, headers=agent
    ).is_success
    assert change("T-1", {"status": "completed", "agent": "bot-1"}, agent)[0] == 200
    # once done, the agent holds it no more
    assert change("T-1", {"status": "in_progress", "agent": "bot-1"}, agent)[0] == 403
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT key, status FROM tasks WHERE key IN ('T-1', 'T-2') ORDER BY key"
        ).fetchall()
    assert rows == [("T-1", "completed"), ("T-2", "blocked")]


def test_mcp_over_stdio_checks_its_token_on_every_call(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO projects (key, name) VALUES ('alpha', 'Alpha')")
        conn.execute("INSERT INTO tasks (project_id, key, title) SELECT id, 'T-1', 'one' FROM projects")
    reader = make_token(db_url, "reader", "read", ["alpha"])
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "service.cli", "mcp", "--no-migrate"],
        env={"DATABASE_URL": db_url, "WORKTRACK_TOKEN": reader},
    )

    async def main() -> None:
        with open("/dev/null", "w") as quiet:
            async with (
                stdio_client(params, errlog=quiet) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                assert (await ok(session, "get_task", project="alpha", key="T-1"))["key"] == "T-1"
                with psycopg.connect(db_url, autocommit=True) as conn:
                    conn.execute("UPDATE api_tokens SET revoked_at = now() WHERE name = 'reader'")
                assert await status(session, "get_task", project="alpha", key="T-1") == 401
                with psycopg.connect(db_url, autocommit=True) as conn:
                    conn.execute(
                        "UPDATE api_tokens SET revoked_at = NULL, created_at = now() - interval '2 days',"
                        " expires_at = now() - interval '1 day' WHERE name = 'reader'"
                    )
                assert await status(session, "get_task", project="alpha", key="T-1") == 401

    anyio.run(main)
