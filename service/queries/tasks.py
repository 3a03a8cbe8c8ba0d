"""Tasks: sql/queries/tasks.sql.

Each function makes one statement (service.queries.projects.in_project) and says
from its answer why there is nothing: it raises the 404 for a missing project or
task, the 409 for a task another agent holds.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from service import queries
from service.db import fetch_text
from service.errors import Conflict, NotFound
from service.queries.projects import in_project, not_in_project

Conn = AsyncConnection[tuple[Any, ...]]
_Q = queries.load("tasks")
_INSERT_MANY, _GET, _LIST, _LIST_STATUS, _LIST_ALL = (
    _Q["task_insert_many"],
    _Q["task_get"],
    _Q["task_list"],
    _Q["task_list_status"],
    _Q["task_list_all"],
)
_UPDATE, _SET_STATUS, _DELETE = _Q["task_update"], _Q["task_set_status"], _Q["task_delete"]
_HELD_BY = _Q["task_held_by"]


def task_not_found(project: str, key: str) -> NotFound:
    return not_in_project(project, f"task {key!r}")


async def insert_many(conn: Conn, *, project: str, tasks: list[dict[str, Any]], batch: bool = False) -> str:
    """Insert every task or none: their documents as a JSON array. Nothing is
    inserted when a feature is unknown: the 404 names every task that names an
    unknown one (body.<index>.feature in a batch, as the request models do)."""
    missing, _count, docs = await in_project(conn, _INSERT_MANY, project, tasks=Jsonb(tasks))
    if missing:
        raise NotFound(
            f"these features do not exist in project {project!r}: {', '.join(missing)}",
            errors=[
                {
                    "field": f"body.{n}.feature" if batch else "body.feature",
                    "message": f"no feature {task['feature']!r}",
                }
                for n, task in enumerate(tasks)
                if task.get("feature") in missing
            ],
        )
    return str(docs)


async def get(conn: Conn, *, project: str, key: str) -> str:
    (doc,) = await in_project(conn, _GET, project, key=key)
    if doc is None:
        raise task_not_found(project, key)
    return str(doc)


@dataclass(frozen=True)
class Filters:
    """What a page of tasks is filtered by; None is no filter."""

    statuses: list[str] | None = None
    agent_type: str | None = None
    priority_min: int = 1
    priority_max: int = 10
    feature: str | None = None
    epic: str | None = None
    sprint: int | None = None
    assignee: int | None = None
    input: Jsonb | None = None
    text: str | None = None  # an ILIKE pattern
    after_project_id: int = 0
    after_id: int = 0
    limit: int = 50

    def only_one_status(self) -> str | None:
        """The status, when it is the only filter (task_list_status serves that page)."""
        if self.statuses is None or len(set(self.statuses)) != 1:
            return None
        rest = (self.agent_type, self.feature, self.epic, self.sprint, self.assignee, self.input, self.text)
        if any(value is not None for value in rest) or (self.priority_min, self.priority_max) != (1, 10):
            return None
        return self.statuses[0]

    def params(self) -> dict[str, Any]:
        one = self.statuses is not None and len(set(self.statuses)) == 1
        return {
            # One status is compared with `=`, so the index gives the page in id order.
            "status": self.statuses[0] if one and self.statuses else None,
            "statuses": None if one else self.statuses,
            "agent_type": self.agent_type,
            "priority_min": self.priority_min,
            "priority_max": self.priority_max,
            "feature": self.feature,
            "epic": self.epic,
            "sprint": self.sprint,
            "assignee": self.assignee,
            "input": self.input,
            "text": self.text,
            "after_id": self.after_id,
            "limit": self.limit,
        }


async def page(conn: Conn, *, project: str, filters: Filters) -> str:
    """A filtered page of a project's tasks."""
    status = filters.only_one_status()
    if status is not None:
        (doc,) = await in_project(
            conn, list_status_statement(filters.limit), project, status=status, after_id=filters.after_id
        )
    else:
        (doc,) = await in_project(conn, _LIST, project, prepare=False, **filters.params())
    return str(doc)


@functools.cache
def list_status_statement(limit: int) -> queries.Query:
    """task_list_status with the page size written in. A prepared statement is planned
    anew for each execution until its generic plan looks as cheap as the custom ones,
    and a generic plan guesses that an unknown LIMIT keeps a tenth of the rows, so with
    the size as a parameter the page was planned every time (about 1 ms, more than
    running it). Sizes are 1 to 500 and clients keep to a few: a statement for each."""
    if not 1 <= limit <= 500:
        raise ValueError(f"a page holds 1 to 500 tasks, not {limit}")
    text = _LIST_STATUS.as_string().replace("%(limit)s", str(int(limit)))
    return queries.Query(text, name=_LIST_STATUS.name, kind=_LIST_STATUS.kind)


async def page_all(conn: Conn, *, filters: Filters) -> str:
    """A filtered page of tasks across projects."""
    doc = await fetch_text(
        conn, _LIST_ALL, prepare=False, after_project_id=filters.after_project_id, **filters.params()
    )
    assert doc is not None
    return doc


async def update(conn: Conn, *, project: str, key: str, patch: dict[str, Any]) -> str:
    found, feature_missing, doc = await in_project(conn, _UPDATE, project, key=key, patch=Jsonb(patch))
    if not found:
        raise task_not_found(project, key)
    if feature_missing:
        message = f"the feature does not exist in project {project!r}"
        raise NotFound(message, errors=[{"field": "body.feature", "message": message}])
    return str(doc)


async def held_by(conn: Conn, *, project: str, key: str, agent: str) -> bool | None:
    """Whether the agent holds the task now, its row locked; None when there is no
    such task. A project that does not exist is its 404, as for the change itself;
    a stale id of the project is refreshed (in_project), never taken for no task."""
    (held,) = await in_project(conn, _HELD_BY, project, key=key, agent=agent)
    return None if held is None else bool(held)


async def set_status(
    conn: Conn,
    *,
    project: str,
    key: str,
    status: str,
    note: str | None,
    actor: str,
    agent: str | None,
    evidence: dict[str, Any] | None = None,
) -> str:
    found, doc = await in_project(
        conn,
        _SET_STATUS,
        project,
        key=key,
        status=status,
        note=note,
        actor=actor,
        agent=agent,
        evidence=None if evidence is None else Jsonb(evidence),
    )
    if not found:
        raise task_not_found(project, key)
    if doc is None:
        raise Conflict(f"task {key!r} is in progress but no longer held by agent {agent!r}")
    return str(doc)


async def delete(conn: Conn, *, project: str, key: str) -> None:
    (deleted,) = await in_project(conn, _DELETE, project, key=key)
    if not deleted:
        raise task_not_found(project, key)
