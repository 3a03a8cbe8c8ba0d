"""Projects: create, list, read, change, delete, export."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from service import db
from service.cursors import cursor_ids
from service.errors import ServiceUnavailable
from service.models import Export, Project, ProjectCreate, ProjectListQuery, ProjectPatch
from service.queries import projects
from service.queries.projects import project_not_found
from service.responses import JSONText, StreamedJSON
from service.routes import Endpoint, if_match, pool


async def create_project(request: Request, body: ProjectCreate) -> Response:
    doc = await db.run(pool(request), lambda conn: projects.insert(conn, **body.model_dump()))
    return JSONText(doc, status_code=201, headers={"Location": f"/projects/{body.key}"})


async def list_projects(request: Request, query: ProjectListQuery) -> Response:
    (after_id,) = cursor_ids(query.after, 1)
    doc = await db.run(
        pool(request),
        lambda conn: projects.page(conn, after_id=after_id, limit=query.limit, is_active=query.is_active),
    )
    return JSONText(doc)


async def get_project(request: Request) -> Response:
    project = request.path_params["project"]
    doc = await db.run(pool(request), lambda conn: projects.get(conn, project=project))
    if doc is None:
        raise project_not_found(project)
    return JSONText(doc)


async def patch_project(request: Request, body: ProjectPatch) -> Response:
    project = request.path_params["project"]
    patch = body.model_dump(mode="json", exclude_unset=True)
    doc = await db.run(
        pool(request),
        if_match(
            request,
            lambda conn: projects.get(conn, project=project),
            lambda conn: projects.update(conn, project=project, patch=patch),
        ),
    )
    if doc is None:
        raise project_not_found(project)
    return JSONText(doc)


async def delete_project(request: Request) -> Response:
    project = request.path_params["project"]
    if not await db.run(
        pool(request),
        if_match(
            request,
            lambda conn: projects.get(conn, project=project),
            lambda conn: projects.delete(conn, project=project),
        ),
        deleting=True,
    ):
        raise project_not_found(project)
    return Response(status_code=204)


async def export_project(request: Request) -> Response:
    """Streamed as the rows come, so memory does not grow with the project; only a few
    run at once (WORKTRACK_MAX_EXPORTS), so exports never hold the whole pool."""
    project = request.path_params["project"]
    settings = request.app.state.settings
    running: asyncio.Semaphore = request.app.state.exports
    if running.locked():
        raise ServiceUnavailable("as many exports as allowed are running; try again", retry_after=5)
    await running.acquire()  # released when the answer ends (StreamedJSON)
    try:
        pieces = await db.stream(
            pool(request),
            lambda conn: projects.export(conn, project=project, timeout_ms=settings.export_timeout_ms),
        )
    except BaseException:
        running.release()
        raise
    if pieces is None:
        running.release()
        raise project_not_found(project)
    return StreamedJSON(pieces, on_close=running.release)


ENDPOINTS = [
    Endpoint(
        "POST",
        "/projects",
        create_project,
        "Create a project",
        body=ProjectCreate,
        responses={201: ("the project", Project), 409: ("the key is taken", None)},
    ),
    Endpoint(
        "GET",
        "/projects",
        list_projects,
        "List projects",
        query=ProjectListQuery,
        responses={200: ("a page of projects", [Project])},
    ),
    Endpoint(
        "GET",
        "/projects/{project}",
        get_project,
        "Read a project",
        responses={200: ("the project", Project), 404: ("no such project", None)},
    ),
    Endpoint(
        "PATCH",
        "/projects/{project}",
        patch_project,
        "Change a project",
        body=ProjectPatch,
        responses={200: ("the project", Project), 404: ("no such project", None)},
    ),
    Endpoint(
        "DELETE",
        "/projects/{project}",
        delete_project,
        "Delete a project and all its work",
        responses={204: ("deleted", None), 404: ("no such project", None)},
    ),
    Endpoint(
        "GET",
        "/projects/{project}/export",
        export_project,
        "The whole project as one document",
        responses={
            200: ("the project, epics, features, tasks, dependencies and history", Export),
            404: ("no such project", None),
        },
    ),
]
