"""Tasks through the ASGI app: create, bulk, filters, pagination, status, history,
dependencies, export, and how errors are answered."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from service import access
from service.app import create_app
from service.db import translate
from service.errors import Unprocessable
from tests.helpers import CLIENT_TOKEN, TEST_POOL

PROBLEM = "application/problem+json"


@pytest.fixture
def api(client: TestClient) -> TestClient:
    client.post("/projects", json={"key": "alpha", "name": "Alpha"})
    client.post("/projects", json={"key": "beta", "name": "Beta"})
    client.post("/projects/alpha/epics", json={"key": "E01", "title": "Epic"})
    client.post("/projects/alpha/features", json={"key": "E01-F01", "epic": "E01", "title": "Feature"})
    return client


def _sprint(client: TestClient, jira_sprint_id: int) -> int:
    response = client.post(
        "/sprints", json={"jira_sprint_id": jira_sprint_id, "name": f"Sprint {jira_sprint_id}"}
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _keys(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [task["key"] for task in response.json()["items"]]


def test_create_and_read_a_task_with_every_field(api: TestClient) -> None:
    sprint = _sprint(api, 12)
    payload = {
        "key": "T-E01-F01-001",
        "title": "Write the index",
        "description": "B-tree first",
        "status": "blocked",
        "priority": 8,
        "agent_type": "coder",
        "generator_name": "planner-v2",
        "inputs": ["EPIC-006", "PRD-006"],
        "expected_outputs": ["CODE-1"],
        "context_notes": "see PRD",
        "feature": "E01-F01",
        "sprint": sprint,
        "story_points": 3.5,
        "metadata": {"source": "import"},
        "blocked_reason": "waiting for review",
        "file_path": "src/index.py",
    }
    created = api.post("/projects/alpha/tasks", json=payload)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/projects/alpha/tasks/T-E01-F01-001"
    task = api.get("/projects/alpha/tasks/T-E01-F01-001").json()
    assert task == created.json()
    for field, value in payload.items():
        assert task[field] == value, field
    assert (task["project"], task["epic"], task["attempts"], task["depends_on"]) == ("alpha", "E01", 0, [])
    assert task["created_at"].endswith("+00:00")
    assert task["completed_at"] is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"key": "task-1", "title": "x"}, "body.key"),
        ({"key": "T-1", "title": "x", "priority": 11}, "body.priority"),
        ({"key": "T-1", "title": "x", "priority": "5"}, "body.priority"),
        ({"key": "T-1", "title": "x", "status": "done"}, "body.status"),
        ({"key": "T-1", "title": "x", "inputs": "PRD-1"}, "body.inputs"),
        ({"key": "T-1", "title": "x", "story_points": -1}, "body.story_points"),
        ({"key": "T-1", "title": "x", "owner": "me"}, "body.owner"),
        ({"key": "T-1", "title": "   "}, "body.title"),
    ],
)
def test_bad_task_input_is_422_and_writes_nothing(
    api: TestClient, payload: dict[str, Any], field: str
) -> None:
    response = api.post("/projects/alpha/tasks", json=payload)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert field in [error["field"] for error in response.json()["errors"]]
    assert _keys(api.get("/projects/alpha/tasks")) == []


def test_create_errors_name_what_is_missing_or_taken(api: TestClient) -> None:
    assert api.post("/projects/nope/tasks", json={"key": "T-1", "title": "x"}).json()["detail"] == (
        "project 'nope' does not exist"
    )
    unknown = api.post("/projects/alpha/tasks", json={"key": "T-1", "title": "x", "feature": "E01-F09"})
    assert unknown.status_code == 404
    assert unknown.json()["errors"] == [{"field": "body.feature", "message": "no feature 'E01-F09'"}]
    assert api.post("/projects/alpha/tasks", json={"key": "T-1", "title": "x"}).status_code == 201
    taken = api.post("/projects/alpha/tasks", json={"key": "T-1", "title": "again"})
    assert taken.status_code == 409
    assert taken.json()["detail"] == "a task with this key already exists in the project"
    assert (
        api.post("/projects/beta/tasks", json={"key": "T-1", "title": "same key, other project"}).status_code
        == 201
    )
    assert (
        api.post("/projects/alpha/tasks", json={"key": "T-2", "title": "x", "assignee": 999}).status_code
        == 404
    )


def test_bulk_create_is_all_or_none(api: TestClient) -> None:
    good = [{"key": f"T-{n}", "title": f"task {n}", "priority": n % 10 + 1} for n in range(100)]
    created = api.post("/projects/alpha/tasks/bulk", json=good)
    assert created.status_code == 201
    assert [t["key"] for t in created.json()["items"]] == [f"T-{n}" for n in range(100)]

    clash = [{"key": "T-200", "title": "new"}, {"key": "T-5", "title": "exists"}]
    assert api.post("/projects/alpha/tasks/bulk", json=clash).status_code == 409
    bad_feature = [{"key": "T-300", "title": "new"}, {"key": "T-301", "title": "x", "feature": "E07-F01"}]
    assert api.post("/projects/alpha/tasks/bulk", json=bad_feature).status_code == 404
    invalid = [{"key": "T-400", "title": "new"}, {"key": "T-401", "title": "x", "priority": 0}]
    response = api.post("/projects/alpha/tasks/bulk", json=invalid)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.1.priority"
    twice = api.post(
        "/projects/alpha/tasks/bulk", json=[{"key": "T-500", "title": "a"}, {"key": "T-500", "title": "b"}]
    )
    assert twice.status_code == 422
    assert api.post("/projects/alpha/tasks/bulk", json=[]).status_code == 422
    assert len(_keys(api.get("/projects/alpha/tasks", params={"limit": 500}))) == 100


def test_list_filters(api: TestClient) -> None:
    sprint = _sprint(api, 4)
    api.post(
        "/projects/alpha/tasks/bulk",
        json=[
            {
                "key": "T-1",
                "title": "Parse the PRD",
                "agent_type": "coder",
                "priority": 9,
                "inputs": ["EPIC-006", "PRD-006"],
                "feature": "E01-F01",
            },
            {
                "key": "T-2",
                "title": "Review",
                "description": "100% of the parser",
                "agent_type": "reviewer",
                "priority": 3,
                "status": "blocked",
                "sprint": sprint,
            },
            {"key": "T-3", "title": "Ship", "agent_type": "coder", "priority": 5, "inputs": ["PRD-007"]},
        ],
    )
    api.post("/projects/beta/tasks", json={"key": "T-1", "title": "Parse elsewhere", "agent_type": "coder"})
    tasks = "/projects/alpha/tasks"
    assert _keys(api.get(tasks, params={"status": "pending"})) == ["T-1", "T-3"]
    assert _keys(api.get(tasks, params={"status": "blocked,pending"})) == ["T-1", "T-2", "T-3"]
    assert _keys(api.get(tasks, params={"agent_type": "coder"})) == ["T-1", "T-3"]
    assert _keys(api.get(tasks, params={"priority_min": 4, "priority_max": 8})) == ["T-3"]
    assert _keys(api.get(tasks, params={"feature": "E01-F01"})) == ["T-1"]
    assert _keys(api.get(tasks, params={"epic": "E01"})) == ["T-1"]
    assert _keys(api.get(tasks, params={"sprint": sprint})) == ["T-2"]
    assert _keys(api.get(tasks, params={"input": "PRD-006"})) == ["T-1"]
    assert _keys(api.get(tasks, params={"q": "parse"})) == ["T-1", "T-2"]
    assert _keys(api.get(tasks, params={"q": "100%"})) == ["T-2"]
    assert _keys(api.get(tasks, params={"q": "1_0"})) == []  # wildcards are literal
    everywhere = api.get("/tasks", params={"agent_type": "coder"}).json()["items"]
    assert [(t["project"], t["key"]) for t in everywhere] == [
        ("alpha", "T-1"),
        ("alpha", "T-3"),
        ("beta", "T-1"),
    ]
    assert _keys(api.get("/tasks", params={"project": "beta"})) == ["T-1"]
    assert api.get("/tasks", params={"project": "nope"}).status_code == 404
    for bad in (
        {"status": "pending,done"},
        {"priority_min": 0},
        {"priority_min": 9, "priority_max": 2},
        {"limit": 501},
        {"after": "nonsense"},
        {"sprint": "x"},
        {"colour": "red"},
    ):
        response = api.get(tasks, params=bad)
        assert response.status_code == 422, bad
        assert response.json()["errors"], bad


def test_keyset_pagination_returns_every_row_once_while_rows_arrive(api: TestClient) -> None:
    api.post("/projects/alpha/tasks/bulk", json=[{"key": f"T-{n}", "title": "x"} for n in range(25)])
    seen: list[str] = []
    cursor = None
    added = 0
    while True:
        params: dict[str, Any] = {"limit": 7}
        if cursor:
            params["after"] = cursor
        page = api.get("/projects/alpha/tasks", params=params).json()
        seen += [task["key"] for task in page["items"]]
        if added < 3:  # a new task arrives between pages; it sorts after every row seen
            api.post("/projects/alpha/tasks", json={"key": f"T-NEW-{added}", "title": "late"})
            added += 1
        cursor = page["next"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 28
    assert set(seen) == {f"T-{n}" for n in range(25)} | {f"T-NEW-{n}" for n in range(3)}


def test_patch_changes_only_the_fields_sent(api: TestClient) -> None:
    sprint = _sprint(api, 3)
    api.post(
        "/projects/alpha/tasks", json={"key": "T-1", "title": "x", "description": "d", "feature": "E01-F01"}
    )
    patched = api.patch(
        "/projects/alpha/tasks/T-1", json={"priority": 2, "description": None, "sprint": sprint}
    )
    assert patched.status_code == 200
    task = patched.json()
    assert (task["priority"], task["description"], task["sprint"], task["title"], task["feature"]) == (
        2,
        None,
        sprint,
        "x",
        "E01-F01",
    )
    assert api.patch("/projects/alpha/tasks/T-1", json={"feature": None}).json()["feature"] is None
    assert api.patch("/projects/alpha/tasks/T-1", json={"feature": "E01-F77"}).status_code == 404
    assert api.patch("/projects/alpha/tasks/T-1", json={"status": "completed"}).status_code == 422
    assert api.patch("/projects/alpha/tasks/T-1", json={"title": None}).status_code == 422
    assert api.patch("/projects/alpha/tasks/T-9", json={"title": "y"}).status_code == 404


def test_status_changes_write_history_and_refuse_what_the_lifecycle_forbids(api: TestClient) -> None:
    api.post("/projects/alpha/tasks", json={"key": "T-1", "title": "x"})
    path = "/projects/alpha/tasks/T-1"
    refused = api.post(f"{path}/status", json={"status": "completed"})
    assert refused.status_code == 409
    assert refused.json()["detail"] == "task T-1 cannot move from pending to completed"
    started = api.post(f"{path}/status", json={"status": "in_progress", "actor": "ann", "note": "on it"})
    assert started.json()["started_at"] is not None
    done = api.post(f"{path}/status", json={"status": "completed", "note": "merged"})
    assert done.json()["completed_at"] is not None
    assert done.json()["completion_notes"] == "merged"
    reopened = api.post(f"{path}/status", json={"status": "in_progress"})
    assert reopened.json()["completed_at"] is None
    history = api.get(f"{path}/history").json()
    assert history["next"] is None
    assert [(h["from_status"], h["to_status"], h["actor"], h["note"]) for h in history["items"]] == [
        (None, "pending", CLIENT_TOKEN, None),
        ("pending", "in_progress", "ann", "on it"),
        ("in_progress", "completed", CLIENT_TOKEN, "merged"),
        ("completed", "in_progress", CLIENT_TOKEN, None),
    ]
    assert api.post(f"{path}/status", json={"status": "paused"}).status_code == 422
    assert api.post("/projects/alpha/tasks/T-9/status", json={"status": "blocked"}).status_code == 404
    assert api.get("/projects/alpha/tasks/T-9/history").status_code == 404


def test_project_history_feed_is_newest_first_with_since_and_pages(api: TestClient) -> None:
    api.post("/projects/alpha/tasks/bulk", json=[{"key": f"T-{n}", "title": "x"} for n in range(3)])
    first_batch = api.get("/projects/alpha/history").json()["items"]
    since = first_batch[0]["changed_at"]
    api.post("/projects/alpha/tasks/T-1/status", json={"status": "blocked"})
    api.post("/projects/alpha/tasks/T-2/status", json={"status": "cancelled"})
    feed = api.get("/projects/alpha/history", params={"since": since}).json()["items"]
    assert [(h["task"], h["to_status"]) for h in feed] == [("T-2", "cancelled"), ("T-1", "blocked")]
    pages: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["after"] = cursor
        page = api.get("/projects/alpha/history", params=params).json()
        pages += [f"{h['task']}:{h['to_status']}" for h in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    assert len(pages) == len(set(pages)) == 5
    assert api.get("/projects/alpha/history", params={"since": "yesterday"}).status_code == 422
    assert api.get("/projects/nope/history").status_code == 404


def test_dependencies(api: TestClient) -> None:
    api.post("/projects/alpha/tasks/bulk", json=[{"key": f"T-{n}", "title": "x"} for n in range(3)])
    deps = "/projects/alpha/tasks/{}/dependencies/{}"
    added = api.put(deps.format("T-1", "T-0"))
    assert added.status_code == 201 and added.json() == {"task": "T-1", "depends_on": "T-0", "created": True}
    assert api.put(deps.format("T-1", "T-0")).status_code == 200  # already there
    assert api.put(deps.format("T-2", "T-1")).status_code == 201
    cycle = api.put(deps.format("T-0", "T-2"))
    assert cycle.status_code == 409 and cycle.json()["detail"] == "this dependency would close a cycle"
    assert api.put(deps.format("T-0", "T-0")).status_code == 422
    missing = api.put(deps.format("T-1", "T-9"))
    assert (
        missing.status_code == 404
        and missing.json()["detail"] == "task 'T-9' does not exist in project 'alpha'"
    )
    api.post("/projects/beta/tasks", json={"key": "T-7", "title": "elsewhere"})
    assert api.put(deps.format("T-1", "T-7")).status_code == 404  # never across projects
    assert api.get("/projects/alpha/tasks/T-1").json()["depends_on"] == ["T-0"]
    assert api.delete(deps.format("T-1", "T-0")).status_code == 204
    assert api.delete(deps.format("T-1", "T-0")).status_code == 404
    assert api.get("/projects/alpha/tasks/T-1").json()["depends_on"] == []


def test_delete_a_task(api: TestClient) -> None:
    api.post("/projects/alpha/tasks", json={"key": "T-1", "title": "x"})
    assert api.delete("/projects/alpha/tasks/T-1").status_code == 204
    assert api.get("/projects/alpha/tasks/T-1").status_code == 404
    assert api.delete("/projects/alpha/tasks/T-1").status_code == 404


def test_export_holds_the_whole_project(api: TestClient) -> None:
    api.post(
        "/projects/alpha/tasks/bulk",
        json=[{"key": "T-1", "title": "a", "feature": "E01-F01"}, {"key": "T-2", "title": "b"}],
    )
    api.put("/projects/alpha/tasks/T-2/dependencies/T-1")
    api.post("/projects/alpha/tasks/T-1/status", json={"status": "in_progress"})
    exported = api.get("/projects/alpha/export")
    assert exported.status_code == 200
    doc = exported.json()
    assert doc["project"]["key"] == "alpha"
    assert [e["key"] for e in doc["epics"]] == ["E01"]
    assert [f["key"] for f in doc["features"]] == ["E01-F01"]
    assert [t["key"] for t in doc["tasks"]] == ["T-1", "T-2"]
    assert doc["dependencies"] == [{"task": "T-2", "depends_on": "T-1"}]
    assert [(h["task"], h["to_status"]) for h in doc["history"]] == [
        ("T-1", "pending"),
        ("T-2", "pending"),
        ("T-1", "in_progress"),
    ]
    assert api.get("/projects/beta/export").json()["tasks"] == []
    assert api.get("/projects/nope/export").status_code == 404


def test_a_check_violation_the_validation_missed_is_422_naming_the_rule(
    conn: psycopg.Connection[Any],
) -> None:
    conn.execute("INSERT INTO projects (key, name) VALUES ('p', 'P')")
    with pytest.raises(psycopg.errors.CheckViolation) as caught:
        conn.execute(
            "INSERT INTO tasks (project_id, key, title, priority) SELECT id, 'T-1', 'x', 42 FROM projects"
        )
    error = translate(caught.value)
    assert isinstance(error, Unprocessable)
    assert error.detail == "the change breaks the rule: tasks priority range"


def test_an_unreachable_database_is_503_with_retry_after() -> None:
    unreachable = "host=127.0.0.1 port=1 dbname=nothing user=nobody connect_timeout=1"
    settings = TEST_POOL.__class__(**{**TEST_POOL.__dict__, "timeout": 0.5})
    # A well-formed token: checking it is the first thing that needs the database.
    bearer = {"Authorization": f"Bearer {access.new_token()}"}
    with TestClient(create_app(unreachable, settings), base_url="http://localhost", headers=bearer) as client:
        response = client.get("/projects/alpha/tasks/T-1")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["retry-after"] == "1"
    assert "Traceback" not in response.text
