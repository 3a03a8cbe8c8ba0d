"""Projects through the ASGI app: CRUD, errors (epics and features: test_api_epics.py,
test_api_features.py)."""

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
