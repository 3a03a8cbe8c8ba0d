"""docs/database-schema.md from the live catalog: a Mermaid ER diagram and a
paragraph per table (what it holds, its keys, the indexes that serve it)."""

from __future__ import annotations

import sys
from collections import defaultdict
from typing import Any

import psycopg

from service import queries

_Q = queries.load("schema_doc")
_DOC_COLUMNS = _Q["doc_columns"]
_DOC_FOREIGN_KEYS = _Q["doc_foreign_keys"]
_DOC_INDEXES = _Q["doc_indexes"]

# What each table holds, in a sentence; the keys and indexes come from the catalog.
PURPOSE = {
    "projects": "Projects: the first rule of every query; key unique ignoring case.",
    "users": "People: assignees of tasks, owners of capacities and queues.",
    "epics": "The top level of a project's work (E04).",
    "features": "Features of an epic (E04-F01); progress is computed from their tasks.",
    "tasks": "The unit of work an agent claims: status lifecycle, lease, artifacts, points.",
    "task_status_transitions": "The allowed status moves, as data; trg_tasks_status_change enforces them.",
    "task_history": "One row per creation and status change, written by trigger; append-only.",
    "task_dependencies": "Task waits for task, same project, no cycles (trigger).",
    "sprints": "Jira sprints; jira_project_key is the legacy project list the backfill read.",
    "sprint_analyses": "Per sprint and analysis type: points and issues, discipline breakdown.",
    "project_workstreams": "A project's source within (meta-board) sprints; one active per project.",
    "project_sprint_associations": "Which workstreams take part in a sprint; one primary per sprint.",
    "project_sprint_metrics": "Snapshots of a workstream in a sprint over time: burndown, velocity.",
    "reports": "Saved reports with the parameters that made them.",
    "team_capacities": "Capacity and allocated points per person per sprint.",
    "sprint_queue_items": "Each person's ordered queue within a sprint; keeps its sprint from deletion.",
}


def render(url: str) -> str:
    with psycopg.connect(url) as conn:
        columns: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for table, column, type_, key in conn.execute(_DOC_COLUMNS):
            columns[table].append((column, type_, key))
        foreign_keys = conn.execute(_DOC_FOREIGN_KEYS).fetchall()
        indexes: dict[str, list[str]] = defaultdict(list)
        for table, definition in conn.execute(_DOC_INDEXES):
            indexes[table].append(definition)
    lines = [
        "# Database schema",
        "",
        "Generated from the live catalog by `scripts/er-diagram` after all migrations;",
        "`tests/test_docs.py` fails when a table or foreign key is missing here.",
        "",
        "```mermaid",
        "erDiagram",
    ]
    for table, cols in columns.items():
        lines.append(f"    {table} {{")
        for column, type_, key in cols:
            lines.append(f"        {type_.replace(' ', '_')} {column}{' ' + key if key else ''}")
        lines.append("    }")
    for child, parent, name in foreign_keys:
        lines.append(f'    {parent} ||--o{{ {child} : "{name}"')
    lines += ["```", ""]
    for table in columns:
        lines += [f"## {table}", "", PURPOSE.get(table, "(no description yet)"), ""]
        keys = [f"`{name}` → {parent}" for child, parent, name in foreign_keys if child == table]
        if keys:
            lines += ["Foreign keys: " + ", ".join(keys) + ".", ""]
        lines += ["Indexes:", ""] + [f"- `{definition}`" for definition in indexes[table]] + [""]
    return "\n".join(lines)


if __name__ == "__main__":
    # python -m service.schema_doc URL > docs/database-schema.md
    sys.stdout.write(render(sys.argv[1]))
