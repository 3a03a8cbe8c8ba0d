"""Project workstreams, their part in sprints, and metric snapshots."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from service import db
from service.cursors import cursor_ids
from service.errors import NotFound
from service.models import (
    AssociationPut,
    MetricCreate,
    MetricListQuery,
    SprintMetric,
    SprintWorkstream,
    Workstream,
    WorkstreamCreate,
    WorkstreamListQuery,
    WorkstreamPatch,
)
from service.queries import workstreams
from service.queries.projects import project_not_found
from service.responses import JSONText
from service.routes import Endpoint, pool
from service.routes.sprints import sprint_not_found


def _workstream_not_found(workstream_id: int) -> NotFound:
    return NotFound(f"workstream {workstream_id} does not exist")


async def create_workstream(request: Request, body: WorkstreamCreate) -> Response:
    doc = await db.run(pool(request), lambda conn: workstreams.insert(conn, body))
    if doc is None:
        raise project_not_found(body.project)
    return JSONText(doc, status_code=201)


async def list_workstreams(request: Request, query: WorkstreamListQuery) -> Response:
    (after_id,) = cursor_ids(query.after, 1)
    doc = await db.run(
        pool(request),
        lambda conn: workstreams.page(
            conn,
            after_id=after_id,
            limit=query.limit,
            project=query.project,
            board=query.board,
            is_active=query.is_active,
        ),
    )
    return JSONText(doc)


async def get_workstream(request: Request) -> Response:
    workstream_id = request.path_params["workstream_id"]
    doc = await db.run(pool(request), lambda conn: workstreams.get(conn, id=workstream_id))
    if doc is None:
        raise _workstream_not_found(workstream_id)
    return JSONText(doc)


async def patch_workstream(request: Request, body: WorkstreamPatch) -> Response:
    workstream_id = request.path_params["workstream_id"]
    patch = body.model_dump(mode="json", exclude_unset=True)
    doc = await db.run(pool(request), lambda conn: workstreams.update(conn, id=workstream_id, patch=patch))
    if doc is None:
        raise _workstream_not_found(workstream_id)
    return JSONText(doc)


async def delete_workstream(request: Request) -> Response:
    workstream_id = request.path_params["workstream_id"]
    if not await db.run(
        pool(request), lambda conn: workstreams.delete(conn, id=workstream_id), deleting=True
    ):
        raise _workstream_not_found(workstream_id)
    return Response(status_code=204)


async def put_sprint_workstream(request: Request, body: AssociationPut) -> Response:
    sprint_id, workstream_id = request.path_params["sprint_id"], request.path_params["workstream_id"]
    put = await db.run(
        pool(request),
        lambda conn: workstreams.associate(
            conn, sprint_id=sprint_id, workstream_id=workstream_id, association=body
        ),
    )
    if put is None:
        raise sprint_not_found(sprint_id)
    doc, created = put
    return JSONText(doc, status_code=201 if created else 200)


async def list_sprint_workstreams(request: Request) -> Response:
    sprint_id = request.path_params["sprint_id"]
    doc = await db.run(pool(request), lambda conn: workstreams.associations(conn, sprint_id=sprint_id))
    if doc is None:
        raise sprint_not_found(sprint_id)
    return JSONText(doc)


async def delete_sprint_workstream(request: Request) -> Response:
    sprint_id, workstream_id = request.path_params["sprint_id"], request.path_params["workstream_id"]
    if not await db.run(
        pool(request),
        lambda conn: workstreams.dissociate(conn, sprint_id=sprint_id, workstream_id=workstream_id),
    ):
        raise NotFound(f"workstream {workstream_id} takes no part in sprint {sprint_id}")
    return Response(status_code=204)


async def add_metric(request: Request, body: MetricCreate) -> Response:
    sprint_id = request.path_params["sprint_id"]
    added = await db.run(
        pool(request), lambda conn: workstreams.add_metric(conn, sprint_id=sprint_id, metric=body)
    )
    if not added.sprint_found:
        raise sprint_not_found(sprint_id)
    if not added.workstream_found:
        raise _workstream_not_found(body.workstream_id)
    return JSONText(added.doc, status_code=201)


async def list_metrics(request: Request, query: MetricListQuery) -> Response:
    sprint_id = request.path_params["sprint_id"]
    doc = await db.run(
        pool(request),
        lambda conn: workstreams.metrics(conn, sprint_id=sprint_id, workstream_id=query.workstream_id),
    )
    if doc is None:
        raise sprint_not_found(sprint_id)
    return JSONText(doc)


_NO_WORKSTREAM = ("no such workstream", None)
_NO_SPRINT = ("no such sprint", None)

ENDPOINTS = [
    Endpoint(
        "POST",
        "/workstreams",
        create_workstream,
        "Create a project workstream",
        body=WorkstreamCreate,
        responses={
            201: ("the workstream", Workstream),
            404: ("no such project", None),
            409: ("the project already has an active workstream", None),
        },
    ),
    Endpoint(
        "GET",
        "/workstreams",
        list_workstreams,
        "List workstreams by project, board or activity",
        query=WorkstreamListQuery,
        responses={200: ("a page of workstreams", [Workstream])},
    ),
    Endpoint(
        "GET",
        "/workstreams/{workstream_id:id}",
        get_workstream,
        "Read a workstream",
        responses={200: ("the workstream", Workstream), 404: _NO_WORKSTREAM},
    ),
    Endpoint(
        "PATCH",
        "/workstreams/{workstream_id:id}",
        patch_workstream,
        "Change a workstream",
        body=WorkstreamPatch,
        responses={
            200: ("the workstream", Workstream),
            404: _NO_WORKSTREAM,
            409: ("the project already has an active workstream", None),
        },
    ),
    Endpoint(
        "DELETE",
        "/workstreams/{workstream_id:id}",
        delete_workstream,
        "Delete a workstream with its associations and metrics",
        responses={204: ("deleted", None), 404: _NO_WORKSTREAM},
    ),
    Endpoint(
        "GET",
        "/sprints/{sprint_id:id}/workstreams",
        list_sprint_workstreams,
        "The workstreams taking part in the sprint",
        responses={200: ("the associations", [SprintWorkstream]), 404: _NO_SPRINT},
    ),
    Endpoint(
        "PUT",
        "/sprints/{sprint_id:id}/workstreams/{workstream_id:id}",
        put_sprint_workstream,
        "Put a workstream in the sprint, or change how it takes part",
        body=AssociationPut,
        responses={
            201: ("added", SprintWorkstream),
            200: ("changed", SprintWorkstream),
            404: ("no such sprint or workstream", None),
            409: ("the sprint already has a primary workstream", None),
        },
    ),
    Endpoint(
        "DELETE",
        "/sprints/{sprint_id:id}/workstreams/{workstream_id:id}",
        delete_sprint_workstream,
        "Take a workstream out of the sprint (its snapshots go with it)",
        responses={204: ("removed", None), 404: ("no such association", None)},
    ),
    Endpoint(
        "POST",
        "/sprints/{sprint_id:id}/metrics",
        add_metric,
        "Record a metric snapshot",
        body=MetricCreate,
        responses={
            201: ("the snapshot", SprintMetric),
            404: ("no such sprint or workstream", None),
            409: ("the workstream takes no active part in the sprint", None),
        },
    ),
    Endpoint(
        "GET",
        "/sprints/{sprint_id:id}/metrics",
        list_metrics,
        "The sprint's snapshots in time order",
        query=MetricListQuery,
        responses={200: ("the snapshots", [SprintMetric]), 404: _NO_SPRINT},
    ),
]
