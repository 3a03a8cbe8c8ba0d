"""/openapi.json describes every route, and the running service keeps to it:
schemathesis generates requests for every operation against a real server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx2 as httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from starlette.routing import Route
from starlette.testclient import TestClient

from service.database import with_database
from service.openapi import openapi_path
from tests.conftest import CloneFactory

EXAMPLES = int(os.environ.get("WORKTRACK_SCHEMATHESIS_EXAMPLES", "30"))


def test_every_route_is_described(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    described = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    served = {
        (openapi_path(route.path), method)
        for route in client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, Route) and route.path != "/openapi.json"
        for method in (route.methods or set()) - {"HEAD"}
    }
    assert served == described
    claim = document["paths"]["/tasks/claim"]["post"]
    assert set(claim["responses"]) >= {"200", "204", "404", "422", "503"}
    assert claim["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ClaimRequest"
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(pg_server: str, clones: CloneFactory) -> Iterator[str]:
    """worktrack serve on a migrated database of its own, on a free loopback port."""
    name = clones.take()
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": with_database(pg_server, name), "WORKTRACK_POOL_MAX_SIZE": "4"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "service.cli",
            "serve",
            "--port",
            str(port),
            "--no-migrate",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, "the server exited before it was ready"
            assert time.monotonic() < deadline, "the server did not get ready in 30 s"
            time.sleep(0.2)
        # Something to find: a project with an epic, a feature and tasks.
        httpx.post(f"{base}/projects", json={"key": "alpha", "name": "Alpha"})
        httpx.post(f"{base}/projects/alpha/epics", json={"key": "E01", "title": "Epic"})
        httpx.post(f"{base}/projects/alpha/features", json={"key": "E01-F01", "epic": "E01", "title": "F"})
        httpx.post(
            f"{base}/projects/alpha/tasks/bulk", json=[{"key": f"T-{n}", "title": "t"} for n in range(5)]
        )
        yield base
    finally:
        server.terminate()
        server.wait(timeout=15)
        clones.give_back(name)


def test_the_service_keeps_to_its_openapi_document(live_server: str) -> None:
    """Every operation, EXAMPLES generated requests each: no 5xx, and every response
    matches its status, content type and schema in the document."""
    api = schemathesis.openapi.from_url(f"{live_server}/openapi.json")
    failures: dict[str, str] = {}
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 30
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case: schemathesis.Case) -> None:
            # JSON Schema cannot say every rule (a cursor made by the server, priority_min
            # <= priority_max, no NUL inside metadata), so a schema-valid request may
            # rightly get a 422; every other check stands.
            case.call_and_validate(timeout=10, excluded_checks=[positive_data_acceptance])

        try:
            check()
        except Exception as exc:  # every operation is tried; all failures are reported together
            failures[operation.label] = str(exc)[:2000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
