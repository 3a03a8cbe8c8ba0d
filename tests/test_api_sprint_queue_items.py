"""Each person's queue of work in a sprint, through the ASGI app."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient


def _post(client: TestClient, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


def test_sprint_queue_items(client: TestClient) -> None:
    _post(client, "/projects", {"key": "Alpha", "name": "Alpha"})
    sprint = _post(client, "/sprints", {"jira_sprint_id": 601, "name": "Meta"})
    user = _post(client, "/users", {"email": "dev@example.org", "username": "dev"})
    client.post("/projects/alpha/tasks", json={"key": "T-1", "title": "queued"})
    path = f"/sprints/{sprint['id']}/queue"
    item = _post(client, path, {"user_id": user["id"], "project": "alpha", "task": "T-1"})
    assert (item["position"], item["project"], item["task"]) == (1, "Alpha", "T-1")
    assert "task_id" not in item and "task_project_id" not in item
    assert _post(client, path, {"user_id": user["id"], "notes": "review"})["position"] == 2
    queue = client.get(path).json()["items"]
    assert [(q["position"], q["project"], q["task"]) for q in queue] == [(1, "Alpha", "T-1"), (2, None, None)]

    no_task = client.post(path, json={"user_id": user["id"], "project": "alpha", "task": "T-9"})
    assert no_task.status_code == 404
    assert no_task.json()["errors"][0]["field"] == "body.task"
    no_project = client.post(path, json={"user_id": user["id"], "project": "nope", "task": "T-1"})
    assert no_project.status_code == 404
    assert no_project.json()["detail"] == "project 'nope' does not exist"
    no_sprint = client.post("/sprints/999999/queue", json={"user_id": user["id"], "notes": "x"})
    assert no_sprint.status_code == 404
    assert no_sprint.json()["detail"] == "sprint 999999 does not exist"
    half = client.post(path, json={"user_id": user["id"], "task": "T-1"})
    assert half.status_code == 422
    assert half.json()["errors"] == [
        {"field": "body", "message": "name a task by both project and task, or neither"}
    ]
    assert client.post(path, json={"user_id": 999999, "notes": "x"}).status_code == 404
    assert len(client.get(path).json()["items"]) == 2

    refused = client.delete(f"/sprints/{sprint['id']}")
    assert refused.status_code == 409  # a sprint with queue items cannot be deleted
    for entry in queue:
        assert client.delete(f"{path}/{entry['id']}").status_code == 204
    assert client.delete(f"{path}/{queue[0]['id']}").status_code == 404
    assert client.delete(f"/sprints/{sprint['id']}").status_code == 204
