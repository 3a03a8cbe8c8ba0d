"""Saved reports (the computed sprint report is GET /sprints/{id}/report)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from service import db
from service.cursors import cursor_ids
from service.errors import NotFound
from service.models import ReportCreate, ReportListQuery, SavedReport
from service.queries import reports
from service.responses import JSONText
from service.routes import Endpoint, pool
from service.routes.sprints import missing_project_named


def _report_not_found(report_id: int) -> NotFound:
    return NotFound(f"report {report_id} does not exist")


async def create_report(request: Request, body: ReportCreate) -> Response:
    doc = await db.run(pool(request), lambda conn: reports.insert(conn, body))
    if doc is None:
        raise missing_project_named(str(body.project))
    return JSONText(doc, status_code=201)


async def list_reports(request: Request, query: ReportListQuery) -> Response:
    (after_id,) = cursor_ids(query.after, 1)
    doc = await db.run(
        pool(request),
        lambda conn: reports.page(
            conn, after_id=after_id, limit=query.limit, sprint_id=query.sprint_id, report_type=query.type
        ),
    )
    return JSONText(doc)


async def get_report(request: Request) -> Response:
    report_id = request.path_params["report_id"]
    doc = await db.run(pool(request), lambda conn: reports.get(conn, id=report_id))
    if doc is None:
        raise _report_not_found(report_id)
    return JSONText(doc)


async def delete_report(request: Request) -> Response:
    report_id = request.path_params["report_id"]
    if not await db.run(pool(request), lambda conn: reports.delete(conn, id=report_id), deleting=True):
        raise _report_not_found(report_id)
    return Response(status_code=204)


_NO_REPORT = ("no such report", None)

ENDPOINTS = [
    Endpoint(
        "POST",
        "/reports",
        create_report,
        "Save a report",
        body=ReportCreate,
        responses={201: ("the report", SavedReport), 404: ("no such sprint, project or user", None)},
    ),
    Endpoint(
        "GET",
        "/reports",
        list_reports,
        "List saved reports",
        query=ReportListQuery,
        responses={200: ("a page of reports", [SavedReport])},
    ),
    Endpoint(
        "GET",
        "/reports/{report_id:id}",
        get_report,
        "Read a saved report",
        responses={200: ("the report", SavedReport), 404: _NO_REPORT},
    ),
    Endpoint(
        "DELETE",
        "/reports/{report_id:id}",
        delete_report,
        "Delete a saved report",
        responses={204: ("deleted", None), 404: _NO_REPORT},
    ),
]
