"""Epics through the ASGI app: CRUD, progress, errors, cascading delete."""

from __future__ import annotations

from starlette.testclient import TestClient


def _plan(client: TestClient) -> None:
    client.post("/projects", json={"key": "alpha", "name": "Alpha"})
    client.post("/projects/alpha/epics", json={"key": "E04", "title": "Search"})
    client.post("/projects/alpha/features", json={"key": "E04-F01", "epic": "E04", "title": "Index"})
    client.post("/projects/alpha/features", json={"key": "E04-F02", "epic": "E04", "title": "Query"})


def test_an_epic_without_tasks_has_no_percentage(client: TestClient) -> None:
    _plan(client)
    assert client.get("/projects/alpha/epics/E04").json()["progress"] == {
        "tasks": 0,
        "completed": 0,
        "percent": None,
    }


def test_epic_and_feature_errors(client: TestClient) -> None:
    _plan(client)
    assert client.post("/projects/alpha/epics", json={"key": "E04", "title": "again"}).status_code == 409
    assert client.post("/projects/nope/epics", json={"key": "E05", "title": "x"}).status_code == 404
    assert client.post("/projects/alpha/epics", json={"key": "EPIC-5", "title": "x"}).status_code == 422
    orphan = client.post("/projects/alpha/features", json={"key": "E09-F01", "epic": "E09", "title": "x"})
    assert orphan.status_code == 404
    assert orphan.json()["detail"] == "epic 'E09' does not exist in project 'alpha'"
    assert (
        client.get("/projects/alpha/epics/E99").json()["detail"]
        == "epic 'E99' does not exist in project 'alpha'"
    )
    assert client.get("/projects/nope/epics/E04").json()["detail"] == "project 'nope' does not exist"
    assert client.get("/projects/nope/epics").status_code == 404
    assert (
        client.patch("/projects/alpha/epics/E04", json={"title": "Search v2"}).json()["title"] == "Search v2"
    )
    assert client.patch("/projects/alpha/features/E04-F01", json={"key": "E04-F09"}).status_code == 422


def test_deleting_an_epic_takes_its_features_and_tasks(client: TestClient) -> None:
    _plan(client)
    client.post("/projects/alpha/epics", json={"key": "E05", "title": "Other"})
    client.post("/projects/alpha/features", json={"key": "E05-F01", "epic": "E05", "title": "Other"})
    client.post(
        "/projects/alpha/tasks/bulk",
        json=[
            {"key": "T-1", "title": "a", "feature": "E04-F01"},
            {"key": "T-2", "title": "b", "feature": "E05-F01"},
        ],
    )
    client.put("/projects/alpha/tasks/T-2/dependencies/T-1")
    assert client.delete("/projects/alpha/epics/E04").status_code == 204
    assert [f["key"] for f in client.get("/projects/alpha/features").json()["items"]] == ["E05-F01"]
    remaining = client.get("/projects/alpha/tasks").json()["items"]
    assert [(t["key"], t["depends_on"]) for t in remaining] == [("T-2", [])]
    assert client.delete("/projects/alpha/epics/E04").status_code == 404
