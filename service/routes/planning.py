"""Saved reports, team capacities and the per-person sprint queues."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from service import db
from service.api import JSONText, cursor_ids, read_body, read_query
from service.errors import NotFound, Unprocessable
from service.models import CapacityPut, QueueItemCreate, QueueListQuery, ReportCreate, ReportListQuery
from service.queries import planning
from service.routes import Endpoint, pool
from service.routes.sprints import require_sprint, sprint_not_found


async def create_report(request: Request) -> Response:
    body = await read_body(request, ReportCreate)
    doc = await db.run(pool(request), lambda conn: planning.add_report(conn, **body.model_dump()))
    return JSONText(doc, status_code=201)


async def list_reports(request: Request) -> Response:
    query = read_query(request, ReportListQuery)
    (after_id,) = cursor_ids(query.after, 1)
    doc = await db.run(
        pool(request),
        lambda conn: planning.reports(
            conn, after_id=after_id, limit=query.limit, sprint_id=query.sprint_id, report_type=query.type
        ),
    )
    return JSONText(doc)


async def get_report(request: Request) -> Response:
    report_id = request.path_params["report_id"]
    doc = await db.run(pool(request), lambda conn: planning.get_report(conn, id=report_id))
    if doc is None:
        raise NotFound(f"report {report_id} does not exist")
    return JSONText(doc)


async def delete_report(request: Request) -> Response:
    report_id = request.path_params["report_id"]
    if not await db.run(
        pool(request), lambda conn: planning.delete_report(conn, id=report_id), deleting=True
    ):
        raise NotFound(f"report {report_id} does not exist")
    return Response(status_code=204)


async def put_capacity(request: Request) -> Response:
    sprint_id, user_id = request.path_params["sprint_id"], request.path_params["user_id"]
    body = await read_body(request, CapacityPut)
    await require_sprint(request, sprint_id)
    doc, created = await db.run(
        pool(request),
        lambda conn: planning.put_capacity(conn, sprint_id=sprint_id, user_id=user_id, **body.model_dump()),
    )
    return JSONText(doc, status_code=201 if created else 200)


async def list_capacities(request: Request) -> Response:
    sprint_id = request.path_params["sprint_id"]
    doc = await db.run(pool(request), lambda conn: planning.capacities(conn, sprint_id=sprint_id))
    if doc is None:
        raise sprint_not_found(sprint_id)
    return JSONText(doc)


async def delete_capacity(request: Request) -> Response:
    sprint_id, user_id = request.path_params["sprint_id"], request.path_params["user_id"]
    if not await db.run(
        pool(request), lambda conn: planning.delete_capacity(conn, sprint_id=sprint_id, user_id=user_id)
    ):
        raise NotFound(f"user {user_id} has no capacity in sprint {sprint_id}")
    return Response(status_code=204)


async def add_queue_item(request: Request) -> Response:
    sprint_id = request.path_params["sprint_id"]
    body = await read_body(request, QueueItemCreate)
    if (body.task is None) != (body.project is None):
        raise Unprocessable(
            "name a task by both project and task, or neither",
            errors=[{"field": "body.task", "message": "goes with body.project"}],
        )
    await require_sprint(request, sprint_id)
    doc = await db.run(
        pool(request), lambda conn: planning.add_queue_item(conn, sprint_id=sprint_id, **body.model_dump())
    )
    if doc is None:
        raise NotFound(f"task {body.task!r} does not exist in project {body.project!r}")
    return JSONText(doc, status_code=201)


async def list_queue(request: Request) -> Response:
    sprint_id = request.path_params["sprint_id"]
    query = read_query(request, QueueListQuery)
    doc = await db.run(
        pool(request), lambda conn: planning.queue(conn, sprint_id=sprint_id, user_id=query.user_id)
    )
    if doc is None:
        raise sprint_not_found(sprint_id)
    return JSONText(doc)


async def delete_queue_item(request: Request) -> Response:
    sprint_id, item_id = request.path_params["sprint_id"], request.path_params["item_id"]
    if not await db.run(
        pool(request), lambda conn: planning.delete_queue_item(conn, sprint_id=sprint_id, id=item_id)
    ):
        raise NotFound(f"sprint {sprint_id} has no queue item {item_id}")
    return Response(status_code=204)


_NO_SPRINT = ("no such sprint", None)

ENDPOINTS = [
    Endpoint(
        "POST",
        "/reports",
        create_report,
        "Save a report",
        body=ReportCreate,
        responses={201: ("the report", "row"), 404: ("no such sprint, project or user", None)},
    ),
    Endpoint(
        "GET",
        "/reports",
        list_reports,
        "List saved reports",
        query=ReportListQuery,
        responses={200: ("a page of reports", ["row"])},
    ),
    Endpoint(
        "GET",
        "/reports/{report_id:id}",
        get_report,
        "Read a saved report",
        responses={200: ("the report", "row"), 404: ("no such report", None)},
    ),
    Endpoint(
        "DELETE",
        "/reports/{report_id:id}",
        delete_report,
        "Delete a saved report",
        responses={204: ("deleted", None), 404: ("no such report", None)},
    ),
    Endpoint(
        "GET",
        "/sprints/{sprint_id:id}/capacities",
        list_capacities,
        "Team capacities in the sprint",
        responses={200: ("the capacities", ["row"]), 404: _NO_SPRINT},
    ),
    Endpoint(
        "PUT",
        "/sprints/{sprint_id:id}/capacities/{user_id:id}",
        put_capacity,
        "Set a person's capacity and allocation in the sprint",
        body=CapacityPut,
        responses={201: ("added", "row"), 200: ("changed", "row"), 404: ("no such sprint or user", None)},
    ),
    Endpoint(
        "DELETE",
        "/sprints/{sprint_id:id}/capacities/{user_id:id}",
        delete_capacity,
        "Remove a person's capacity",
        responses={204: ("removed", None), 404: ("no such capacity", None)},
    ),
    Endpoint(
        "GET",
        "/sprints/{sprint_id:id}/queue",
        list_queue,
        "The sprint's work queues, person by person",
        query=QueueListQuery,
        responses={200: ("the queue items", ["row"]), 404: _NO_SPRINT},
    ),
    Endpoint(
        "POST",
        "/sprints/{sprint_id:id}/queue",
        add_queue_item,
        "Add to a person's queue",
        body=QueueItemCreate,
        responses={
            201: ("the item", "row"),
            404: ("no such sprint, user or task", None),
            409: ("the position is taken", None),
        },
    ),
    Endpoint(
        "DELETE",
        "/sprints/{sprint_id:id}/queue/{item_id:id}",
        delete_queue_item,
        "Remove a queue item",
        responses={204: ("removed", None), 404: ("no such item", None)},
    ),
]
