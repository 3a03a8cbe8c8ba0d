"""What probes, scrapers and clients ask of the service itself: liveness, readiness,
metrics and the OpenAPI document."""

from __future__ import annotations

import logging

import psycopg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service import access, metrics, queries
from service.db import Pool
from service.errors import problem
from service.models import Liveness, OpenAPIDocument, Readiness
from service.routes import Endpoint

log = logging.getLogger("worktrack.access")

_APPLIED_MIGRATION_IDS = queries.load("health")["applied_migration_ids"]


async def healthz(request: Request) -> Response:
    """The process is up; says nothing about the database."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready when the database answers and holds exactly the migrations of this build."""
    pool: Pool = request.app.state.pool
    known: list[str] = request.app.state.known_migrations
    try:
        async with pool.connection(timeout=2) as conn:
            try:
                rows = await (await conn.execute(_APPLIED_MIGRATION_IDS)).fetchall()
            except psycopg.errors.UndefinedTable:
                rows = []
    except psycopg.Error as exc:  # includes PoolTimeout
        log.warning("readiness check failed: %s", exc)
        return problem(
            503, "Service Unavailable", "the database does not answer", headers={"Retry-After": "5"}
        )
    applied = {row[0] for row in rows}
    pending = [m for m in known if m not in applied]
    unknown = sorted(applied - set(known))
    reasons = []
    if pending:
        reasons.append(f"{len(pending)} migration(s) pending: {', '.join(pending)}")
    if unknown:
        reasons.append(f"the database holds migration(s) this build does not know: {', '.join(unknown)}")
    if reasons:
        return problem(503, "Service Unavailable", "; ".join(reasons), headers={"Retry-After": "30"})
    return JSONResponse({"status": "ready", "migrations": len(applied)})


async def openapi(request: Request) -> Response:
    """The document the app built from every module's ENDPOINTS (service.openapi)."""
    return JSONResponse(request.app.state.openapi)


ENDPOINTS = [
    Endpoint(
        "GET",
        "/healthz",
        healthz,
        "The process is up",
        rule=access.Rule("open"),
        probe=True,
        responses={200: ("up", Liveness)},
    ),
    Endpoint(
        "GET",
        "/readyz",
        readyz,
        "The database answers and holds exactly this build's migrations",
        rule=access.Rule("open"),
        probe=True,
        responses={200: ("ready", Readiness), 503: ("not ready, with the reason", None)},
    ),
    Endpoint(
        "GET",
        "/metrics",
        metrics.metrics,
        "Prometheus metrics",
        rule=access.METRICS_RULE,
        probe=True,
        media_type="text/plain",
        responses={200: ("metrics in the Prometheus text format", str)},
    ),
    Endpoint(
        "GET",
        "/openapi.json",
        openapi,
        "This document",
        rule=access.OPENAPI_RULE,
        responses={200: ("the OpenAPI 3.1 document", OpenAPIDocument)},
    ),
]
