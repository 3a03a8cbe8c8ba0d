"""Each person's queue of work in a sprint (the agent queue is service.routes.queue)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from service import db
from service.errors import NotFound
from service.models import QueueItemCreate, QueueListQuery, SprintQueueItem
from service.queries import sprint_queue_items
from service.responses import JSONText
from service.routes import Endpoint, pool
from service.routes.sprints import missing_project_named, sprint_not_found


async def add_queue_item(request: Request, body: QueueItemCreate) -> Response:
    sprint_id = request.path_params["sprint_id"]
    added = await db.run(
        pool(request), lambda conn: sprint_queue_items.insert(conn, sprint_id=sprint_id, item=body)
    )
    if not added.sprint_found:
        raise sprint_not_found(sprint_id)
    if not added.project_found:
        raise missing_project_named(str(body.project))
    if added.doc is None:
        message = f"task {body.task!r} does not exist in project {body.project!r}"
        raise NotFound(message, errors=[{"field": "body.task", "message": message}])
    return JSONText(added.doc, status_code=201)


async def list_queue(request: Request, query: QueueListQuery) -> Response:
    sprint_id = request.path_params["sprint_id"]
    doc = await db.run(
        pool(request),
        lambda conn: sprint_queue_items.of_sprint(conn, sprint_id=sprint_id, user_id=query.user_id),
    )
    if doc is None:
        raise sprint_not_found(sprint_id)
    return JSONText(doc)


async def delete_queue_item(request: Request) -> Response:
    sprint_id, item_id = request.path_params["sprint_id"], request.path_params["item_id"]
    if not await db.run(
        pool(request), lambda conn: sprint_queue_items.delete(conn, sprint_id=sprint_id, id=item_id)
    ):
        raise NotFound(f"sprint {sprint_id} has no queue item {item_id}")
    return Response(status_code=204)


ENDPOINTS = [
    Endpoint(
        "GET",
        "/sprints/{sprint_id:id}/queue",
        list_queue,
        "The sprint's work queues, person by person",
        query=QueueListQuery,
        responses={200: ("the queue items", [SprintQueueItem]), 404: ("no such sprint", None)},
    ),
    Endpoint(
        "POST",
        "/sprints/{sprint_id:id}/queue",
        add_queue_item,
        "Add to a person's queue",
        body=QueueItemCreate,
        responses={
            201: ("the item", SprintQueueItem),
            404: ("no such sprint, user, project or task", None),
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
