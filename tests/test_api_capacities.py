"""Team capacities in sprints through the ASGI app."""

from __future__ import annotations

from starlette.testclient import TestClient


def test_capacities(client: TestClient) -> None:
    sprint = client.post("/sprints", json={"jira_sprint_id": 601, "name": "Meta"}).json()
    user = client.post("/users", json={"email": "dev@example.org", "username": "dev"}).json()
    path = f"/sprints/{sprint['id']}/capacities"
    capacity = client.put(f"{path}/{user['id']}", json={"capacity_points": 8})
    assert capacity.status_code == 201
    assert (capacity.json()["user_id"], capacity.json()["capacity_points"]) == (user["id"], 8)
    changed = client.put(f"{path}/{user['id']}", json={"capacity_points": 10, "allocated_points": 5})
    assert changed.status_code == 200
    assert [(c["capacity_points"], c["allocated_points"]) for c in client.get(path).json()["items"]] == [
        (10, 5)
    ]
    assert client.put(f"{path}/999999", json={}).status_code == 404  # no such user
    no_sprint = client.put(f"/sprints/999999/capacities/{user['id']}", json={})
    assert no_sprint.status_code == 404
    assert no_sprint.json()["detail"] == "sprint 999999 does not exist"
    assert client.get("/sprints/999999/capacities").status_code == 404
    assert client.delete(f"{path}/{user['id']}").status_code == 204
    assert client.delete(f"{path}/{user['id']}").status_code == 404
    assert client.get(path).json()["items"] == []
