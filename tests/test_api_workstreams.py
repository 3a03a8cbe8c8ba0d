"""Workstreams, their part in sprints and their metric snapshots through the ASGI app."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient


def _post(client: TestClient, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


def test_workstreams_associations_and_metrics(client: TestClient) -> None:
    _post(client, "/projects", {"key": "alpha", "name": "Alpha"})
    _post(client, "/projects", {"key": "beta", "name": "Beta"})
    alpha = _post(client, "/workstreams", {"project": "ALPHA", "name": "Alpha board", "jira_board_id": 7})
    assert alpha["project"] == "alpha" and "project_id" not in alpha  # the key as stored
    beta = _post(client, "/workstreams", {"project": "beta", "name": "Beta board"})
    second = client.post("/workstreams", json={"project": "alpha", "name": "Another active one"})
    assert second.status_code == 409
    assert second.json()["detail"] == "the project already has an active workstream"
    assert client.post("/workstreams", json={"project": "nope", "name": "x"}).status_code == 404
    assert [w["project"] for w in client.get("/workstreams", params={"project": "beta"}).json()["items"]] == [
        "beta"
    ]
    assert client.patch(f"/workstreams/{beta['id']}", json={"category": "c"}).json()["project"] == "beta"
    sprint = _post(client, "/sprints", {"jira_sprint_id": 601, "name": "Meta"})
    path = f"/sprints/{sprint['id']}/workstreams"

    added = client.put(f"{path}/{alpha['id']}", json={"association_type": "primary"})
    assert added.status_code == 201
    assert (added.json()["project"], added.json()["workstream"]) == ("alpha", "Alpha board")
    assert (
        client.put(f"{path}/{alpha['id']}", json={"association_type": "primary", "priority": 1}).status_code
        == 200
    )
    two_primaries = client.put(f"{path}/{beta['id']}", json={"association_type": "primary"})
    assert two_primaries.status_code == 409
    assert client.put(f"{path}/{beta['id']}", json={"association_type": "secondary"}).status_code == 201
    listed = client.get(path).json()["items"]
    assert [(a["project"], a["association_type"]) for a in listed] == [
        ("alpha", "primary"),
        ("beta", "secondary"),
    ]
    assert [s["name"] for s in client.get("/sprints", params={"project": "beta"}).json()["items"]] == ["Meta"]
    no_sprint = client.put(f"/sprints/999999/workstreams/{alpha['id']}", json={})
    assert no_sprint.status_code == 404
    assert no_sprint.json()["detail"] == "sprint 999999 does not exist"
    assert client.put(f"{path}/999999", json={"association_type": "dependency"}).status_code == 404

    metrics = f"/sprints/{sprint['id']}/metrics"
    _post(
        client, metrics, {"workstream_id": alpha["id"], "story_points_total": 10, "story_points_completed": 3}
    )
    bad = client.post(
        metrics, json={"workstream_id": alpha["id"], "story_points_total": 1, "story_points_completed": 3}
    )
    assert bad.status_code == 422
    client.put(f"{path}/{beta['id']}", json={"association_type": "secondary", "is_active": False})
    inactive = client.post(metrics, json={"workstream_id": beta["id"]})
    assert inactive.status_code == 409
    assert inactive.json()["detail"] == "the workstream takes no active part in this sprint"
    gamma = _post(client, "/sprints", {"jira_sprint_id": 602, "name": "Other"})
    assert (
        client.post(f"/sprints/{gamma['id']}/metrics", json={"workstream_id": alpha["id"]}).status_code == 409
    )
    no_workstream = client.post(metrics, json={"workstream_id": 999999})
    assert no_workstream.status_code == 404
    assert no_workstream.json()["detail"] == "workstream 999999 does not exist"
    no_sprint = client.post("/sprints/999999/metrics", json={"workstream_id": alpha["id"]})
    assert no_sprint.json()["detail"] == "sprint 999999 does not exist"
    assert len(client.get(metrics).json()["items"]) == 1

    assert client.delete(f"/sprints/{sprint['id']}").status_code == 204
    assert client.get(f"/workstreams/{alpha['id']}").status_code == 200  # workstreams outlive sprints
