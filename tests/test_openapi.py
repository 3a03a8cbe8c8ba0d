"""/openapi.json describes every route, and the running service keeps to it:
schemathesis generates requests for every operation against a real server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from starlette.routing import Route
from starlette.testclient import TestClient

from service.openapi import openapi_path
from service.postgres import with_database
from tests.helpers import CloneFactory, admin_token, serving

EXAMPLES = int(os.environ.get("WORKTRACK_SCHEMATHESIS_EXAMPLES", "30"))
# The same examples on every run (CI is not flaky); WORKTRACK_SCHEMATHESIS_RANDOM=1
# explores new ones.
DERANDOMIZE = not os.environ.get("WORKTRACK_SCHEMATHESIS_RANDOM")


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
                        assert (path, schema) == ("/metrics", {"type": "string"}), where
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


def test_the_document_states_the_rules_the_server_keeps(client: TestClient) -> None:
    """What made schema-valid requests fail: strings the database cannot store, the
    status list, the settings filter, the token's projects."""
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    no_nul = "^[^\\x00]*$"
    task = schemas["TaskCreate"]["properties"]
    assert task["description"]["anyOf"][0]["pattern"] == no_nul
    assert task["title"]["allOf"] == [{"pattern": no_nul}]  # beside its own pattern
    assert task["metadata"]["additionalProperties"] == {"$ref": "#/components/schemas/JsonValue"}
    assert task["metadata"]["propertyNames"] == {"pattern": no_nul}
    assert "allOf" not in task["key"] and task["key"]["pattern"].startswith("^[A-Z]")
    assert task["priority"]["type"] == "integer"  # 7.0 is one, and the server takes it
    tasks = {p["name"]: p for p in document["paths"]["/projects/{project}/tasks"]["get"]["parameters"]}
    assert tasks["status"]["schema"]["pattern"].startswith("^ *(pending|in_progress|")
    users = {p["name"]: p for p in document["paths"]["/users"]["get"]["parameters"]}
    assert users["settings"]["content"]["application/json"]["schema"]["type"] == "object"
    patch = schemas["TaskPatch"]["properties"]
    assert not [name for name, field in patch.items() if "default" in field]  # left out: left as it is
    assert (patch["title"]["type"], patch["priority"]["type"]) == ("string", "integer")  # null refused
    link = document["paths"]["/projects/{project}/tasks/{key}/links/{kind}/{other}"]["put"]["parameters"]
    (kind,) = [p for p in link if p["name"] == "kind"]
    assert kind["schema"] == {"type": "string", "enum": ["related", "discovered_from"]}
    assert document["paths"]["/openapi.json"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ] == {"$ref": "#/components/schemas/OpenAPIDocument"}
    token = schemas["TokenCreate"]
    assert token["if"] == {"properties": {"role": {"const": "admin"}}}
    assert token["else"]["properties"]["projects"] == {"minItems": 1}


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


def _within_rules_json_schema_cannot_say(case: schemathesis.Case[Any]) -> schemathesis.Case[Any]:
    """A generated request, kept to the rules the document can state only in words:
    `after`, `poll` and an If-Match ETag are tokens the server made (left out: a
    forged one is rightly 422 or 412); priority_min is at most priority_max,
    default_lease_seconds at most max_lease_seconds, start_date at most end_date,
    what is completed at most the total (put in order); a time zone is one
    PostgreSQL knows (UTC); a sprint starts now or earlier (no activated_at); a
    sprint queue item names its task by project and task together or not at all;
    the keys of a batch differ; an Idempotency-Key names one request (a fresh one).
    Every other value stands."""
    query: dict[str, Any] = case.query or {}
    for name in ("after", "poll"):
        query.pop(name, None)
    if case.headers:
        case.headers.pop("If-Match", None)
    low, high = query.get("priority_min"), query.get("priority_max")
    if low is not None and high is not None and low > high:
        query["priority_min"], query["priority_max"] = high, low
    body: Any = case.body
    items: list[dict[str, Any]] = [
        item for item in (body if isinstance(body, list) else [body]) if isinstance(item, dict)
    ]
    for item in items:
        if item.get("timezone") is not None:
            item["timezone"] = "UTC"
        start, end = item.get("start_date"), item.get("end_date")
        if isinstance(start, str) and isinstance(end, str) and start > end:  # ISO dates sort as text
            item["start_date"], item["end_date"] = end, start
        for done, total in (
            ("completed_issues", "total_issues"),
            ("completed_story_points", "total_story_points"),
        ):
            if item.get(done) is not None:  # no more done than there is (the default total 0)
                item[total] = max(item.get(total) or 0, item[done])
        item.pop("activated_at", None)
        if (item.get("project") is None) != (item.get("task") is None) and "user_id" in item:
            item.pop("project", None)  # a queue item: both or neither
            item.pop("task", None)
        if "max_lease_seconds" in item:
            default = item.get("default_lease_seconds", 300)  # the column's default
            item["default_lease_seconds"] = min(default, item["max_lease_seconds"])
    if isinstance(body, list):  # keys differ within a batch
        keys = [item.get("key") for item in items]
        case.body = [item for index, item in enumerate(items) if item.get("key") not in keys[:index]]
    if case.headers and "Idempotency-Key" in case.headers:  # a key names one request
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    return case


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

        @given(case=operation.as_strategy().map(_within_rules_json_schema_cannot_say))
        @settings(
            max_examples=EXAMPLES,
            derandomize=DERANDOMIZE,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: schemathesis.Case[Any]) -> None:
            # Every check, positive_data_acceptance included: a schema-valid request is
            # carried out (2xx), or refused for a reason a schema cannot know (404, 409).
            case.call_and_validate(
                timeout=10,
                headers={"Authorization": f"Bearer {token}"},
            )

        try:
            check()
        # every operation is tried; all failures are reported together (schemathesis
        # raises a BaseExceptionGroup when one operation fails more than one way)
        except (Exception, BaseExceptionGroup) as exc:
            failures[operation.label] = str(exc)[:2000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
