"""Sprints, their analyses and the computed sprint report."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from service import db
from service.cursors import cursor_ids
from service.errors import NotFound
from service.models import (
    AnalysisCreate,
    AnalysisListQuery,
    Sprint,
    SprintAnalysis,
    SprintClose,
    SprintCreate,
    SprintListQuery,
    SprintPatch,
    SprintReport,
    SprintReportQuery,
    SprintStart,
)
from service.queries import sprints
from service.responses import JSONText
from service.routes import Endpoint, pool


def sprint_not_found(sprint_id: int) -> NotFound:
    return NotFound(f"sprint {sprint_id} does not exist")


def missing_project_named(project: str) -> NotFound:
    """The answer to a body whose `project` names no project."""
    message = f"project {project!r} does not exist"
    return NotFound(message, errors=[{"field": "body.project", "message": message}])


async def create_sprint(request: Request, body: SprintCreate) -> Response:
    doc = await db.run(pool(request), lambda conn: sprints.insert(conn, body))
    return JSONText(doc, status_code=201)


async def list_sprints(request: Request, query: SprintListQuery) -> Response:
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


async def patch_sprint(request: Request, body: SprintPatch) -> Response:
    sprint_id = request.path_params["sprint_id"]
    patch = body.model_dump(mode="json", exclude_unset=True)
    doc = await db.run(pool(request), lambda conn: sprints.update(conn, id=sprint_id, patch=patch))
    if doc is None:
        raise sprint_not_found(sprint_id)
    return JSONText(doc)


async def start_sprint(request: Request, body: SprintStart) -> Response:
    sprint_id = request.path_params["sprint_id"]
    doc = await db.run(
        pool(request),
        lambda conn: sprints.start(
            conn, id=sprint_id, activated_at=body.activated_at, end_date=body.end_date
        ),
    )
    if doc is None:
        raise sprint_not_found(sprint_id)
    return JSONText(doc)


async def close_sprint(request: Request, body: SprintClose) -> Response:
    sprint_id = request.path_params["sprint_id"]
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


async def add_analysis(request: Request, body: AnalysisCreate) -> Response:
    sprint_id = request.path_params["sprint_id"]
    added = await db.run(
        pool(request), lambda conn: sprints.add_analysis(conn, sprint_id=sprint_id, analysis=body)
    )
    if not added.sprint_found:
        raise sprint_not_found(sprint_id)
    if not added.project_found:
        raise missing_project_named(str(body.project))
    return JSONText(added.doc, status_code=201)


async def list_analyses(request: Request, query: AnalysisListQuery) -> Response:
    sprint_id = request.path_params["sprint_id"]
    doc = await db.run(
        pool(request), lambda conn: sprints.analyses(conn, sprint_id=sprint_id, analysis_type=query.type)
    )
    if doc is None:
        raise sprint_not_found(sprint_id)
    return JSONText(doc)


async def sprint_report(request: Request, query: SprintReportQuery) -> Response:
    sprint_id = request.path_params["sprint_id"]
    doc = await db.run(
        pool(request),
        lambda conn: sprints.report(conn, sprint_id=sprint_id, velocity_sprints=query.velocity_sprints),
    )
    if doc is None:
        raise sprint_not_found(sprint_id)
    return JSONText(doc)


_NO_SPRINT = ("no such sprint", None)

ENDPOINTS = [
    Endpoint(
        "POST",
        "/sprints",
        create_sprint,
        "Create a sprint",
        body=SprintCreate,
        responses={201: ("the sprint", Sprint), 409: ("the Jira sprint id is taken", None)},
    ),
    Endpoint(
        "GET",
        "/sprints",
        list_sprints,
        "List sprints by state, project or board",
        query=SprintListQuery,
        responses={200: ("a page of sprints", [Sprint])},
    ),
    Endpoint(
        "GET",
        "/sprints/{sprint_id:id}",
        get_sprint,
        "Read a sprint",
        responses={200: ("the sprint", Sprint), 404: _NO_SPRINT},
    ),
    Endpoint(
        "PATCH",
        "/sprints/{sprint_id:id}",
        patch_sprint,
        "Change a sprint (not its state: start and close do that)",
        body=SprintPatch,
        responses={
            200: ("the sprint", Sprint),
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
        body_optional=True,
        responses={
            200: ("the active sprint", Sprint),
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
            200: ("the closed sprint", Sprint),
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
        responses={201: ("the analysis", SprintAnalysis), 404: ("no such sprint or project", None)},
    ),
    Endpoint(
        "GET",
        "/sprints/{sprint_id:id}/analyses",
        list_analyses,
        "The sprint's analyses",
        query=AnalysisListQuery,
        responses={200: ("the analyses", [SprintAnalysis]), 404: _NO_SPRINT},
    ),
    Endpoint(
        "GET",
        "/sprints/{sprint_id:id}/report",
        sprint_report,
        "The computed sprint report: commitment, completion, scope change, carry-over, burndown, velocity",
        query=SprintReportQuery,
        responses={200: ("the report", SprintReport), 404: _NO_SPRINT},
    ),
]
