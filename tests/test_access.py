"""Access control: every operation of the OpenAPI document, called with each kind of
bad token, answers 401 / 403 / 404 as service.access says; the good ones get through."""

from __future__ import annotations

import logging
import re
import statistics
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from service import access
from service.app import create_app
from tests.helpers import TEST_POOL, admin_token, make_token

PROJECT_PATH_VALUES = {"project": "alpha", "key": "T-1", "other": "T-2", "kind": "blocks", "name": "nobody"}


@pytest.fixture
def world(db_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """Projects alpha and beta, and a token of each kind."""
    app = create_app(db_url, TEST_POOL)
    admin = admin_token(db_url)
    with TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as client:
        bearer = {"Authorization": f"Bearer {admin}"}
        for key in ("alpha", "beta"):
            assert client.post("/projects", json={"key": key, "name": key}, headers=bearer).status_code == 201
        client.post(
            "/projects/alpha/tasks/bulk",
            json=[{"key": "T-1", "title": "a"}, {"key": "T-2", "title": "b"}],
            headers=bearer,
        )
        sprint = client.post("/sprints", json={"jira_sprint_id": 1, "name": "S1"}, headers=bearer)
        assert sprint.json()["id"] == 1, sprint.text
        assert (
            client.patch("/projects/alpha/tasks/T-1", json={"sprint": 1}, headers=bearer).status_code == 200
        )
        tokens = {
            "admin": admin,
            "read": make_token(db_url, "reader", "read", ["alpha"]),
            "agent": make_token(db_url, "agent", "agent", ["alpha"]),
            "write": make_token(db_url, "writer", "write", ["alpha"]),
            "beta": make_token(db_url, "beta-writer", "write", ["beta"]),
            "expired": make_token(db_url, "expired", "write", ["alpha"]),
            "revoked": make_token(db_url, "revoked", "write", ["alpha"]),
        }
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE api_tokens SET created_at = now() - interval '2 days',"
                " expires_at = now() - interval '1 day' WHERE name = 'expired'"
            )
            conn.execute("UPDATE api_tokens SET revoked_at = now() WHERE name = 'revoked'")
        yield client, tokens


def operations(client: TestClient) -> list[tuple[str, str, str, str | None]]:
    """(method, concrete path, role needed, where its project is named when not in the
    path) for every operation the document protects."""
    doc = client.get("/openapi.json").json()
    found = []
    for template, methods in doc["paths"].items():
        for method, operation in methods.items():
            if operation.get("security") == []:
                continue
            path = re.sub(r"{(\w+)}", lambda m: PROJECT_PATH_VALUES.get(m.group(1), "1"), template)
            found.append(
                (method.upper(), path, operation["x-worktrack-role"], operation.get("x-worktrack-project"))
            )
    assert len(found) > 60
    return found


def call(client: TestClient, method: str, path: str, token: str | None) -> Any:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    query = {"project": "alpha"} if path == "/tasks/next" else None
    body = (
        {"project": "alpha", "agent": "a"}
        if path == "/tasks/claim"
        else ({} if method in ("POST", "PATCH", "PUT") else None)
    )
    return client.request(method, path, headers=headers, params=query, json=body)


def test_every_operation_answers_401_403_404_as_its_role_says(
    world: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = world
    wrong = access.new_token()
    for method, path, need, project_from in operations(client):
        where = f"{method} {path} ({need})"
        for bad in (None, wrong, "not-a-token", tokens["expired"], tokens["revoked"]):
            answer = call(client, method, path, bad)
            assert answer.status_code == 401, where
            assert answer.headers["www-authenticate"].startswith("Bearer"), where
            assert answer.headers["content-type"] == "application/problem+json", where
            if bad:
                assert bad not in answer.text, where
        project_op = (
            "/projects/{project}" in path
            or path.startswith("/projects/alpha")
            or path in ("/tasks/next", "/tasks/claim")
        )
        if need == "token":  # any valid token
            assert call(client, method, path, tokens["beta"]).status_code not in (401, 403, 404), where
            continue
        project_op = path.startswith("/projects/alpha/") or path in ("/tasks/next", "/tasks/claim")
        other_project = call(client, method, path, tokens["beta"])
        if need == "admin":
            assert other_project.status_code == 403, where
            assert call(client, method, path, tokens["write"]).status_code == 403, where
        elif project_from == "sprint":  # sprint 1 takes in alpha, not beta
            assert other_project.status_code == 404, where
            assert other_project.json()["detail"] == "sprint 1 does not exist", where
        else:
            assert project_op, where
            # as if alpha did not exist: the same answer a missing project gets
            assert other_project.status_code == 404, where
            assert other_project.json()["detail"] == "project 'alpha' does not exist", where
        ranks = {"read": 1, "agent": 2, "write": 3}
        for role in ("read", "agent", "write"):
            answer = call(client, method, path, tokens[role])
            if need == "admin" or ranks[role] < ranks.get(need, 0):
                assert answer.status_code == 403, f"{where} as {role}"
            else:
                assert answer.status_code not in (401, 403), f"{where} as {role}: {answer.text}"
        # an admin gets through everywhere (on a project that does not exist, so that
        # DELETE /projects/alpha does not end the test)
        as_admin = call(client, method, path.replace("/alpha", "/gamma"), tokens["admin"])
        assert as_admin.status_code not in (401, 403), where


def test_tokens_are_managed_under_tokens_by_admins(world: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = world
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    made = client.post("/tokens", json={"name": "ci", "role": "agent", "projects": ["alpha"]}, headers=admin)
    assert made.status_code == 201
    secret = made.json()["token"]
    assert secret.startswith("wt_") and len(secret) == 46
    listed = client.get("/tokens", headers=admin).json()
    assert {"name": "ci", "role": "agent", "projects": ["alpha"]}.items() <= next(
        t for t in listed if t["name"] == "ci"
    ).items()
    assert secret not in client.get("/tokens", headers=admin).text
    mine = {"Authorization": f"Bearer {secret}"}
    assert client.get("/projects/alpha/tasks", headers=mine).status_code == 200
    assert client.get("/tokens", headers=mine).status_code == 403
    assert client.delete("/tokens/ci", headers=admin).status_code == 204
    assert client.get("/projects/alpha/tasks", headers=mine).status_code == 401
    assert (
        client.post(
            "/tokens", json={"name": "x", "role": "admin", "projects": ["alpha"]}, headers=admin
        ).status_code
        == 422
    )
    assert (
        client.post(
            "/tokens", json={"name": "y", "role": "read", "projects": ["nope"]}, headers=admin
        ).status_code
        == 404
    )


def test_idempotency_keys_belong_to_the_token(world: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = world
    for n, role in enumerate(("write", "agent")):
        answer = client.post(
            "/projects/alpha/tasks",
            json={"key": f"T-1{n}", "title": role},
            headers={"Authorization": f"Bearer {tokens[role]}", "Idempotency-Key": "same-key"},
        )
        assert answer.status_code == 201, answer.text  # the other token's key is not this one's
        assert "idempotent-replayed" not in answer.headers


def test_a_token_whose_name_holds_a_slash_is_revoked_over_http(
    world: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = world
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    made = client.post(
        "/tokens", json={"name": "ci/deploy", "role": "write", "projects": ["alpha"]}, headers=admin
    )
    assert made.status_code == 201, made.text
    mine = {"Authorization": f"Bearer {made.json()['token']}"}
    assert client.get("/projects/alpha/tasks", headers=mine).status_code == 200
    assert client.delete("/tokens/ci%2Fdeploy", headers=admin).status_code == 204
    access.forget_cached()  # (the token check is cached for 2 seconds per worker)
    assert client.get("/projects/alpha/tasks", headers=mine).status_code == 401


def test_a_new_tokens_secret_is_never_kept_for_an_idempotent_replay(
    world: tuple[TestClient, dict[str, str]], db_url: str
) -> None:
    client, tokens = world
    refused = client.post(
        "/tokens",
        json={"name": "ci", "role": "agent", "projects": ["alpha"]},
        headers={"Authorization": f"Bearer {tokens['admin']}", "Idempotency-Key": "make-ci"},
    )
    assert refused.status_code == 400, refused.text
    assert "without an Idempotency-Key" in refused.json()["detail"]
    listed = client.get("/tokens", headers={"Authorization": f"Bearer {tokens['admin']}"}).json()
    assert "ci" not in {t["name"] for t in listed}  # nothing was made
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM idempotency_keys").fetchone() == (0,)


def test_no_token_reaches_the_log(
    world: tuple[TestClient, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    client, tokens = world
    caplog.set_level(logging.DEBUG)
    for token in (tokens["read"], tokens["revoked"], access.new_token()):
        call(client, "GET", "/projects/alpha/tasks", token)
        call(client, "DELETE", "/projects/alpha", token)
    for token in tokens.values():
        assert token not in caplog.text


def test_how_much_of_a_wrong_token_matches_does_not_change_the_time(
    world: tuple[TestClient, dict[str, str]],
) -> None:
    """The lookup is by digest, then compared in constant time: a wrong token that
    shares 42 characters with a real one is refused as fast as one that shares none."""
    client, tokens = world
    real = tokens["read"]
    near = real[:-1] + ("A" if real[-1] != "A" else "B")
    far = access.new_token()

    def timed(token: str) -> float:
        started = time.perf_counter()
        assert call(client, "GET", "/projects/alpha/tasks", token).status_code == 401
        return time.perf_counter() - started

    timed(far)  # warm up
    # alternated, so that other work on the machine slows both alike
    samples = [(timed(near), timed(far)) for _ in range(60)]
    near_time, far_time = (statistics.median(times) for times in zip(*samples, strict=True))
    assert 0.5 < near_time / far_time < 2.0
