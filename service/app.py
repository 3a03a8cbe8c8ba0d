"""The Starlette application: factory, lifespan, health routes, request log."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import access, db, guards, mcp_server, metrics, openapi, queries
from service.config import PoolSettings, ServerSettings
from service.database import resolve_database_url
from service.db import Pool, create_pool
from service.errors import (
    ApiError,
    api_error_handler,
    escaped,
    http_error_handler,
    problem,
    unexpected_error_handler,
)
from service.migrations import known_migration_ids
from service.routes import (
    KEY_PARAMETERS,
    epics,
    planning,
    projects,
    queue,
    sprints,
    tasks,
    tokens,
    workstreams,
)
from service.ui import routes as ui
from service.ui import sign_in

log = logging.getLogger("worktrack.access")

_HEALTH = queries.load("health")
_APPLIED_MIGRATION_IDS = _HEALTH["applied_migration_ids"]


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


def _route_path(path: str) -> str:
    """{project} -> {project:key}: see service.routes.KEY_PARAMETERS."""
    for name in KEY_PARAMETERS:
        path = path.replace("{" + name + "}", "{" + name + ":key}")
    return path


class RequestLog:
    """One log line per request (method, path, status, milliseconds), and the
    request's count and latency in the metrics, labelled by route template."""

    def __init__(self, app: ASGIApp, templates: dict[object, str]) -> None:
        self.app = app
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            elapsed = time.perf_counter() - started
            # The path is decoded: a %0A in it must not start a forged log line.
            log.info("%s %s %d %.1fms", scope["method"], escaped(scope["path"]), status, elapsed * 1000)
            # The router notes the endpoint it chose in the scope; no match is "unmatched".
            route = self.templates.get(scope.get("endpoint"), "unmatched")
            metrics.REQUESTS.labels(scope["method"], route, str(status)).inc()
            metrics.LATENCY.labels(scope["method"], route).observe(elapsed)


def create_app(
    database_url: str | None = None,
    pool_settings: PoolSettings | None = None,
    server_settings: ServerSettings | None = None,
) -> Starlette:
    """The application; the database is resolved now, the pool opened by the lifespan."""
    server = server_settings or ServerSettings.from_env()
    url = database_url or resolve_database_url()[0]
    pool = create_pool(url, pool_settings or PoolSettings.from_env())
    # /mcp: the MCP tools over streamable HTTP. Stateless, with JSON answers: each
    # request stands alone, so any worker of `serve --workers N` can answer it.
    mcp = mcp_server.build(pool)
    mcp_app = mcp.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=True,
        json_response=True,
        transport_security=mcp_server.transport_security(),
    )
    mcp_routes = [route for route in mcp_app.routes if isinstance(route, Route)]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # wait=False: the service starts even while the database is down;
        # /readyz reports it and requests answer 503 until it is back.
        await pool.open(wait=False)
        try:
            async with mcp.session_manager.run():
                yield
        finally:
            # Past the shutdown grace uvicorn cancels the requests still running; their
            # statements are being cancelled in the server: let that finish first.
            await db.settle(timeout=5)
            await pool.close()

    endpoints = [
        *projects.ENDPOINTS,
        *epics.ENDPOINTS,
        *queue.ENDPOINTS,
        *tasks.ENDPOINTS,
        *sprints.ENDPOINTS,
        *workstreams.ENDPOINTS,
        *planning.ENDPOINTS,
        *tokens.ENDPOINTS,
    ]
    document = openapi.build(endpoints)

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(document)

    writers = db.WriterGate(pool)
    enabled = access.auth_enabled()

    def authorize(rule: access.Rule, *, cookie: bool = False, sign_in: str | None = None) -> Middleware:
        return Middleware(
            access.Authorize, pool=pool, rule=rule, enabled=enabled, cookie=cookie, sign_in=sign_in
        )

    def api_guards(rule: access.Rule) -> list[Middleware]:
        return guards.json_api(server.allowed_hosts, writers, authorize(rule))

    def ui_guards(path: str) -> list[Middleware]:
        return [
            Middleware(guards.HostCheck, allowed=server.allowed_hosts),
            authorize(ui.rule_for(path), cookie=True, sign_in="/ui/sign-in"),
        ]

    ui_guards_open = [Middleware(guards.HostCheck, allowed=server.allowed_hosts)]

    def mcp_guarded(route: Route) -> Route:
        guarded = authorize(access.Rule("token"))
        checked = guarded.cls(route.app, *guarded.args, **guarded.kwargs)
        return Route(route.path, checked, methods=route.methods)

    routes = [
        # /mcp first: agents call it most, and the router tries the routes in order.
        # It checks its Host itself (WORKTRACK_MCP_ALLOWED_HOSTS); each tool its project.
        *(mcp_guarded(route) for route in mcp_routes),
        # Probes and scrapers reach these by whatever address they have: no Host check.
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics.metrics, methods=["GET"], middleware=[authorize(access.METRICS_RULE)]),
        Route("/openapi.json", openapi_json, methods=["GET"], middleware=api_guards(access.OPENAPI_RULE)),
        *(
            Route(
                _route_path(e.path),
                e.handler,
                methods=[e.method],
                middleware=api_guards(access.rule_for(e.method, e.path)),
            )
            for e in endpoints
        ),
        # The web UI and /docs: HTML, so not in the OpenAPI document; Host-checked like the API.
        *(
            Route(
                page.path,
                page.endpoint,
                methods=["GET"],
                include_in_schema=False,
                middleware=ui_guards(page.path),
            )
            for page in ui.PAGES
        ),
        # Signing in to the UI: open, Host-checked, CSRF-checked (service.ui.sign_in).
        *(
            Route(r.path, r.endpoint, methods=r.methods, include_in_schema=False, middleware=ui_guards_open)
            for r in sign_in.ROUTES
        ),
    ]
    templates: dict[object, str] = {route.endpoint: openapi.openapi_path(route.path) for route in routes}
    app = Starlette(
        routes=[
            *routes,
            ui.STATIC,
        ],
        middleware=[
            Middleware(RequestLog, templates=templates),
            Middleware(guards.CancelledAnswers),
            Middleware(guards.SecurityHeaders),
            Middleware(guards.BodyBounds, max_bytes=server.max_body_bytes, timeout=server.body_timeout),
        ],
        exception_handlers={
            ApiError: api_error_handler,
            HTTPException: http_error_handler,
            Exception: unexpected_error_handler,
        },
        lifespan=lifespan,
    )
    app.state.pool = pool
    app.state.writers = writers
    app.state.settings = server
    app.state.exports = asyncio.Semaphore(server.max_exports)
    app.state.known_migrations = known_migration_ids()
    return app
