"""Users, sprints, their analyses and the computed sprint report."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from service import db
from service.api import JSONText, cursor_ids, read_body, read_query
from service.errors import NotFound, Unprocessable
from service.models import (
    AnalysisCreate,
    AnalysisListQuery,
    SprintClose,
    SprintCreate,
    SprintListQuery,
    SprintPatch,
    SprintReportQuery,
    SprintStart,
    UserCreate,
    UserListQuery,
    UserPatch,
)
from service.queries import sprints, users
from service.routes import Endpoint, pool


def sprint_not_found(sprint_id: int) -> NotFound:
    return NotFound(f"sprint {sprint_id} does not exist")


async def require_sprint(request: Request, sprint_id: int) -> None:
    if not await db.run(pool(request), lambda conn: sprints.exists(conn, id=sprint_id)):
        raise sprint_not_found(sprint_id)


def _user_not_found(user_id: int) -> NotFound:
    return NotFound(f"user {user_id} does not exist")


async def create_user(request: Request) -> Response:
    body = await read_body(request, UserCreate)
    doc = await db.run(pool(request), lambda conn: users.insert(conn, **body.model_dump()))
    return JSONText(doc, status_code=201)


async def list_users(request: Request) -> Response:
    query = read_query(request, UserListQuery)
    (after_id,) = cursor_ids(query.after, 1)
    if query.settings is not None:
        try:
            wanted = json.loads(query.settings)
        except ValueError:
            wanted = None
        if not isinstance(wanted, dict):
            raise Unprocessable(
                "settings must be a JSON object",
                errors=[{"field": "query.settings", "message": 'a JSON object, e.g. {"theme": "dark"}'}],
            )
    doc = await db.run(
        pool(request),
        lambda conn: users.page(
            conn, after_id=after_id, limit=query.limit, is_active=query.is_active, settings=query.settings
        ),
    )
    return JSONText(doc)


async def get_user(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    doc = await db.run(pool(request), lambda conn: users.get(conn, id=user_id))
    if doc is None:
        raise _user_not_found(user_id)
    return JSONText(doc)


async def patch_user(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    patch = (await read_body(request, UserPatch)).model_dump(mode="json", exclude_unset=True)
    doc = await db.run(pool(request), lambda conn: users.update(conn, id=user_id, patch=patch))
    if doc is None:
        raise _user_not_found(user_id)
    return JSONText(doc)


async def delete_user(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    if not await db.run(pool(request), lambda conn: users.delete(conn, id=user_id), deleting=True):
        raise _user_not_found(user_id)
    return Response(status_code=204)


async def create_sprint(request: Request) -> Response:
    body = await read_body(request, SprintCreate)
    doc = await db.run(pool(request), lambda conn: sprints.insert(conn, **body.model_dump()))
    return JSONText(doc, status_code=201)


async def list_sprints(request: Request) -> Response:
    query = read_query(request, SprintListQuery)
    (after_id,) = cursor_ids(query.after, 1)
    doc = await db.run(
        pool(request),
        lambda conn: sprints.page(
            conn,
            after_id=after_id,
            limit=query.limit,
            state=query.state,
            project=query.project,
            board=query.board,
        ),
    )
    return JSONText(doc)


async def get_sprint(request: Request) -> Response:
    sprint_id = request.path_params["sprint_id"]
    doc = await db.run(pool(request), lambda conn: sprints.get(conn, id=sprint_id))
    if doc is None:
        raise sprint_not_found(sprint_id)
    return JSONText(doc)


_STATE_ROUTES = "a sprint's state changes only through POST /sprints/{id}/start and POST /sprints/{id}/close"


async def patch_sprint(request: Request) -> Response:
    sprint_id = request.path_params["sprint_id"]
    try:
        body = await read_body(request, SprintPatch)
    except Unprocessable as exc:
        if any(error.get("field") == "body.state" for error in exc.errors or []):
            raise Unprocessable(
                _STATE_ROUTES, errors=[{"field": "body.state", "message": _STATE_ROUTES}]
            ) from None
        raise
    patch = body.model_dump(mode="json", exclude_unset=True)
    doc = await db.run(pool(request), lambda conn: sprints.update(conn, id=sprint_id, patch=patch))
    if doc is None:
        raise sprint_not_found(sprint_id)
    return JSONText(doc)


async def start_sprint(request: Request) -> Response:
    sprint_id = request.path_params["sprint_id"]
    body = (
        await read_body(request, SprintStart)
        if await request.body()
        else SprintStart(activated_at=None, end_date=None)
    )
    doc = await db.run(
        pool(request),
        lambda conn: sprints.start(
            conn, id=sprint_id, activated_at=body.activated_at, end_date=body.end_date
        ),
    )
    if doc is None:
        raise sprint_not_found(sprint_id)
    return JSONText(doc)


async def close_sprint(request: Request) -> Response:
    sprint_id = request.path_params["sprint_id"]
    body = await read_body(request, SprintClose)
    doc = await db.run(
        pool(request),
        lambda conn: sprints.close(
            conn, id=sprint_id, move_to=body.move_open_tasks_to, completed_at=body.completed_at
        ),
    )
    if doc is None:
        raise sprint_not_found(sprint_id)
    return JSONText(doc)


async def delete_sprint(request: Request) -> Response:
    sprint_id = request.path_params["sprint_id"]
    if not await db.run(pool(request), lambda conn: sprints.delete(conn, id=sprint_id), deleting=True):
        raise sprint_not_found(sprint_id)
    return Response(status_code=204)


async def add_analysis(request: Request) -> Response:
    sprint_id = request.path_params["sprint_id"]
    body = await read_body(request, AnalysisCreate)
    await require_sprint(request, sprint_id)
    doc = await db.run(
        pool(request), lambda conn: sprints.add_analysis(conn, sprint_id=sprint_id, **body.model_dump())
    )
    return JSONText(doc, status_code=201)


async def list_analyses(request: Request) -> Response:
    sprint_id = request.path_params["sprint_id"]
    query = read_query(request, AnalysisListQuery)
    doc = await db.run(
        pool(request), lambda conn: sprints.analyses(conn, sprint_id=sprint_id, analysis_type=query.type)
    )
    if doc is None:
        raise sprint_not_found(sprint_id)
    return JSONText(doc)


async def sprint_report(request: Request) -> Response:
    sprint_id = request.path_params["sprint_id"]
    query = read_query(request, SprintReportQuery)
    doc = await db.run(
        pool(request),
        lambda conn: sprints.report(conn, sprint_id=sprint_id, velocity_sprints=query.velocity_sprints),
    )
    if doc is None:
        raise sprint_not_found(sprint_id)
    return JSONText(doc)


_NO_USER = ("no such user", None)
_NO_SPRINT = ("no such sprint", None)

ENDPOINTS = [
    Endpoint(
        "POST",
        "/users",
        create_user,
        "Create a user",
        body=UserCreate,
        responses={201: ("the user", "row"), 409: ("the email or Jira account is taken", None)},
    ),
    Endpoint(
        "GET",
        "/users",
        list_users,
        "List users",
        query=UserListQuery,
        responses={200: ("a page of users", ["row"])},
    ),
    Endpoint(
        "GET",
        "/users/{user_id:id}",
        get_user,
        "Read a user",
        responses={200: ("the user", "row"), 404: _NO_USER},
    ),
    Endpoint(
        "PATCH",
        "/users/{user_id:id}",
        patch_user,
        "Change a user",
        body=UserPatch,
        responses={200: ("the user", "row"), 404: _NO_USER, 409: ("the email is taken", None)},
    ),
    Endpoint(
        "DELETE",
        "/users/{user_id:id}",
        delete_user,
        "Delete a user",
        responses={204: ("deleted", None), 404: _NO_USER},
    ),
    Endpoint(
        "POST",
        "/sprints",
        create_sprint,
        "Create a sprint",
        body=SprintCreate,
        responses={201: ("the sprint", "row"), 409: ("the Jira sprint id is taken", None)},
    ),
    Endpoint(
        "GET",
        "/sprints",
        list_sprints,
        "List sprints by state, project or board",
        query=SprintListQuery,
        responses={200: ("a page of sprints", ["row"])},
    ),
    Endpoint(
        "GET",
        "/sprints/{sprint_id:id}",
        get_sprint,
        "Read a sprint",
        responses={200: ("the sprint", "row"), 404: _NO_SPRINT},
    ),
    Endpoint(
        "PATCH",
        "/sprints/{sprint_id:id}",
        patch_sprint,
        "Change a sprint (not its state: start and close do that)",
        body=SprintPatch,
        responses={
            200: ("the sprint", "row"),
            404: _NO_SPRINT,
            409: ("the sprint is closed: its dates and time zone are final", None),
        },
    ),
    Endpoint(
        "POST",
        "/sprints/{sprint_id:id}/start",
        start_sprint,
        "Start a future sprint (activated_at: now, or the real start for imports)",
        body=SprintStart,
        responses={
            200: ("the active sprint", "row"),
            404: _NO_SPRINT,
            409: ("the sprint is not future", None),
        },
    ),
    Endpoint(
        "POST",
        "/sprints/{sprint_id:id}/close",
        close_sprint,
        "Close an active sprint, moving every task not completed to another sprint or the backlog",
        body=SprintClose,
        responses={
            200: ("the closed sprint", "row"),
            404: ("no such sprint, or no sprint to move the open work to", None),
            409: ("the sprint is not active, or the target sprint is closed", None),
        },
    ),
    Endpoint(
        "DELETE",
        "/sprints/{sprint_id:id}",
        delete_sprint,
        "Delete a sprint with its analyses, associations and metrics",
        responses={204: ("deleted", None), 404: _NO_SPRINT, 409: ("the sprint still has queue items", None)},
    ),
    Endpoint(
        "POST",
        "/sprints/{sprint_id:id}/analyses",
        add_analysis,
        "Record an analysis of the sprint",
        body=AnalysisCreate,
        responses={201: ("the analysis", "row"), 404: ("no such sprint or project", None)},
    ),
    Endpoint(
        "GET",
        "/sprints/{sprint_id:id}/analyses",
        list_analyses,
        "The sprint's analyses",
        query=AnalysisListQuery,
        responses={200: ("the analyses", ["row"]), 404: _NO_SPRINT},
    ),
    Endpoint(
        "GET",
        "/sprints/{sprint_id:id}/report",
        sprint_report,
        "The computed sprint report: commitment, completion, scope change, carry-over, burndown, velocity",
        query=SprintReportQuery,
        responses={200: ("the report", "report"), 404: _NO_SPRINT},
    ),
]
