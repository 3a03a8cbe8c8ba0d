"""Users through the ASGI app: CRUD, the settings filter, the rules the database keeps."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient


def _post(client: TestClient, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


def test_users(client: TestClient) -> None:
    ann = _post(
        client, "/users", {"email": "Ann@Example.org", "username": "ann", "settings": {"theme": "dark"}}
    )
    assert (ann["email"], ann["is_active"], ann["settings"]) == ("Ann@Example.org", True, {"theme": "dark"})
    again = client.post("/users", json={"email": "ann@example.org", "username": "ann2"})
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "body.email"
    assert client.post("/users", json={"email": "not-an-email", "username": "x"}).status_code == 422
    _post(client, "/users", {"email": "bob@example.org", "username": "bob", "settings": {"theme": "light"}})
    dark = client.get("/users", params={"settings": '{"theme": "dark"}'}).json()["items"]
    assert [u["username"] for u in dark] == ["ann"]
    assert client.get("/users", params={"settings": "dark"}).status_code == 422
    assert client.patch(f"/users/{ann['id']}", json={"full_name": "Ann Lee"}).json()["full_name"] == "Ann Lee"
    assert client.delete(f"/users/{ann['id']}").status_code == 204
    assert client.get(f"/users/{ann['id']}").status_code == 404


def test_the_settings_filter_is_a_json_object(client: TestClient) -> None:
    for wanted in ("dark", "[1]", '"x"', "{"):
        refused = client.get("/users", params={"settings": wanted})
        assert refused.status_code == 422, wanted
        assert refused.json()["errors"] == [
            {"field": "query.settings", "message": 'a JSON object, e.g. {"theme": "dark"}'}
        ]
    assert client.get("/users", params={"settings": "{}"}).status_code == 200


def test_a_patch_may_not_null_a_required_field(client: TestClient) -> None:
    ann = _post(client, "/users", {"email": "ann@example.org", "username": "ann"})
    nulled = client.patch(f"/users/{ann['id']}", json={"email": None, "is_active": None, "full_name": None})
    assert nulled.status_code == 422
    assert nulled.json()["errors"] == [
        {"field": "body.email", "message": "may be left out but not null"},
        {"field": "body.is_active", "message": "may be left out but not null"},
    ]
    assert client.get(f"/users/{ann['id']}").json()["email"] == "ann@example.org"
