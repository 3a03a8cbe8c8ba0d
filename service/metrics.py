"""Prometheus metrics: GET /metrics.

Labels are bounded: routes by their template (/projects/{project}/tasks/{key}),
never a project or task key. With several uvicorn workers, set
PROMETHEUS_MULTIPROC_DIR to an empty folder shared by the workers: each writes
its samples there and /metrics adds them up across workers.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response

REQUESTS = Counter("worktrack_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "worktrack_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
POOL_CONNECTIONS = Gauge(
    "worktrack_db_pool_connections",
    "Database pool connections by state",
    ["state"],
    multiprocess_mode="livesum",
)
POOL_ACQUIRE = Histogram(
    "worktrack_db_pool_acquire_seconds",
    "Time to get a connection from the pool (floor: 50 ms)",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
)
CLAIMS = Counter("worktrack_task_claims_total", "Claims of the next ready task", ["result"])
LEASE_EXPIRIES = Counter("worktrack_lease_expiries_total", "Expired leases returned to pending")


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    from prometheus_client import REGISTRY

    return REGISTRY


def observe_pool(pool: Any) -> None:
    stats = pool.get_stats()
    POOL_CONNECTIONS.labels("size").set(stats.get("pool_size", 0))
    POOL_CONNECTIONS.labels("idle").set(stats.get("pool_available", 0))
    POOL_CONNECTIONS.labels("waiting").set(stats.get("requests_waiting", 0))


async def metrics(request: Request) -> Response:
    observe_pool(request.app.state.pool)
    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)
