"""`worktrack seed --demo`: demo data a new user can explore at once.

Three projects (atlas and beacon share a meta-board), epics and features, 3,000
tasks with dependencies and history, and sprints run through their lifecycle
(closed ones and an active one) with daily metric snapshots. Each step skips
what exists, so seeding twice adds nothing.
"""

from __future__ import annotations

import psycopg
from rich.progress import Progress

from service import queries

_Q = queries.load("seed")
STEPS = [
    ("users", _Q["seed_users"]),
    ("projects", _Q["seed_projects"]),
    ("epics and features", _Q["seed_epics_and_features"]),
    ("sprints", _Q["seed_sprints"]),
    ("workstreams", _Q["seed_workstreams"]),
    ("sprint associations", _Q["seed_associations"]),
    ("tasks through the sprint lifecycle", _Q["seed_sprint_lifecycle"]),
    ("dependencies", _Q["seed_dependencies"]),
    ("metric snapshots", _Q["seed_metrics"]),
    ("sprint analyses", _Q["seed_analyses"]),
]
_IS_EMPTY = _Q["seed_is_empty"]


def is_empty(url: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute(_IS_EMPTY).fetchone()
    return bool(row and row[0])


def seed_demo(url: str, *, show_progress: bool = True) -> None:
    """Run every step in one transaction: the demo lands whole or not at all."""
    with psycopg.connect(url) as conn, Progress(disable=not show_progress, transient=False) as progress:
        task = progress.add_task("seeding demo data", total=len(STEPS))
        # The demo's history of started tasks lies in the past: an import of history.
        conn.execute("SELECT set_config('worktrack.history_import', 'on', true)")
        # Its tasks in progress are held by the demo agent (with the usual lease).
        conn.execute("SELECT set_config('worktrack.actor', 'demo-agent', true)")
        for name, statement in STEPS:
            progress.update(task, description=f"seeding {name}")
            conn.execute(statement)
            progress.advance(task)
        conn.commit()
