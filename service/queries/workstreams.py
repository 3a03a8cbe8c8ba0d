"""Workstreams, their sprint associations and metric snapshots: sql/queries/workstreams.sql."""

from __future__ import annotations

from typing import Any, NamedTuple

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from service import queries
from service.db import fetch_row, fetch_text, fetch_value
from service.models import AssociationPut, MetricCreate, WorkstreamCreate

Conn = AsyncConnection[tuple[Any, ...]]
_Q = queries.load("workstreams")
_INSERT, _GET, _LIST = _Q["workstream_insert"], _Q["workstream_get"], _Q["workstream_list"]
_UPDATE, _DELETE = _Q["workstream_update"], _Q["workstream_delete"]
_ASSOCIATE, _ASSOCIATIONS, _DISSOCIATE = (
    _Q["association_upsert"],
    _Q["association_list"],
    _Q["association_delete"],
)
_METRIC_INSERT, _METRICS = _Q["metric_insert"], _Q["metric_list"]


async def insert(conn: Conn, workstream: WorkstreamCreate) -> str | None:
    """The new workstream, or None when its project does not exist."""
    return await fetch_text(
        conn,
        _INSERT,
        project=workstream.project,
        name=workstream.name,
        jira_board_id=workstream.jira_board_id,
        jira_board_name=workstream.jira_board_name,
        workstream_type=workstream.workstream_type,
        category=workstream.category,
        is_active=workstream.is_active,
        metadata=Jsonb(workstream.metadata),
        timezone=workstream.timezone,
    )


async def get(conn: Conn, *, id: int) -> str | None:
    return await fetch_text(conn, _GET, id=id)


async def page(
    conn: Conn, *, after_id: int, limit: int, project: str | None, board: int | None, is_active: bool | None
) -> str:
    return str(
        await fetch_value(
            conn,
            _LIST,
            prepare=False,
            after_id=after_id,
            limit=limit,
            project=project,
            board=board,
            is_active=is_active,
        )
    )


async def update(conn: Conn, *, id: int, patch: dict[str, Any]) -> str | None:
    return await fetch_text(conn, _UPDATE, id=id, patch=Jsonb(patch))


async def delete(conn: Conn, *, id: int) -> bool:
    return await fetch_value(conn, _DELETE, id=id) is not None


async def associate(
    conn: Conn, *, sprint_id: int, workstream_id: int, association: AssociationPut
) -> tuple[str, bool] | None:
    """The association and whether it is new, or None when the sprint does not exist."""
    row = await fetch_row(
        conn,
        _ASSOCIATE,
        sprint_id=sprint_id,
        workstream_id=workstream_id,
        association_type=association.association_type,
        expected_story_points=association.expected_story_points,
        actual_story_points=association.actual_story_points,
        priority=association.priority,
        is_active=association.is_active,
    )
    return None if row is None else (str(row[0]), bool(row[1]))


async def associations(conn: Conn, *, sprint_id: int) -> str | None:
    return await fetch_text(conn, _ASSOCIATIONS, sprint_id=sprint_id)


async def dissociate(conn: Conn, *, sprint_id: int, workstream_id: int) -> bool:
    return await fetch_value(conn, _DISSOCIATE, sprint_id=sprint_id, workstream_id=workstream_id) is not None


class MetricAdded(NamedTuple):
    """The new snapshot, or None and which of the rows it names was not found."""

    doc: str | None
    sprint_found: bool
    workstream_found: bool


async def add_metric(conn: Conn, *, sprint_id: int, metric: MetricCreate) -> MetricAdded:
    row = await fetch_row(
        conn,
        _METRIC_INSERT,
        sprint_id=sprint_id,
        workstream_id=metric.workstream_id,
        snapshot_at=metric.snapshot_at,
        issues_total=metric.issues_total,
        issues_completed=metric.issues_completed,
        issues_blocked=metric.issues_blocked,
        bugs=metric.bugs,
        story_points_total=metric.story_points_total,
        story_points_completed=metric.story_points_completed,
        completion_percent=metric.completion_percent,
        velocity=metric.velocity,
        burndown_rate=metric.burndown_rate,
        scope_added_points=metric.scope_added_points,
        scope_removed_points=metric.scope_removed_points,
        team_size=metric.team_size,
        capacity_utilization=metric.capacity_utilization,
        discipline_breakdown=Jsonb(metric.discipline_breakdown),
        status_breakdown=Jsonb(metric.status_breakdown),
        metadata=Jsonb(metric.metadata),
    )
    assert row is not None  # the statement always answers one row
    return MetricAdded(row[0], row[1], row[2])


async def metrics(conn: Conn, *, sprint_id: int, workstream_id: int | None) -> str | None:
    return await fetch_text(conn, _METRICS, prepare=False, sprint_id=sprint_id, workstream_id=workstream_id)
