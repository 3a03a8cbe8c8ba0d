"""Features through the ASGI app: CRUD, progress, errors."""

from __future__ import annotations

from starlette.testclient import TestClient


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


def test_feature_crud_and_why_one_is_missing(client: TestClient) -> None:
    _plan(client)
    assert client.get("/projects/alpha/features/E04-F01").json()["epic"] == "E04"
    changed = client.patch("/projects/alpha/features/E04-F01", json={"title": "Indexing"})
    assert changed.status_code == 200 and changed.json()["title"] == "Indexing"
    page = client.get("/projects/alpha/features", params={"limit": 1}).json()
    assert [f["key"] for f in page["items"]] == ["E04-F01"]
    after = client.get("/projects/alpha/features", params={"limit": 1, "after": page["next"]}).json()
    assert [f["key"] for f in after["items"]] == ["E04-F02"] and after["next"] is None
    assert client.delete("/projects/alpha/features/E04-F02").status_code == 204
    missing = client.get("/projects/alpha/features/E04-F02")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "feature 'E04-F02' does not exist in project 'alpha'"
    assert client.delete("/projects/alpha/features/E04-F02").status_code == 404
    assert client.patch("/projects/alpha/features/E04-F02", json={"title": "x"}).status_code == 404
    nope = client.get("/projects/nope/features/E04-F01")
    assert nope.status_code == 404 and nope.json()["detail"] == "project 'nope' does not exist"
    assert client.get("/projects/nope/features").status_code == 404
