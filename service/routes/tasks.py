"""Tasks: create (one or many), list with filters, read, change, status, history,
dependencies, delete."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Awaitable
from datetime import datetime
from typing import Any, get_args

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service import access, db
from service.cursors import cursor_ids, decode_cursor, malformed_cursor
from service.errors import NotFound, Unprocessable
from service.models import (
    BULK_MAX as BULK_MAX,  # the batch limit, read here by service.mcp_server
)
from service.models import (
    AllTasksListQuery,
    DependencyAdded,
    HistoryItem,
    HistoryPage,
    HistoryQuery,
    LinkAdded,
    LinkKind,
    StatusChange,
    Task,
    TaskBatch,
    TaskCreate,
    TaskListQuery,
    TaskPatch,
)
from service.queries import dependencies, history, links, tasks
from service.responses import JSONText, stored_project_key
from service.routes import Endpoint, if_match, pool


async def insert_tasks(pool: db.Pool, project: str, items: list[TaskCreate], *, batch: bool = False) -> str:
    """Create the tasks, all or none: their documents as a JSON array."""
    access.require_agent_may_create([item.status for item in items], [item.sprint for item in items])
    await access.require_sprints_visible(pool, [item.sprint for item in items])
    rows = [item.model_dump(mode="json") for item in items]
    return await db.run(pool, lambda conn: tasks.insert_many(conn, project=project, tasks=rows, batch=batch))


async def create_task(request: Request, body: TaskCreate) -> Response:
    project = request.path_params["project"]
    docs = await insert_tasks(pool(request), project, [body])
    return JSONText(
        docs[1:-1],
        status_code=201,  # the one document of the array
        headers={"Location": f"/projects/{stored_project_key(docs[1:-1])}/tasks/{body.key}"},
    )


async def create_tasks(request: Request, body: TaskBatch) -> Response:
    project = request.path_params["project"]
    docs = await insert_batch(pool(request), project, body.root)
    return JSONText(f'{{"items":{docs},"next":null}}', status_code=201)


async def insert_batch(pool: db.Pool, project: str, items: list[TaskCreate]) -> str:
    """insert_tasks for a batch, whose keys must differ."""
    twice = sorted(key for key, count in Counter(item.key for item in items).items() if count > 1)
    if twice:
        raise Unprocessable(
            "a task key appears more than once in the batch",
            errors=[{"field": "body.key", "message": f"{key!r} repeated"} for key in twice],
        )
    return await insert_tasks(pool, project, items, batch=True)


def list_filters(query: TaskListQuery) -> tasks.Filters:
    after_project_id, after_id = cursor_ids(query.after, 2)
    text = None
    if query.q is not None:  # a substring, with LIKE's wildcards taken literally
        text = "%" + query.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return tasks.Filters(
        statuses=query.statuses,
        agent_type=query.agent_type,
        priority_min=query.priority_min,
        priority_max=query.priority_max,
        feature=query.feature,
        epic=query.epic,
        sprint=query.sprint,
        assignee=query.assignee,
        input=None if query.input is None else Jsonb([query.input]),
        text=text,
        after_project_id=after_project_id,
        after_id=after_id,
        limit=query.limit,
    )


async def list_project_tasks(request: Request, query: TaskListQuery) -> Response:
    project = request.path_params["project"]
    filters = list_filters(query)
    return JSONText(
        await db.run(pool(request), lambda conn: tasks.page(conn, project=project, filters=filters))
    )


async def list_tasks(request: Request, query: AllTasksListQuery) -> Response:
    filters = list_filters(query)
    project = query.project
    doc = await db.run(
        pool(request),
        lambda conn: (
            tasks.page_all(conn, filters=filters)
            if project is None
            else tasks.page(conn, project=project, filters=filters)
        ),
    )
    return JSONText(doc)


async def get_task(request: Request) -> Response:
    project, key = request.path_params["project"], request.path_params["key"]
    return JSONText(await db.run(pool(request), lambda conn: tasks.get(conn, project=project, key=key)))


async def patch_task(request: Request, body: TaskPatch) -> Response:
    project, key = request.path_params["project"], request.path_params["key"]
    patch = body.model_dump(mode="json", exclude_unset=True)
    for name in ("sprint", "assignee"):  # the API names them; the columns carry _id
        if name in patch:
            patch[f"{name}_id"] = patch.pop(name)
    await access.require_sprints_visible(pool(request), [patch.get("sprint_id")])
    doc = await db.run(
        pool(request),
        if_match(
            request,
            lambda conn: tasks.get(conn, project=project, key=key),
            lambda conn: tasks.update(conn, project=project, key=key, patch=patch),
        ),
    )
    return JSONText(doc)


async def delete_task(request: Request) -> Response:
    project, key = request.path_params["project"], request.path_params["key"]
    await db.run(
        pool(request),
        if_match(
            request,
            lambda conn: tasks.get(conn, project=project, key=key),
            lambda conn: tasks.delete(conn, project=project, key=key),
        ),
        deleting=True,
    )
    return Response(status_code=204)


async def change_status(request: Request, body: StatusChange) -> Response:
    project, key = request.path_params["project"], request.path_params["key"]
    return JSONText(await set_status(pool(request), project, key, body, request=request))


async def set_status(
    pool: db.Pool, project: str, key: str, body: StatusChange, *, request: Request | None = None
) -> str:
    """The task after the change (or the error that says why there is none), guarded
    by the request's If-Match when there is a request (MCP calls have none)."""

    def write(conn: AsyncConnection[tuple[Any, ...]]) -> Awaitable[str]:
        return tasks.set_status(
            conn,
            project=project,
            key=key,
            status=body.status,
            note=body.note,
            actor=access.history_actor(body.actor, body.agent),
            agent=body.agent,
            evidence=body.evidence,
        )

    def read(conn: AsyncConnection[tuple[Any, ...]]) -> Awaitable[str]:
        return tasks.get(conn, project=project, key=key)

    change = access.held_only(project, key, body.agent, write)
    doc: str = await db.run(pool, change if request is None else if_match(request, read, change))
    return doc


async def task_history(request: Request) -> Response:
    project, key = request.path_params["project"], request.path_params["key"]
    return JSONText(await db.run(pool(request), lambda conn: history.of_task(conn, project=project, key=key)))


_SNAPSHOT = re.compile(r"[0-9]{1,20}:[0-9]{1,20}:([0-9]{1,20}(,[0-9]{1,20})*)?")


def _poll_window(token: str) -> tuple[str, str | None, tuple[int, int]]:
    """The snapshots and position inside a poll token (made by project_history)."""
    malformed = Unprocessable(
        "the poll token is malformed",
        errors=[{"field": "query.poll", "message": "pass back the `poll` value of a previous answer"}],
    )
    try:
        lower, upper, xid, after_id = decode_cursor(token, 4) or []
    except Unprocessable:
        raise malformed from None
    if (
        not _SNAPSHOT.fullmatch(lower)
        or not (upper == "-" or _SNAPSHOT.fullmatch(upper))
        or not (xid.isdigit() and after_id.isdigit())
        or int(xid) >= 2**64
        or int(after_id) >= 2**63
    ):
        raise malformed
    return lower, None if upper == "-" else upper, (int(xid), int(after_id))


async def project_history(request: Request, query: HistoryQuery) -> Response:
    project = request.path_params["project"]
    if query.poll is not None:
        if query.since is not None or query.after is not None:
            raise Unprocessable(
                "poll takes no since or after: the token says where the feed stands",
                errors=[{"field": "query.poll", "message": "use it alone (with limit)"}],
            )
        lower, upper, after = _poll_window(query.poll)
        polled = await db.run(
            pool(request),
            lambda conn: history.poll_project(
                conn, project=project, lower=lower, upper=upper, after=after, limit=query.limit
            ),
        )
        return JSONText(polled)
    before = None
    values = decode_cursor(query.after, 2)
    if values is not None:
        try:
            before = (datetime.fromisoformat(values[0]), int(values[1]))
        except ValueError:
            raise malformed_cursor() from None
    doc = await db.run(
        pool(request),
        lambda conn: history.of_project(
            conn, project=project, since=query.since, before=before, limit=query.limit
        ),
    )
    return JSONText(doc)


async def add_dependency(request: Request) -> Response:
    project, key, other = (request.path_params[name] for name in ("project", "key", "other"))
    created = await add_edge(pool(request), project, key, other)
    return JSONResponse(
        {"task": key, "depends_on": other, "created": bool(created)}, status_code=201 if created else 200
    )


async def remove_dependency(request: Request) -> Response:
    project, key, other = (request.path_params[name] for name in ("project", "key", "other"))
    await remove_edge(pool(request), project, key, other)
    return Response(status_code=204)


async def add_edge(pool: db.Pool, project: str, key: str, other: str, kind: str | None = None) -> bool:
    """Make `key` depend on `other` (kind None) or link it without blocking; whether it is new."""
    return await db.run(
        pool,
        lambda conn: (
            dependencies.add(conn, project=project, key=key, other=other)
            if kind is None
            else links.add(conn, project=project, key=key, other=other, kind=kind)
        ),
    )


async def remove_edge(pool: db.Pool, project: str, key: str, other: str, kind: str | None = None) -> None:
    await db.run(
        pool,
        lambda conn: (
            dependencies.remove(conn, project=project, key=key, other=other)
            if kind is None
            else links.remove(conn, project=project, key=key, other=other, kind=kind)
        ),
    )


async def add_link(request: Request) -> Response:
    project, key, kind, other = (request.path_params[n] for n in ("project", "key", "kind", "other"))
    created = await add_edge(pool(request), project, key, other, _link_kind(kind))
    return JSONResponse({"task": key, kind: other, "created": created}, status_code=201 if created else 200)


async def remove_link(request: Request) -> Response:
    project, key, kind, other = (request.path_params[n] for n in ("project", "key", "kind", "other"))
    await remove_edge(pool(request), project, key, other, _link_kind(kind))
    return Response(status_code=204)


def _link_kind(kind: str) -> str:
    if kind not in get_args(LinkKind):
        raise NotFound(f"no link kind {kind!r}: {' or '.join(get_args(LinkKind))}")
    return kind


_NO_TASK = ("no such project or task", None)

ENDPOINTS = [
    Endpoint(
        "POST",
        "/projects/{project}/tasks",
        create_task,
        "Create a task",
        body=TaskCreate,
        responses={
            201: ("the task", Task),
            404: ("no such project or feature", None),
            409: ("the key is taken", None),
        },
    ),
    Endpoint(
        "POST",
        "/projects/{project}/tasks/bulk",
        create_tasks,
        "Create many tasks in one transaction: all or none",
        body=TaskBatch,
        responses={
            201: ("the tasks", [Task]),
            404: ("no such project or feature", None),
            409: ("a key is taken", None),
        },
    ),
    Endpoint(
        "GET",
        "/projects/{project}/tasks",
        list_project_tasks,
        "List a project's tasks",
        query=TaskListQuery,
        responses={200: ("a page of tasks", [Task]), 404: ("no such project", None)},
    ),
    Endpoint(
        "GET",
        "/tasks",
        list_tasks,
        "List tasks across projects",
        query=AllTasksListQuery,
        responses={200: ("a page of tasks", [Task]), 404: ("no such project", None)},
    ),
    Endpoint(
        "GET",
        "/projects/{project}/tasks/{key}",
        get_task,
        "Read a task",
        responses={200: ("the task", Task), 404: _NO_TASK},
    ),
    Endpoint(
        "PATCH",
        "/projects/{project}/tasks/{key}",
        patch_task,
        "Change a task's fields",
        body=TaskPatch,
        responses={200: ("the task", Task), 404: _NO_TASK},
    ),
    Endpoint(
        "DELETE",
        "/projects/{project}/tasks/{key}",
        delete_task,
        "Delete a task",
        responses={204: ("deleted", None), 404: _NO_TASK},
    ),
    Endpoint(
        "POST",
        "/projects/{project}/tasks/{key}/status",
        change_status,
        "Move a task to another status, with a history row",
        body=StatusChange,
        responses={200: ("the task", Task), 404: _NO_TASK, 409: ("the transition is not allowed", None)},
    ),
    Endpoint(
        "GET",
        "/projects/{project}/tasks/{key}/history",
        task_history,
        "A task's history, oldest first",
        responses={200: ("the history", [HistoryItem]), 404: _NO_TASK},
    ),
    Endpoint(
        "GET",
        "/projects/{project}/history",
        project_history,
        "Recent changes across the project's tasks, newest first; with ?poll=TOKEN, oldest first, "
        "every change committed since the answer that gave the token",
        query=HistoryQuery,
        responses={200: ("a page of changes", HistoryPage), 404: ("no such project", None)},
    ),
    Endpoint(
        "PUT",
        "/projects/{project}/tasks/{key}/dependencies/{other}",
        add_dependency,
        "Make the task depend on another",
        responses={
            201: ("added", DependencyAdded),
            200: ("it was already there", DependencyAdded),
            404: _NO_TASK,
            409: ("it would close a cycle", None),
        },
    ),
    Endpoint(
        "DELETE",
        "/projects/{project}/tasks/{key}/dependencies/{other}",
        remove_dependency,
        "Remove a dependency",
        responses={204: ("removed", None), 404: ("no such dependency", None)},
    ),
    Endpoint(
        "PUT",
        "/projects/{project}/tasks/{key}/links/{kind}/{other}",
        add_link,
        "Link the task to another without blocking it (kind: related or discovered_from)",
        responses={201: ("added", LinkAdded), 200: ("it was already there", LinkAdded), 404: _NO_TASK},
    ),
    Endpoint(
        "DELETE",
        "/projects/{project}/tasks/{key}/links/{kind}/{other}",
        remove_link,
        "Remove a link",
        responses={204: ("removed", None), 404: ("no such link", None)},
    ),
]
