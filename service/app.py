"""The Starlette application: factory, lifespan, health routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Route

from service import access, db, guards, mcp_server, openapi
from service.config import PoolSettings, ServerSettings
from service.db import create_pool
from service.errors import (
    ApiError,
    api_error_handler,
    http_error_handler,
    unexpected_error_handler,
)
from service.migrations import known_migration_ids
from service.postgres import resolve_database_url
from service.request_log import RequestLog
from service.routes import (
    KEY_PARAMETERS,
    Endpoint,
    capacities,
    epics,
    features,
    health,
    projects,
    queue,
    reports,
    sprint_queue_items,
    sprints,
    tasks,
    tokens,
    users,
    workstreams,
)
from service.ui import routes as ui
from service.ui import sign_in

log = logging.getLogger("worktrack.app")


def _route_path(path: str) -> str:
    """{project} -> {project:key}: see service.routes.KEY_PARAMETERS."""
    for name in KEY_PARAMETERS:
        path = path.replace("{" + name + "}", "{" + name + ":key}")
    return path


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

    # The router tries routes in this order, so the agents' and dashboards' hot
    # paths (claim, task get, page, create) come first; no route may shadow another
    # (tests/test_app.py checks).
    endpoints = [
        *queue.ENDPOINTS,
        *tasks.ENDPOINTS,
        *projects.ENDPOINTS,
        *epics.ENDPOINTS,
        *features.ENDPOINTS,
        *users.ENDPOINTS,
        *sprints.ENDPOINTS,
        *workstreams.ENDPOINTS,
        *capacities.ENDPOINTS,
        *sprint_queue_items.ENDPOINTS,
        *reports.ENDPOINTS,
        *tokens.ENDPOINTS,
        *health.ENDPOINTS,
    ]

    writers = db.WriterGate(pool)
    enabled = access.auth_enabled()

    def authorize(rule: access.Rule, *, cookie: bool = False, sign_in: str | None = None) -> Middleware:
        return Middleware(
            access.Authorize, pool=pool, rule=rule, enabled=enabled, cookie=cookie, sign_in=sign_in
        )

    def api_guards(rule: access.Rule, *, keeps_answers: bool = True) -> list[Middleware]:
        return guards.json_api(server.allowed_hosts, writers, authorize(rule), keeps_answers=keeps_answers)

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

    def guarded(endpoint: Endpoint) -> list[Middleware]:
        if endpoint.probe:  # probes and scrapers reach these by whatever address they have
            return [] if endpoint.access_rule.need == "open" else [authorize(endpoint.access_rule)]
        return api_guards(endpoint.access_rule, keeps_answers=not endpoint.secret_answer)

    routes = [
        # /mcp first: agents call it most, and the router tries the routes in order.
        # It checks its Host itself (WORKTRACK_MCP_ALLOWED_HOSTS); each tool its project.
        *(mcp_guarded(route) for route in mcp_routes),
        *(
            Route(_route_path(e.path), e.serve(), methods=[e.method], middleware=guarded(e))
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
    app.state.openapi = openapi.build(endpoints)
    app.state.writers = writers
    app.state.settings = server
    app.state.exports = asyncio.Semaphore(server.max_exports)
    app.state.known_migrations = known_migration_ids()
    return app
