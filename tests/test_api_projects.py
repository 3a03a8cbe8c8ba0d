"""Projects, epics and features through the ASGI app: CRUD, progress, errors."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

PROBLEM = "application/problem+json"


def test_project_crud(client: TestClient) -> None:
    created = client.post("/projects", json={"key": "project-alpha", "name": "Alpha", "description": "first"})
    assert created.status_code == 201
    assert created.headers["location"] == "/projects/project-alpha"
    body = created.json()
    assert (body["key"], body["name"], body["description"], body["is_active"], body["metadata"]) == (
        "project-alpha",
        "Alpha",
        "first",
        True,
        {},
    )
    assert client.get("/projects/PROJECT-ALPHA").json()["key"] == "project-alpha"  # keys ignore case

    patched = client.patch("/projects/project-alpha", json={"description": None, "is_active": False})
    assert patched.status_code == 200
    assert (patched.json()["description"], patched.json()["is_active"], patched.json()["name"]) == (
        None,
        False,
        "Alpha",
    )
    assert patched.json()["updated_at"] > body["updated_at"]

    assert client.delete("/projects/project-alpha").status_code == 204
    assert client.get("/projects/project-alpha").status_code == 404
    assert client.delete("/projects/project-alpha").status_code == 404


def test_project_keys_conflict_ignoring_case(client: TestClient) -> None:
    assert client.post("/projects", json={"key": "PROJ", "name": "One"}).status_code == 201
    again = client.post("/projects", json={"key": "proj", "name": "Two"})
    assert again.status_code == 409
    assert again.headers["content-type"] == PROBLEM
    assert again.json()["errors"] == [
        {"field": "body.key", "message": "a project with this key already exists (keys ignore case)"}
    ]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"key": "1bad", "name": "x"}, "body.key"),
        ({"key": "ok", "name": ""}, "body.name"),
        ({"key": "ok", "name": "x", "colour": "red"}, "body.colour"),
        ({"key": "ok", "name": 5}, "body.name"),
        ({"key": "ok", "name": "x", "metadata": []}, "body.metadata"),
        ({"name": "x"}, "body.key"),
    ],
)
def test_bad_project_input_is_422_naming_the_field(
    client: TestClient, payload: dict[str, object], field: str
) -> None:
    response = client.post("/projects", json=payload)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert field in [error["field"] for error in response.json()["errors"]]
    assert client.get("/projects").json()["items"] == []  # nothing was written


def test_malformed_json_is_400(client: TestClient) -> None:
    response = client.post("/projects", content=b'{"key": "a",', headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["detail"] == "the request body is not valid JSON"
    assert client.post("/projects", json=["not", "an", "object"]).status_code == 422


def test_patch_refuses_null_for_a_required_field(client: TestClient) -> None:
    client.post("/projects", json={"key": "p", "name": "P"})
    response = client.patch("/projects/p", json={"name": None})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "body.name", "message": "may be left out but not null"}]


def test_project_list_pages_with_a_cursor(client: TestClient) -> None:
    for n in range(5):
        client.post("/projects", json={"key": f"p{n}", "name": f"P{n}", "is_active": n != 2})
    first = client.get("/projects", params={"limit": 2}).json()
    assert [p["key"] for p in first["items"]] == ["p0", "p1"]
    second = client.get("/projects", params={"limit": 2, "after": first["next"]}).json()
    third = client.get("/projects", params={"limit": 2, "after": second["next"]}).json()
    assert [p["key"] for p in second["items"] + third["items"]] == ["p2", "p3", "p4"]
    assert third["next"] is None
    active = client.get("/projects", params={"is_active": "false"}).json()["items"]
    assert [p["key"] for p in active] == ["p2"]
    for bad in ({"limit": 0}, {"limit": 501}, {"after": "!!"}, {"after": "eHh4"}, {"sort": "key"}):
        response = client.get("/projects", params=bad)
        assert response.status_code == 422, bad
        assert response.headers["content-type"] == PROBLEM


def _plan(client: TestClient) -> None:
    client.post("/projects", json={"key": "alpha", "name": "Alpha"})
    client.post("/projects/alpha/epics", json={"key": "E04", "title": "Search"})
    client.post("/projects/alpha/features", json={"key": "E04-F01", "epic": "E04", "title": "Index"})
    client.post("/projects/alpha/features", json={"key": "E04-F02", "epic": "E04", "title": "Query"})


def test_progress_is_exact_and_follows_the_tasks(client: TestClient) -> None:
    _plan(client)
    # E04-F01: 4 tasks, one cancelled, two completed -> 2/3; E04-F02: 2 tasks, none completed.
    tasks = [
        ("T-1", "E04-F01"),
        ("T-2", "E04-F01"),
        ("T-3", "E04-F01"),
        ("T-4", "E04-F01"),
        ("T-5", "E04-F02"),
        ("T-6", "E04-F02"),
    ]
    client.post("/projects/alpha/tasks/bulk", json=[{"key": k, "title": k, "feature": f} for k, f in tasks])
    for key in ("T-1", "T-2"):
        client.post(f"/projects/alpha/tasks/{key}/status", json={"status": "in_progress"})
        client.post(f"/projects/alpha/tasks/{key}/status", json={"status": "completed"})
    client.post("/projects/alpha/tasks/T-3/status", json={"status": "cancelled"})

    f1 = client.get("/projects/alpha/features/E04-F01").json()["progress"]
    f2 = client.get("/projects/alpha/features/E04-F02").json()["progress"]
    epic = client.get("/projects/alpha/epics/E04").json()
    assert f1 == {"tasks": 3, "completed": 2, "percent": 66.67}
    assert f2 == {"tasks": 2, "completed": 0, "percent": 0}
    assert epic["progress"] == {"tasks": 5, "completed": 2, "percent": 40}
    assert epic["features"] == 2

    client.post("/projects/alpha/tasks/T-2/status", json={"status": "in_progress"})  # reopened
    assert client.get("/projects/alpha/epics/E04").json()["progress"]["completed"] == 1
    listed = client.get("/projects/alpha/features", params={"epic": "E04"}).json()["items"]
    assert [f["progress"]["percent"] for f in listed] == [33.33, 0]


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
