"""Epics: create, list, read, change, delete, each with its progress."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from service import db
from service.cursors import cursor_ids
from service.models import Epic, EpicCreate, EpicPatch, PageQuery
from service.queries import epics
from service.responses import JSONText, stored_project_key
from service.routes import Endpoint, if_match, pool


async def create_epic(request: Request, body: EpicCreate) -> Response:
    project = request.path_params["project"]
    doc = await db.run(
        pool(request),
        lambda conn: epics.insert(
            conn,
            project=project,
            key=body.key,
            title=body.title,
            description=body.description,
            metadata=body.metadata,
        ),
    )
    location = f"/projects/{stored_project_key(doc)}/epics/{body.key}"
    return JSONText(doc, status_code=201, headers={"Location": location})


async def list_epics(request: Request, query: PageQuery) -> Response:
    project = request.path_params["project"]
    (after_id,) = cursor_ids(query.after, 1)
    doc = await db.run(
        pool(request), lambda conn: epics.page(conn, project=project, after_id=after_id, limit=query.limit)
    )
    return JSONText(doc)


async def get_epic(request: Request) -> Response:
    project, key = request.path_params["project"], request.path_params["key"]
    doc = await db.run(pool(request), lambda conn: epics.get(conn, project=project, key=key))
    return JSONText(doc)


async def patch_epic(request: Request, body: EpicPatch) -> Response:
    project, key = request.path_params["project"], request.path_params["key"]
    patch = body.model_dump(mode="json", exclude_unset=True)
    doc = await db.run(
        pool(request),
        if_match(
            request,
            lambda conn: epics.get(conn, project=project, key=key),
            lambda conn: epics.update(conn, project=project, key=key, patch=patch),
        ),
    )
    return JSONText(doc)


async def delete_epic(request: Request) -> Response:
    project, key = request.path_params["project"], request.path_params["key"]
    await db.run(
        pool(request),
        if_match(
            request,
            lambda conn: epics.get(conn, project=project, key=key),
            lambda conn: epics.delete(conn, project=project, key=key),
        ),
        deleting=True,
    )
    return Response(status_code=204)


_NO_PROJECT = ("no such project", None)
_NO_ROW = ("no such project or row", None)

ENDPOINTS = [
    Endpoint(
        "POST",
        "/projects/{project}/epics",
        create_epic,
        "Create an epic",
        body=EpicCreate,
        responses={201: ("the epic", Epic), 404: _NO_PROJECT, 409: ("the key is taken", None)},
    ),
    Endpoint(
        "GET",
        "/projects/{project}/epics",
        list_epics,
        "List a project's epics with progress",
        query=PageQuery,
        responses={200: ("a page of epics", [Epic]), 404: _NO_PROJECT},
    ),
    Endpoint(
        "GET",
        "/projects/{project}/epics/{key}",
        get_epic,
        "Read an epic with its progress",
        responses={200: ("the epic", Epic), 404: _NO_ROW},
    ),
    Endpoint(
        "PATCH",
        "/projects/{project}/epics/{key}",
        patch_epic,
        "Change an epic",
        body=EpicPatch,
        responses={200: ("the epic", Epic), 404: _NO_ROW},
    ),
    Endpoint(
        "DELETE",
        "/projects/{project}/epics/{key}",
        delete_epic,
        "Delete an epic with its features, tasks, history and dependencies",
        responses={204: ("deleted", None), 404: _NO_ROW},
    ),
]
