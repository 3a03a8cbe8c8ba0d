"""Features: create, list, read, change, delete, each with its progress."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from service import db
from service.cursors import cursor_ids
from service.models import Feature, FeatureCreate, FeatureListQuery, FeaturePatch
from service.queries import features
from service.responses import JSONText, stored_project_key
from service.routes import Endpoint, if_match, pool


async def create_feature(request: Request, body: FeatureCreate) -> Response:
    project = request.path_params["project"]
    doc = await db.run(
        pool(request),
        lambda conn: features.insert(
            conn,
            project=project,
            epic=body.epic,
            key=body.key,
            title=body.title,
            description=body.description,
            metadata=body.metadata,
        ),
    )
    location = f"/projects/{stored_project_key(doc)}/features/{body.key}"
    return JSONText(doc, status_code=201, headers={"Location": location})


async def list_features(request: Request, query: FeatureListQuery) -> Response:
    project = request.path_params["project"]
    (after_id,) = cursor_ids(query.after, 1)
    doc = await db.run(
        pool(request),
        lambda conn: features.page(
            conn, project=project, epic=query.epic, after_id=after_id, limit=query.limit
        ),
    )
    return JSONText(doc)


async def get_feature(request: Request) -> Response:
    project, key = request.path_params["project"], request.path_params["key"]
    doc = await db.run(pool(request), lambda conn: features.get(conn, project=project, key=key))
    return JSONText(doc)


async def patch_feature(request: Request, body: FeaturePatch) -> Response:
    project, key = request.path_params["project"], request.path_params["key"]
    patch = body.model_dump(mode="json", exclude_unset=True)
    doc = await db.run(
        pool(request),
        if_match(
            request,
            lambda conn: features.get(conn, project=project, key=key),
            lambda conn: features.update(conn, project=project, key=key, patch=patch),
        ),
    )
    return JSONText(doc)


async def delete_feature(request: Request) -> Response:
    project, key = request.path_params["project"], request.path_params["key"]
    await db.run(
        pool(request),
        if_match(
            request,
            lambda conn: features.get(conn, project=project, key=key),
            lambda conn: features.delete(conn, project=project, key=key),
        ),
        deleting=True,
    )
    return Response(status_code=204)


_NO_PROJECT = ("no such project", None)
_NO_ROW = ("no such project or row", None)

ENDPOINTS = [
    Endpoint(
        "POST",
        "/projects/{project}/features",
        create_feature,
        "Create a feature under an epic",
        body=FeatureCreate,
        responses={
            201: ("the feature", Feature),
            404: ("no such project or epic", None),
            409: ("the key is taken", None),
        },
    ),
    Endpoint(
        "GET",
        "/projects/{project}/features",
        list_features,
        "List a project's features with progress",
        query=FeatureListQuery,
        responses={200: ("a page of features", [Feature]), 404: _NO_PROJECT},
    ),
    Endpoint(
        "GET",
        "/projects/{project}/features/{key}",
        get_feature,
        "Read a feature with its progress",
        responses={200: ("the feature", Feature), 404: _NO_ROW},
    ),
    Endpoint(
        "PATCH",
        "/projects/{project}/features/{key}",
        patch_feature,
        "Change a feature",
        body=FeaturePatch,
        responses={200: ("the feature", Feature), 404: _NO_ROW},
    ),
    Endpoint(
        "DELETE",
        "/projects/{project}/features/{key}",
        delete_feature,
        "Delete a feature with its tasks, history and dependencies",
        responses={204: ("deleted", None), 404: _NO_ROW},
    ),
]
