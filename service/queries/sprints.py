"""Sprints, their analyses and their computed report: sql/queries/sprints.sql, report.sql."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NamedTuple

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from service import queries
from service.db import fetch_row, fetch_text, fetch_value
from service.models import AnalysisCreate, SprintCreate

Conn = AsyncConnection[tuple[Any, ...]]
_Q = queries.load("sprints")
_INSERT, _GET, _LIST = _Q["sprint_insert"], _Q["sprint_get"], _Q["sprint_list"]
_UPDATE, _DELETE = _Q["sprint_update"], _Q["sprint_delete"]
_START, _CLOSE = _Q["sprint_start"], _Q["sprint_close"]
_ANALYSIS_INSERT, _ANALYSIS_LIST = _Q["analysis_insert"], _Q["analysis_list"]
_REPORT = queries.load("report")["sprint_report"]


async def insert(conn: Conn, sprint: SprintCreate) -> str:
    return str(await fetch_value(conn, _INSERT, **sprint.model_dump()))


async def get(conn: Conn, *, id: int) -> str | None:
    return await fetch_text(conn, _GET, id=id)


async def page(
    conn: Conn, *, after_id: int, limit: int, state: str | None, project: str | None, board: int | None
) -> str:
    return str(
        await fetch_value(
            conn,
            _LIST,
            prepare=False,
            after_id=after_id,
            limit=limit,
            state=state,
            project=project,
            board=board,
        )
    )


async def update(conn: Conn, *, id: int, patch: dict[str, Any]) -> str | None:
    return await fetch_text(conn, _UPDATE, id=id, patch=Jsonb(patch))


async def start(conn: Conn, *, id: int, activated_at: datetime | None, end_date: date | None) -> str | None:
    """The started sprint, or None when there is no such sprint."""
    return await fetch_text(conn, _START, id=id, activated_at=activated_at, end_date=end_date)


async def close(conn: Conn, *, id: int, move_to: int | None, completed_at: datetime | None) -> str | None:
    """The closed sprint (its open work moved), or None when there is no such sprint."""
    return await fetch_text(conn, _CLOSE, id=id, move_to=move_to, completed_at=completed_at)


async def delete(conn: Conn, *, id: int) -> bool:
    return await fetch_value(conn, _DELETE, id=id) is not None


class AnalysisAdded(NamedTuple):
    """The new analysis, or None and which of the rows it names was not found."""

    doc: str | None
    sprint_found: bool
    project_found: bool


async def add_analysis(conn: Conn, *, sprint_id: int, analysis: AnalysisCreate) -> AnalysisAdded:
    row = await fetch_row(
        conn,
        _ANALYSIS_INSERT,
        sprint_id=sprint_id,
        project=analysis.project,
        analysis_type=analysis.analysis_type,
        total_story_points=analysis.total_story_points,
        completed_story_points=analysis.completed_story_points,
        total_issues=analysis.total_issues,
        completed_issues=analysis.completed_issues,
        discipline_breakdown=Jsonb(analysis.discipline_breakdown),
        issue_details=Jsonb(analysis.issue_details),
    )
    assert row is not None  # the statement always answers one row
    return AnalysisAdded(row[0], row[1], row[2])


async def analyses(conn: Conn, *, sprint_id: int, analysis_type: str | None) -> str | None:
    return await fetch_text(
        conn, _ANALYSIS_LIST, prepare=False, sprint_id=sprint_id, analysis_type=analysis_type
    )


async def report(conn: Conn, *, sprint_id: int, velocity_sprints: int) -> str | None:
    return await fetch_text(conn, _REPORT, sprint_id=sprint_id, velocity_sprints=velocity_sprints)
