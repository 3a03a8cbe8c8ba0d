"""Saved reports: sql/queries/reports.sql (the computed sprint report is sprints.report)."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from service import queries
from service.db import fetch_row, fetch_text, fetch_value
from service.models import ReportCreate

Conn = AsyncConnection[tuple[Any, ...]]
_Q = queries.load("reports")
_INSERT, _GET, _LIST, _DELETE = _Q["report_insert"], _Q["report_get"], _Q["report_list"], _Q["report_delete"]


async def insert(conn: Conn, report: ReportCreate) -> str | None:
    """The new report, or None when the project it names does not exist."""
    row = await fetch_row(
        conn,
        _INSERT,
        report_type=report.report_type,
        title=report.title,
        sprint_id=report.sprint_id,
        project=report.project,
        created_by=report.created_by,
        parameters=Jsonb(report.parameters),
        content=Jsonb(report.content),
    )
    assert row is not None  # the statement always answers one row
    return None if row[0] is None else str(row[0])


async def get(conn: Conn, *, id: int) -> str | None:
    return await fetch_text(conn, _GET, id=id)


async def page(
    conn: Conn, *, after_id: int, limit: int, sprint_id: int | None, report_type: str | None
) -> str:
    return str(
        await fetch_value(
            conn,
            _LIST,
            prepare=False,
            after_id=after_id,
            limit=limit,
            sprint_id=sprint_id,
            report_type=report_type,
        )
    )


async def delete(conn: Conn, *, id: int) -> bool:
    return await fetch_value(conn, _DELETE, id=id) is not None
