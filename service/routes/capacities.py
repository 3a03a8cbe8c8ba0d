"""Team capacities: what each person can take on in a sprint."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from service import db
from service.errors import NotFound
from service.models import Capacity, CapacityPut
from service.queries import capacities
from service.responses import JSONText
from service.routes import Endpoint, pool
from service.routes.sprints import sprint_not_found


async def put_capacity(request: Request, body: CapacityPut) -> Response:
    sprint_id, user_id = request.path_params["sprint_id"], request.path_params["user_id"]
    put = await db.run(
        pool(request), lambda conn: capacities.put(conn, sprint_id=sprint_id, user_id=user_id, capacity=body)
    )
    if put is None:
        raise sprint_not_found(sprint_id)
    doc, created = put
    return JSONText(doc, status_code=201 if created else 200)


async def list_capacities(request: Request) -> Response:
    sprint_id = request.path_params["sprint_id"]
    doc = await db.run(pool(request), lambda conn: capacities.of_sprint(conn, sprint_id=sprint_id))
    if doc is None:
        raise sprint_not_found(sprint_id)
    return JSONText(doc)


async def delete_capacity(request: Request) -> Response:
    sprint_id, user_id = request.path_params["sprint_id"], request.path_params["user_id"]
    if not await db.run(
        pool(request), lambda conn: capacities.delete(conn, sprint_id=sprint_id, user_id=user_id)
    ):
        raise NotFound(f"user {user_id} has no capacity in sprint {sprint_id}")
    return Response(status_code=204)


ENDPOINTS = [
    Endpoint(
        "GET",
        "/sprints/{sprint_id:id}/capacities",
        list_capacities,
        "Team capacities in the sprint",
        responses={200: ("the capacities", [Capacity]), 404: ("no such sprint", None)},
    ),
    Endpoint(
        "PUT",
        "/sprints/{sprint_id:id}/capacities/{user_id:id}",
        put_capacity,
        "Set a person's capacity and allocation in the sprint",
        body=CapacityPut,
        responses={
            201: ("added", Capacity),
            200: ("changed", Capacity),
            404: ("no such sprint or user", None),
        },
    ),
    Endpoint(
        "DELETE",
        "/sprints/{sprint_id:id}/capacities/{user_id:id}",
        delete_capacity,
        "Remove a person's capacity",
        responses={204: ("removed", None), 404: ("no such capacity", None)},
    ),
]
