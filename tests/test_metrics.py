"""GET /metrics: request counts by route template, latency, pool and queue figures."""

from __future__ import annotations

import re
from pathlib import Path

import httpx2 as httpx
from starlette.testclient import TestClient

from tests.helpers import serving


def _value(text: str, sample: str) -> float:
    match = re.search(rf"^{re.escape(sample)} ([0-9.e+-]+)$", text, re.MULTILINE)
    assert match, f"{sample} not in the metrics"
    return float(match.group(1))


def test_requests_are_counted_by_route_template_without_keys(client: TestClient) -> None:
    client.post("/projects", json={"key": "secret-project", "name": "S"})
    before = client.get("/metrics").text
    label = 'method="GET",route="/projects/{project}",status="200"'
    start = _value(before, f"worktrack_http_requests_total{{{label}}}") if label in before else 0.0
    for _ in range(3):
        assert client.get("/projects/secret-project").status_code == 200
    client.get("/no/such/route")
    client.post("/tasks/claim", json={"project": "secret-project", "agent": "a"})
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert _value(text, f"worktrack_http_requests_total{{{label}}}") == start + 3
    assert 'route="unmatched",status="404"' in text
    assert "secret-project" not in text  # no unbounded labels
    assert (
        'worktrack_http_request_duration_seconds_bucket{le="0.05",method="GET",route="/projects/{project}"}'
        in text
    )
    assert _value(text, 'worktrack_db_pool_connections{state="size"}') >= 1
    assert "worktrack_db_pool_acquire_seconds_count" in text
    assert _value(text, 'worktrack_task_claims_total{result="none_ready"}') >= 1
    assert "worktrack_lease_expiries_total" in text


def test_counts_add_up_across_uvicorn_workers(db_url: str, tmp_path: Path) -> None:
    shared = tmp_path / "prometheus"
    shared.mkdir()
    with serving(
        db_url,
        "--workers",
        "2",
        "--no-migrate",
        "--log-level",
        "warning",
        PROMETHEUS_MULTIPROC_DIR=str(shared),
        WORKTRACK_POOL_MIN_SIZE="1",
        WORKTRACK_POOL_MAX_SIZE="2",
    ) as served:
        for _ in range(40):  # new connections, so both workers answer some
            assert httpx.get(f"{served.base}/healthz", timeout=5).status_code == 200
        text = httpx.get(f"{served.base}/metrics", timeout=5).text
    # the wait for /healthz counts too, so at least the 40
    assert _value(text, 'worktrack_http_requests_total{method="GET",route="/healthz",status="200"}') >= 40
    assert len(list(shared.glob("counter_*.db"))) >= 2  # both workers wrote samples
