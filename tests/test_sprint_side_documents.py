"""The sprint side's document functions (migration 0037): each reads its row and
the keys passed in, and no other table, so a distributed planner can push it down."""

from __future__ import annotations

import re

import psycopg

SPRINT_SIDE_DOCUMENTS = {
    "user_json": "users",
    "sprint_json": "sprints",
    "sprint_analysis_json": "sprint_analyses",
    "workstream_json": "project_workstreams",
    "sprint_workstream_json": "project_sprint_associations",
    "sprint_metric_json": "project_sprint_metrics",
    "report_json": "reports",
    "capacity_json": "team_capacities",
    "sprint_queue_item_json": "sprint_queue_items",
}


def test_each_document_reads_only_its_row(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    rows = conn.execute(
        """SELECT p.proname, l.lanname, p.provolatile, p.prosrc, c.relname
             FROM pg_proc p
             JOIN pg_language l ON l.oid = p.prolang
             JOIN pg_type t ON t.oid = p.proargtypes[0]
             JOIN pg_class c ON c.oid = t.typrelid
            WHERE p.proname = ANY(%s)""",
        (list(SPRINT_SIDE_DOCUMENTS),),
    ).fetchall()
    found = {str(name): (lang, volatility, source, table) for name, lang, volatility, source, table in rows}
    assert set(found) == set(SPRINT_SIDE_DOCUMENTS)
    for name, (lang, volatility, source, table) in found.items():
        assert table == SPRINT_SIDE_DOCUMENTS[name], name
        # one SQL statement over the row's values (row_to_json of a derived table of
        # them), inlined into the calling query: no FROM or JOIN names a table
        assert (lang, volatility) == ("sql", "s"), name
        assert not re.search(r"\b(FROM|JOIN)\s+(?!\()", str(source), re.IGNORECASE), name


def test_each_document_names_every_column_of_its_row_or_leaves_it_out_on_purpose(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    """Ids of other rows become keys passed in (project, task): the documents say
    `project`, never `project_id`."""
    for name, table in SPRINT_SIDE_DOCUMENTS.items():
        (source,) = conn.execute("SELECT prosrc FROM pg_proc WHERE proname = %s", (name,)).fetchone() or ("",)
        fields = set(re.findall(r'AS "(\w+)"', str(source)))
        columns = {
            str(column)
            for (column,) in conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
                " AND NOT attisdropped",
                (table,),
            )
        }
        left_out = columns - fields
        assert left_out <= {"project_id", "task_project_id", "task_id"}, (name, left_out)
        assert "project_id" not in fields, name
