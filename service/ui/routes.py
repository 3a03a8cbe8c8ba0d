"""The web UI's pages: server-rendered HTML over the same query modules as the JSON API.

Read-only: there is no form that writes. Each page reads everything it shows on one
pooled connection, renders a Jinja2 template, and answers with a Content-Security-Policy
that allows no inline script and no framing, and a Server-Timing header with the time
the server spent on it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import field_validator
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from service import access, db
from service.errors import ApiError, NotFound
from service.models import STATUSES, EpicKey, FeatureKey, Query, ShortText, TaskListQuery
from service.queries import epics, features, history, projects, sprints, tasks
from service.request_input import read_query
from service.routes import pool
from service.routes.tasks import list_filters
from service.ui import charts

_HERE = Path(__file__).resolve().parent
STATIC_DIR = _HERE / "static"

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

OPEN_STATUSES = [s for s in STATUSES if s != "completed"]
OPEN_LIMIT = 2000  # cards of the open columns on one board; filters narrow a larger project
COMPLETED_LIMIT = 100  # the completed column shows this many, oldest key first
FEED_SIZE = 50  # rows of the activity feed; fixed, so an update never moves the page
RECENT_COMPLETED = 20
VELOCITY_SPRINTS = 3

TASK_KEY = re.compile(r"[A-Z][A-Z0-9]*(-[A-Z0-9]+)+")

Page = Callable[[Request], Awaitable[Response]]


def _parse_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _ago(value: Any) -> str:
    """'5 min ago', '3 h ago', '2 d ago' for an ISO timestamp."""
    moment = _parse_time(value)
    if moment is None:
        return ""
    return _span((datetime.now(UTC) - moment).total_seconds()) + " ago"


def _left(value: Any) -> str:
    """Time until an ISO timestamp: '4 min left', or 'expired 2 min ago'."""
    moment = _parse_time(value)
    if moment is None:
        return ""
    seconds = (moment - datetime.now(UTC)).total_seconds()
    return f"{_span(seconds)} left" if seconds > 0 else f"expired {_span(-seconds)} ago"


def _span(seconds: float) -> str:
    if seconds < 60:
        return f"{int(seconds)} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"


def _label(name: str) -> str:
    return name.replace("_", " ")


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


_templates = Environment(
    loader=FileSystemLoader(_HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.filters.update(ago=_ago, left=_left, label=_label)
_templates.tests["scalar"] = _scalar
_templates.tests["match_task_key"] = lambda value: bool(TASK_KEY.fullmatch(value))


def _render(name: str, started: float, status: int = 200, **context: Any) -> HTMLResponse:
    body = _templates.get_template(name).render(**context)
    elapsed_ms = (time.perf_counter() - started) * 1000
    return HTMLResponse(
        body,
        status_code=status,
        headers={**SECURITY_HEADERS, "Server-Timing": f"app;dur={elapsed_ms:.1f}"},
    )


def _page(template: str, load: Callable[[Request], Awaitable[dict[str, Any]]]) -> Page:
    """A page handler: load the data, render it; an API error becomes an HTML error page."""

    async def handler(request: Request) -> Response:
        started = time.perf_counter()
        try:
            context = await load(request)
        except ApiError as exc:
            return _render("error.html", started, exc.status, title=exc.title, detail=exc.detail, error=exc)
        return _render(template, started, request=request, **context)

    return handler


def _doc(text: str | None) -> Any:
    return None if text is None else json.loads(text)


# --- pages ----------------------------------------------------------------------------


async def _home(request: Request) -> dict[str, Any]:
    async def load(conn: Any) -> tuple[Any, Any]:
        return (
            _doc(await projects.page(conn, after_id=0, limit=100, is_active=None)),
            _doc(await sprints.page(conn, after_id=0, limit=100, state=None, project=None, board=None)),
        )

    project_page, sprint_page = await db.run(pool(request), load)
    return {"projects": project_page["items"], "sprints": sprint_page["items"]}


async def _projects(request: Request) -> dict[str, Any]:
    async def load(conn: Any) -> list[dict[str, Any]]:
        found = _doc(await projects.page(conn, after_id=0, limit=100, is_active=None))["items"]
        for project in found:
            project["epics"] = _doc(await epics.page(conn, project=project["key"], after_id=0, limit=500))[
                "items"
            ]
        return list(found)

    return {"projects": await db.run(pool(request), load)}


class BoardQuery(Query):
    """The board's filters; they live in the query string so a filtered board can be shared."""

    epic: EpicKey | None = None
    feature: FeatureKey | None = None
    agent_type: ShortText | None = None
    q: ShortText | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value  # a filter form submits its empty fields too


def _filters(statuses: list[str], limit: int, **given: Any) -> tasks.Filters:
    """The task list's filters, checked and escaped as the JSON API checks them."""
    query = TaskListQuery(status=",".join(statuses), limit=500, **{k: v for k, v in given.items() if v})
    return dataclasses.replace(list_filters(query), limit=limit)


async def _project_tasks(
    conn: Any, project: str, completed: int = 0, **given: Any
) -> tuple[list[dict[str, Any]], bool]:
    """The project's tasks that are not completed, and the first `completed` completed ones;
    whether the others were cut at OPEN_LIMIT."""
    open_page = _doc(
        await tasks.page(conn, project=project, filters=_filters(OPEN_STATUSES, OPEN_LIMIT, **given))
    )
    done = []
    if completed:
        done = _doc(
            await tasks.page(conn, project=project, filters=_filters(["completed"], completed, **given))
        )["items"]
    return [*open_page["items"], *done], open_page["next"] is not None


def _blocked_by(items: list[dict[str, Any]], unfinished: set[str]) -> None:
    """Note on each task which of its dependencies are not completed yet."""
    for task in items:
        task["blocked_by"] = [key for key in task.get("depends_on") or [] if key in unfinished]


async def _board(request: Request) -> dict[str, Any]:
    project = request.path_params["project"]
    query = read_query(request, BoardQuery)
    given = query.model_dump()

    async def load(conn: Any) -> tuple[list[dict[str, Any]], bool, Any, Any]:
        items, cut = await _project_tasks(conn, project, COMPLETED_LIMIT, **given)
        # Dependencies are judged against every open task, whatever the filters show.
        if any(given.values()):
            unfiltered, _ = await _project_tasks(conn, project)
            unfinished = {t["key"] for t in unfiltered if t["status"] != "completed"}
        else:
            unfinished = {t["key"] for t in items if t["status"] != "completed"}
        _blocked_by(items, unfinished)
        epic_page = _doc(await epics.page(conn, project=project, after_id=0, limit=500))
        feature_page = _doc(await features.page(conn, project=project, epic=None, after_id=0, limit=500))
        return items, cut, epic_page["items"], feature_page["items"]

    items, cut, epic_list, feature_list = await db.run(pool(request), load)
    columns: dict[str, list[dict[str, Any]]] = {status: [] for status in STATUSES}
    for task in items:
        columns[task["status"]].append(task)
    return {
        "project": project,
        "active": "board",
        "columns": columns,
        "cut": cut,
        "completed_limit": COMPLETED_LIMIT,
        "filters": given,
        "epics": epic_list,
        "features": feature_list,
        "agent_types": sorted({t["agent_type"] for t in items if t.get("agent_type")}),
    }


# Task fields the task page shows in its own sections; any other field is listed generically.
_TASK_SHOWN = {
    "key", "project", "title", "description", "status", "depends_on", "metadata",
}  # fmt: skip


async def _task(request: Request) -> dict[str, Any]:
    project, key = request.path_params["project"], request.path_params["key"]

    async def load(conn: Any) -> tuple[Any, Any, list[Any]]:
        task = _doc(await tasks.get(conn, project=project, key=key))
        changes = _doc(await history.of_task(conn, project=project, key=key))
        needed = [
            _doc(await tasks.get(conn, project=project, key=other)) for other in task.get("depends_on") or []
        ]
        return task, changes, needed

    task, changes, needed = await db.run(pool(request), load)
    fields = {name: value for name, value in task.items() if name not in _TASK_SHOWN}
    return {
        "project": project,
        "task": task,
        "history": changes["items"],
        "dependencies": needed,
        "fields": {k: v for k, v in fields.items() if _scalar(v)},
        "extras": {k: v for k, v in fields.items() if not _scalar(v)},
    }


async def _queue(request: Request) -> dict[str, Any]:
    project = request.path_params["project"]

    async def load(conn: Any) -> tuple[list[dict[str, Any]], Any]:
        items, _ = await _project_tasks(conn, project)
        changes = _doc(await history.of_project(conn, project=project, since=None, before=None, limit=200))
        return items, changes

    items, changes = await db.run(pool(request), load)
    unfinished = {t["key"] for t in items if t["status"] != "completed"}
    _blocked_by(items, unfinished)
    now = datetime.now(UTC)
    ready = sorted(
        (t for t in items if t["status"] == "pending" and not t["blocked_by"]),
        key=lambda t: (-t["priority"], t["created_at"], t["key"]),
    )
    claimed: list[dict[str, Any]] = []
    stuck: list[dict[str, Any]] = []
    for task in items:
        if task["status"] != "in_progress" or not task.get("claimed_by"):
            continue
        lease = _parse_time(task.get("lease_expires_at"))
        (stuck if lease is not None and lease <= now else claimed).append(task)
    completed = [c for c in changes["items"] if c["to_status"] == "completed"][:RECENT_COMPLETED]
    return {
        "project": project,
        "active": "queue",
        "ready": ready,
        "claimed": sorted(claimed, key=lambda t: t.get("claimed_at") or ""),
        "stuck": stuck,
        "completed": completed,
    }


async def _activity(request: Request) -> dict[str, Any]:
    project = request.path_params["project"]
    doc = _doc(
        await db.run(
            pool(request),
            lambda conn: history.of_project(conn, project=project, since=None, before=None, limit=FEED_SIZE),
        )
    )
    rows = doc["items"] + [None] * (FEED_SIZE - len(doc["items"]))
    return {"project": project, "active": "activity", "rows": rows, "feed_size": FEED_SIZE}


# Report sections drawn as charts or shown in the header; every other section is a figure.
_REPORT_CHARTS = {"sprint", "burndown", "velocity"}
# What a figure means, for the sections whose report entry carries no definition of its own.
DEFINITIONS = {
    "completion": "completed points ÷ commitment, and completed points ÷ the final scope of the sprint",
    "carry_over": "tasks in the sprint at the close that were neither completed nor cancelled",
    "burndown": "per day of the sprint: its scope, the points not completed yet, and the ideal straight line",
    "velocity": "mean and spread of the points completed in each of the last closed sprints",
}


async def _sprint(request: Request) -> dict[str, Any]:
    sprint_id = int(request.path_params["id"])

    async def load(conn: Any) -> tuple[Any, Any, Any]:
        report = _doc(await sprints.report(conn, sprint_id=sprint_id, velocity_sprints=VELOCITY_SPRINTS))
        if report is None:
            raise NotFound(f"no sprint has id {sprint_id}")
        sprint = _doc(await sprints.get(conn, id=sprint_id))
        in_sprint = _doc(
            await tasks.page_all(conn, filters=_filters(list(STATUSES), OPEN_LIMIT, sprint=sprint_id))
        )
        return report, sprint, in_sprint

    report, sprint, in_sprint = await db.run(pool(request), load)
    burndown = report.get("burndown") or []
    velocity = report.get("velocity") or {}
    figures = {
        name: value
        for name, value in report.items()
        if name not in _REPORT_CHARTS and isinstance(value, dict)
    }
    by_status: dict[str, list[dict[str, Any]]] = {status: [] for status in STATUSES}
    for task in in_sprint["items"]:
        by_status[task["status"]].append(task)
    return {
        "sprint": {**(sprint or {}), **report.get("sprint", {})},
        "report": report,
        "figures": figures,
        "burndown": burndown,
        "burndown_svg": charts.burndown_svg(
            burndown, title=f"Burndown of {report['sprint'].get('name', '')}"
        ),
        "velocity": velocity,
        "velocity_svg": charts.velocity_svg(velocity.get("workstreams") or []),
        "tasks_by_status": by_status,
        "definitions": DEFINITIONS,
        "burndown_columns": list(dict.fromkeys(k for point in burndown for k in point)),
    }


async def _docs(request: Request) -> dict[str, Any]:
    return {}


def _get(path: str, template: str, load: Callable[[Request], Awaitable[dict[str, Any]]]) -> Route:
    # HTML pages are left out of the OpenAPI document, which describes the JSON API.
    return Route(path, _page(template, load), methods=["GET"], include_in_schema=False)


def rule_for(path: str) -> access.Rule:
    """What a page needs: read on its project; a token for /docs; admin for the
    pages that span projects (home lists every project and sprint)."""
    if path.startswith("/ui/projects/{project}"):
        return access.Rule("read", "path")
    if path == "/docs":
        return access.Rule("token")
    if path == "/ui/sprints/{id:id}":
        return access.Rule("read", "sprint")  # as the API's sprint report
    return access.Rule("admin")


PAGES = [
    _get("/", "home.html", _home),
    _get("/ui/projects", "projects.html", _projects),
    _get("/ui/projects/{project}/board", "board.html", _board),
    _get("/ui/projects/{project}/tasks/{key}", "task.html", _task),
    _get("/ui/projects/{project}/queue", "queue.html", _queue),
    _get("/ui/projects/{project}/activity", "activity.html", _activity),
    _get("/ui/sprints/{id:id}", "sprint.html", _sprint),
    _get("/docs", "docs.html", _docs),
]
STATIC = Mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="ui-static")
