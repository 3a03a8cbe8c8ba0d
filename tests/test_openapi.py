"""/openapi.json describes every route, and the running service keeps to it:
schemathesis generates requests for every operation against a real server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from starlette.routing import Route
from starlette.testclient import TestClient

from service.openapi import openapi_path
from service.postgres import with_database
from tests.helpers import CloneFactory, admin_token, serving

EXAMPLES = int(os.environ.get("WORKTRACK_SCHEMATHESIS_EXAMPLES", "30"))


def test_every_route_is_described(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    described = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    served = {
        (openapi_path(route.path), method)
        for route in client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, Route) and route.include_in_schema
        for method in (route.methods or set()) - {"HEAD"}
    }
    assert served - described == set(), "served but not described"
    assert described - served == set(), "described but not served"
    assert {("/healthz", "GET"), ("/readyz", "GET"), ("/metrics", "GET"), ("/openapi.json", "GET")} <= served
    claim = document["paths"]["/tasks/claim"]["post"]
    assert set(claim["responses"]) >= {"200", "204", "404", "422", "503"}
    assert claim["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ClaimRequest"
    }


def test_every_response_is_described_by_a_named_shape(client: TestClient) -> None:
    """No free-form objects: each answer with a body has a schema of its own, and the
    sprint side's documents refuse fields they do not name."""
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                for media, content in response.get("content", {}).items():
                    schema = content["schema"]
                    where = f"{method.upper()} {path} {status} {media}"
                    if "$ref" in schema:
                        assert schema["$ref"].removeprefix("#/components/schemas/") in schemas, where
                    elif schema.get("type") == "object" and "items" in schema.get("properties", {}):
                        assert "$ref" in schema["properties"]["items"]["items"], where  # a page
                    else:
                        assert (path, schema) in (
                            ("/metrics", {"type": "string"}),
                            ("/openapi.json", {"type": "object"}),
                        ), where
    for name in (
        "User",
        "Sprint",
        "Workstream",
        "SprintWorkstream",
        "SprintMetric",
        "SprintAnalysis",
        "SavedReport",
        "Capacity",
        "SprintQueueItem",
        "TokenInfo",
    ):
        assert schemas[name]["additionalProperties"] is False, name
    assert "project_id" not in schemas["Workstream"]["properties"]
    assert schemas["Workstream"]["properties"]["project"]["type"] == "string"


def test_row_ids_in_paths_are_published_as_the_route_matches_them(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    (sprint_id,) = document["paths"]["/sprints/{sprint_id}"]["get"]["parameters"][:1]
    assert sprint_id["schema"] == {"type": "integer", "minimum": 1, "maximum": 10**18 - 1}
    assert client.get(f"/sprints/{10**18 - 1}").status_code == 404  # matched, no such sprint
    assert client.get(f"/sprints/{10**18}").status_code == 404  # not matched at all
    assert client.get("/sprints/0").status_code == 404
    assert client.get("/sprints/007").status_code == 404


@pytest.fixture(scope="module")
def served_with_tokens(pg_server: str, clones: CloneFactory) -> Iterator[tuple[str, str]]:
    """worktrack serve with access control on, a little data, and an admin token."""
    name = clones.take()
    try:
        url = with_database(pg_server, name)
        token = admin_token(url)
        with serving(url, "--no-migrate", "--log-level", "warning", WORKTRACK_AUTH="required") as served:
            bearer = {"Authorization": f"Bearer {token}"}
            httpx.post(f"{served.base}/projects", json={"key": "alpha", "name": "Alpha"}, headers=bearer)
            httpx.post(
                f"{served.base}/projects/alpha/tasks/bulk",
                json=[{"key": f"T-{n}", "title": "t"} for n in range(5)],
                headers=bearer,
            )
            yield served.base, token
    finally:
        clones.give_back(name)


def test_the_service_keeps_to_its_openapi_document(served_with_tokens: tuple[str, str]) -> None:
    """Every operation, EXAMPLES generated requests each, as an admin: no 5xx, and every
    response matches its status, content type and schema in the document (and a
    request without the token is refused, schemathesis checks that too)."""
    live_server, token = served_with_tokens
    api = schemathesis.openapi.from_url(f"{live_server}/openapi.json")
    failures: dict[str, str] = {}
    operations = [result.ok() for result in api.get_all_operations()]  # type: ignore[union-attr]  # an Err fails here
    assert len(operations) >= 30
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case: schemathesis.Case[Any]) -> None:
            # JSON Schema cannot say every rule (a cursor made by the server, priority_min
            # <= priority_max, no NUL inside metadata), so a schema-valid request may
            # rightly get a 422; every other check stands.
            case.call_and_validate(
                timeout=10,
                excluded_checks=[positive_data_acceptance],
                headers={"Authorization": f"Bearer {token}"},
            )

        try:
            check()
        except Exception as exc:  # every operation is tried; all failures are reported together
            failures[operation.label] = str(exc)[:2000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
