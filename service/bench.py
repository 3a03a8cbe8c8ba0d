"""`worktrack bench`: load N tasks into a scratch database, then measure the named
queries (p50/p99) and the HTTP API (requests per second), and print two tables.

Each HTTP route is measured against two yardsticks measured in the same run the
same way (one uvicorn worker with uvloop and httptools, as `worktrack serve` runs):
a bare Starlette "hello" app (`ceiling_app`), and a minimal raw-SQL app on the
same database (`service.minimal_app`). Compare the ratios, not req/s across
runs: the machine may be doing other work.

Nothing here is a test: it prints numbers. The scratch database is dropped at the
end unless --keep is given. The load generator is wrk when it is installed, else
a small asyncio client (which shares the CPU with the server, so reads lower).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import AsyncConnection
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from service import migrations, postgres
from service.queries import features, projects, queue, sprints, tasks

STATUS_MIX = [
    ("pending", 60),
    ("in_progress", 15),
    ("blocked", 5),
    ("in_review", 5),
    ("completed", 10),
    ("cancelled", 5),
]
EPICS_PER_PROJECT, FEATURES_PER_EPIC = 10, 10
EXPORT_TASKS = 10_000
SPRINT_TASKS, SPRINTS_RUN = 2_000, 4


@dataclass
class Row:
    what: str
    result: str
    floor: str


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {p50:.2f} ms, p99 {p99:.2f} ms (n={len(ordered)})"


def _progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


# --- loading ---------------------------------------------------------------------


def load(url: str, total: int, project_count: int) -> None:
    """Projects, epics, features, `total` tasks with COPY, dependencies, and one
    extra project of EXPORT_TASKS tasks for the export measurement."""
    rng = random.Random(42)
    statuses = [status for status, weight in STATUS_MIX for _ in range(weight)]
    with psycopg.connect(url, autocommit=True) as conn:
        plan = [(f"P{n}", total // project_count) for n in range(project_count)] + [("EXPORT", EXPORT_TASKS)]
        for key, count in plan:
            (project_id,) = conn.execute(
                "INSERT INTO projects (key, name) VALUES (%s, %s) RETURNING id", (key, f"Project {key}")
            ).fetchone()  # type: ignore[misc]
            conn.execute(
                """
                INSERT INTO epics (project_id, key, title)
                SELECT %(p)s, 'E' || lpad(e::text, 2, '0'), 'Epic ' || e FROM generate_series(1, %(e)s) e
                """,
                {"p": project_id, "e": EPICS_PER_PROJECT},
            )
            conn.execute(
                """
                INSERT INTO features (project_id, epic_id, key, title)
                SELECT e.project_id, e.id, e.key || '-F' || lpad(f::text, 2, '0'), 'Feature ' || f
                  FROM epics e CROSS JOIN generate_series(1, %(f)s) f WHERE e.project_id = %(p)s
                """,
                {"p": project_id, "f": FEATURES_PER_EPIC},
            )
            feature_ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM features WHERE project_id = %s ORDER BY id", (project_id,)
                )
            ]
            _progress(f"COPY {count:,} tasks into {key}")
            with (
                conn.cursor() as cur,
                cur.copy(
                    "COPY tasks (project_id, feature_id, key, title, status, priority, agent_type, inputs,"
                    " claimed_by, lease_expires_at, story_points) FROM STDIN"
                ) as copy,
            ):
                for n in range(count):
                    status = rng.choice(statuses)
                    in_progress = status == "in_progress"
                    copy.write_row(
                        (
                            project_id,
                            rng.choice(feature_ids),
                            f"T-{n}",
                            f"Task {n} of {key}",
                            status,
                            rng.randint(1, 10),
                            rng.choice(("coder", "reviewer", "tester")),
                            json.dumps([f"PRD-{n % 500}"]),
                            "loader" if in_progress else None,
                            "2100-01-01T00:00:00Z" if in_progress else None,
                            rng.choice((1, 2, 3, 5, 8)),
                        )
                    )
            # Every 20th task waits on the task ten before it.
            conn.execute(
                """
                INSERT INTO task_dependencies (project_id, task_id, depends_on_id)
                SELECT t.project_id, t.id, o.id
                  FROM tasks t JOIN tasks o ON o.project_id = t.project_id AND o.id = t.id - 10
                 WHERE t.project_id = %s AND t.id %% 20 = 0
                """,
                (project_id,),
            )
        _progress("VACUUM ANALYZE")
        conn.execute("VACUUM ANALYZE")


# The life of one sprint's tasks, one step a day after its start: (day, change);
# with the creation and the joining, about ten events per task.
_SPRINT_DAYS = [
    (1, "UPDATE tasks SET status = 'in_progress' WHERE sprint_id = %(s)s"),
    (2, "UPDATE tasks SET story_points = story_points + 1 WHERE sprint_id = %(s)s"),
    (3, "UPDATE tasks SET status = 'blocked' WHERE sprint_id = %(s)s"),
    (4, "UPDATE tasks SET status = 'in_progress' WHERE sprint_id = %(s)s"),
    (5, "UPDATE tasks SET story_points = story_points + 1 WHERE sprint_id = %(s)s"),
    (6, "UPDATE tasks SET status = 'in_review' WHERE sprint_id = %(s)s"),
    (7, "UPDATE tasks SET story_points = story_points + 1 WHERE sprint_id = %(s)s"),
    (8, "UPDATE tasks SET status = 'completed' WHERE sprint_id = %(s)s AND id %% 5 <> 0"),
]


def _on_day(conn: psycopg.Connection[Any], day: int, statement: str, **params: Any) -> None:
    """One change, committed as if made `day` days after Monday 2026-01-05 09:00 in Berlin."""
    with conn.transaction():
        conn.execute(
            "SELECT import_begin('bench'), set_config('worktrack.event_at',"
            " ('2026-01-05 09:00 Europe/Berlin'::timestamptz + %s * interval '1 day')::text, true)",
            (day,),
        )
        conn.execute(statement, params)


def load_sprints(
    conn: psycopg.Connection[Any],
    project: str,
    *,
    sprint_count: int = SPRINTS_RUN,
    per_sprint: int = SPRINT_TASKS,
    leave_last_open: bool = False,
) -> int:
    """Run `sprint_count` two-week sprints of `per_sprint` new tasks of `project` through
    start and close at past instants (worktrack.event_at, as an import does), each task
    with about ten membership and status events; the last one is left active if asked.
    Returns the last sprint's id."""
    (project_id,) = conn.execute("SELECT id FROM projects WHERE key = %s", (project,)).fetchone()  # type: ignore[misc]
    (workstream,) = conn.execute(
        "INSERT INTO project_workstreams (project_id, name, timezone) VALUES (%s, %s, 'Europe/Berlin')"
        " RETURNING id",
        (project_id, f"{project} board"),
    ).fetchone()  # type: ignore[misc]
    sprint_id = 0
    for n in range(sprint_count):
        with conn.transaction():
            (sprint_id,) = conn.execute(
                "INSERT INTO sprints (jira_sprint_id, name, start_date, end_date)"
                " VALUES (%s, %s, '2026-01-05'::date + %s, '2026-01-05'::date + %s) RETURNING id",
                (800_000_000 + project_id * 100 + n, f"{project} sprint {n + 1}", 14 * n, 14 * n + 11),
            ).fetchone()  # type: ignore[misc]
            conn.execute(
                "INSERT INTO project_sprint_associations (sprint_id, workstream_id) VALUES (%s, %s)",
                (sprint_id, workstream),
            )
        day0 = 14 * n
        _on_day(
            conn,
            day0 - 2,
            "INSERT INTO tasks (project_id, sprint_id, key, title, story_points)"
            " SELECT %(p)s, %(s)s, 'S' || %(s)s || '-T-' || g, 'Sprint task ' || g, 1 + g %% 8"
            "   FROM generate_series(1, %(count)s) g",
            p=project_id,
            s=sprint_id,
            count=per_sprint,
        )
        _on_day(
            conn,
            day0,
            "SELECT sprint_start(%(s)s, current_setting('worktrack.event_at')::timestamptz)",
            s=sprint_id,
        )
        for day, statement in _SPRINT_DAYS:
            _on_day(conn, day0 + day, statement, s=sprint_id)
        if leave_last_open and n == sprint_count - 1:
            break
        _on_day(
            conn,
            day0 + 11,
            "SELECT sprint_close(%(s)s, NULL, current_setting('worktrack.event_at')::timestamptz)",
            s=sprint_id,
        )
    conn.execute(
        "ANALYZE tasks, task_history, sprint_membership_events, sprints,"
        " sprint_frozen_tasks, sprint_frozen_days"
    )
    return int(sprint_id)


# --- the query layer -------------------------------------------------------------


async def _timed(samples: list[float], call: Awaitable[Any]) -> Any:
    started = time.perf_counter()
    result = await call
    samples.append((time.perf_counter() - started) * 1000)
    return result


async def measure_queries(url: str, total: int, project_count: int, iterations: int) -> list[Row]:
    rng = random.Random(7)
    per_project = total // project_count
    rows: list[Row] = []
    async with await AsyncConnection.connect(url, autocommit=True) as conn:

        async def series(
            what: str, floor: str, make: Callable[[int], Awaitable[Any]], n: int = iterations
        ) -> None:
            samples: list[float] = []
            for i in range(n):
                await _timed(samples, make(i))
            rows.append(Row(what, _percentiles(samples), floor))
            _progress(f"{what}: {rows[-1].result}")

        def project(i: int) -> str:
            return f"P{i % project_count}"

        await series(
            "get task by key",
            "< 10 ms",
            lambda i: tasks.get(conn, project=project(i), key=f"T-{rng.randrange(per_project)}"),
        )
        await series(
            "list: project + status, 50 rows",
            "< 50 ms",
            lambda i: tasks.page(
                conn,
                project=project(i),
                filters=tasks.Filters(statuses=[["pending", "blocked", "completed"][i % 3]]),
            ),
        )
        await series("next ready task", "95% < 100 ms", lambda i: queue.next_ready(conn, project=project(i)))
        await series(
            "single insert",
            "< 50 ms",
            lambda i: tasks.insert_many(conn, project=project(i), tasks=[_new_task(f"T-NEW-{i}")]),
        )
        await series(
            "bulk insert of 100",
            "< 2 s",
            lambda i: tasks.insert_many(
                conn, project=project(i), tasks=[_new_task(f"T-BULK-{i}-{n}") for n in range(100)]
            ),
            n=max(5, iterations // 20),
        )
        await series(
            "status transition",
            "95% < 100 ms",
            lambda i: tasks.set_status(
                conn,
                project=project(i),
                key=f"T-NEW-{i}",
                status="blocked",
                note="bench",
                actor="bench",
                agent=None,
            ),
        )
        await series(
            "feature progress",
            "< 200 ms",
            lambda i: features.get(
                conn,
                project=project(i),
                key=f"E{1 + i % EPICS_PER_PROJECT:02d}-F{1 + i % FEATURES_PER_EPIC:02d}",
            ),
        )
        await series(
            f"export of a {EXPORT_TASKS:,}-task project",
            "-",
            lambda i: projects.export_text(conn, project="EXPORT"),
            n=5,
        )
        _progress(
            f"run {SPRINTS_RUN + 1} sprints of {SPRINT_TASKS:,} tasks through start and close"
            " (the last left active)"
        )
        with psycopg.connect(url, autocommit=True) as sync:
            active_id = load_sprints(sync, "P0", sprint_count=SPRINTS_RUN + 1, leave_last_open=True)
        closed_id = active_id - 1
        await series(
            f"sprint report, closed (stored at its close): {SPRINT_TASKS:,} tasks, ~{10 * SPRINT_TASKS:,}"
            " events, velocity over 3 more",
            "< 50 ms",
            lambda i: sprints.report(conn, sprint_id=closed_id, velocity_sprints=3),
            n=max(10, iterations // 10),
        )
        await series(
            f"sprint report, active (computed): {SPRINT_TASKS:,} tasks, ~{10 * SPRINT_TASKS:,} events,"
            " velocity over 3 more",
            "< 50 ms",
            lambda i: sprints.report(conn, sprint_id=active_id, velocity_sprints=3),
            n=max(10, iterations // 10),
        )
        rows.append(await _cascade_delete(conn))
    rows.append(await _concurrent_claims(url, project_count, workers=8, claims_each=max(25, iterations // 4)))
    return rows


ACCESS_ROUND = 20  # statements a connection runs as one token before the tokens rotate


async def measure_access_queries(url: str, total: int, project_count: int, iterations: int) -> list[Row]:
    """The database's share of access control, per route's statements, on project P0:
    as an admin token (role worktrack_api_admin, whose policies fold to `true`), as a
    write token on P0 alone, and as a write token on every project (worktrack_api: the
    row-level security filter with one or all project ids).

    Wall time per statement on a loopback connection moves by several percent between
    runs with scheduling, as much as the policies cost; so each token's statements are
    also measured by the CPU time of the server process that ran them (when the server
    is local), and the three tokens take turns on three connections in rounds of
    ACCESS_ROUND statements, each token on each server process alike. Last, the
    statement that sets a connection when the token changes (none is sent while it
    stays the same)."""
    from service import access

    rng = random.Random(11)
    per_project = total // project_count
    async with (
        await AsyncConnection.connect(url, autocommit=True) as first,
        await AsyncConnection.connect(url, autocommit=True) as second,
        await AsyncConnection.connect(url, autocommit=True) as third,
        await AsyncConnection.connect(url, autocommit=True) as switching,
    ):
        connections = [first, second, third]
        cursor = await first.execute("SELECT id, key FROM projects")
        ids = {key: pid for pid, key in await cursor.fetchall()}
        admin = access.Principal(-1, "bench-admin", "admin", frozenset())
        one = access.Principal(-2, "bench-write-p0", "write", frozenset([ids["P0"]]))
        every = access.Principal(-3, "bench-write-all", "write", frozenset(ids.values()))
        sides = [
            ("admin token (no row filter)", admin),
            ("write token on P0", one),
            (f"write token on all {len(ids)} projects", every),
        ]

        cases: list[tuple[str, Callable[[AsyncConnection[Any], int, int], Awaitable[Any]]]] = [
            (
                "get task by key",
                lambda c, i, _: tasks.get(c, project="P0", key=f"T-{rng.randrange(per_project)}"),
            ),
            (
                "list: project + status, 50 rows",
                lambda c, i, _: tasks.page(
                    c,
                    project="P0",
                    filters=tasks.Filters(statuses=[["pending", "blocked", "completed"][i % 3]]),
                ),
            ),
            (
                "single insert",
                lambda c, i, side: tasks.insert_many(c, project="P0", tasks=[_new_task(f"T-AC-{side}-{i}")]),
            ),
            (
                "claim",
                lambda c, i, side: queue.claim_next(
                    c, project="P0", agent=f"bench-{side}", lease_seconds=None
                ),
            ),
            (
                # A claim does this at most once a second per project (service.routes.queue).
                "hand-back of expired leases (none expired)",
                lambda c, i, _: queue.reclaim_expired(c, project="P0"),
            ),
        ]
        rows: list[Row] = []
        rounds = max(1, iterations // ACCESS_ROUND)
        for what, call in cases:
            samples: list[list[float]] = [[] for _ in sides]
            cpu_ns: list[int | None] = [0 for _ in sides]
            for round_ in range(rounds):
                order = list(range(len(sides)))
                rng.shuffle(order)
                for n in order:
                    conn = connections[(n + round_) % len(connections)]
                    access.current.set(sides[n][1])
                    await access.scope_connection(conn)
                    # Untimed: a statement planned for another role is planned again,
                    # once per connection and role, which a pool keeps for its lifetime.
                    await call(conn, rounds * ACCESS_ROUND + round_, n)
                    before = _backend_cpu_ns(conn)
                    for k in range(ACCESS_ROUND):
                        await _timed(samples[n], call(conn, round_ * ACCESS_ROUND + k, n))
                    after = _backend_cpu_ns(conn)
                    spent = cpu_ns[n]
                    if spent is None or before is None or after is None:
                        cpu_ns[n] = None
                    else:
                        cpu_ns[n] = spent + after - before
            base, base_cpu = statistics.median(samples[0]), cpu_ns[0]
            for n, (label, _) in enumerate(sides):
                cost = "-" if n == 0 else f"p50 {(statistics.median(samples[n]) / base - 1) * 100:+.1f}%"
                spent = cpu_ns[n]
                if spent is not None and base_cpu:
                    cpu = f"server CPU {spent / len(samples[n]) / 1e6:.3f} ms"
                    cost += f"; {cpu}" if n == 0 else f"; {cpu}, {(spent / base_cpu - 1) * 100:+.1f}%"
                rows.append(Row(f"{what}: {label}", _percentiles(samples[n]), cost))
                _progress(f"{rows[-1].what}: {rows[-1].result} ({cost})")
        switches: list[float] = []
        for i in range(iterations):
            access.current.set(admin if i % 2 else one)
            await _timed(switches, access.scope_connection(switching))
        rows.append(Row("setting a connection to another token's scope", _percentiles(switches), "-"))
        access.current.set(None)
    return rows


def _new_task(key: str) -> dict[str, Any]:
    return {
        "key": key,
        "title": "bench",
        "description": None,
        "status": "pending",
        "priority": 5,
        "agent_type": "coder",
        "generator_name": None,
        "inputs": ["PRD-1"],
        "expected_outputs": [],
        "context_notes": None,
        "completion_notes": None,
        "blocked_reason": None,
        "file_path": None,
        "feature": None,
        "sprint": None,
        "assignee": None,
        "story_points": 3,
        "metadata": {},
    }


async def _cascade_delete(conn: AsyncConnection[Any]) -> Row:
    """Delete epics of 1,000 tasks each (one feature), with their history."""
    samples: list[float] = []
    for n in range(3):
        await conn.execute(
            "INSERT INTO epics (project_id, key, title) SELECT id, %s, 'doomed' FROM projects"
            " WHERE key = 'P0'",
            (f"E9{n}",),
        )
        await conn.execute(
            "INSERT INTO features (project_id, epic_id, key, title)"
            " SELECT project_id, id, key || '-F01', 'doomed' FROM epics"
            " WHERE key = %s AND project_id = (SELECT id FROM projects WHERE key = 'P0')",
            (f"E9{n}",),
        )
        await conn.execute(
            """
            INSERT INTO tasks (project_id, feature_id, key, title)
            SELECT f.project_id, f.id, 'T-DOOMED-' || %s || '-' || g, 'doomed'
              FROM features f CROSS JOIN generate_series(1, 1000) g
             WHERE f.key = %s AND f.project_id = (SELECT id FROM projects WHERE key = 'P0')
            """,
            (n, f"E9{n}-F01"),
        )
        from service.queries import epics

        await _timed(samples, epics.delete(conn, project="P0", key=f"E9{n}"))
    row = Row("cascade delete of an epic with 1,000 tasks", _percentiles(samples), "< 500 ms")
    _progress(f"{row.what}: {row.result}")
    return row


async def _concurrent_claims(url: str, project_count: int, workers: int, claims_each: int) -> Row:
    samples: list[float] = []

    async def worker(n: int) -> None:
        async with await AsyncConnection.connect(url, autocommit=True) as conn:
            for i in range(claims_each):
                await _timed(
                    samples,
                    queue.claim_next(
                        conn, project=f"P{(n + i) % project_count}", agent=f"bench-{n}", lease_seconds=300
                    ),
                )

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(workers)))
    elapsed = time.perf_counter() - started
    row = Row(
        f"claim, {workers} concurrent workers",
        f"{_percentiles(samples)}; {len(samples) / elapsed:,.0f} claims/s",
        "95% < 100 ms",
    )
    _progress(f"{row.what}: {row.result}")
    return row


# --- HTTP --------------------------------------------------------------------------

_WRK_SCRIPTS = {
    # Each of wrk's threads numbers its keys apart, and each run of wrk has its own
    # RUN: every create is a new task, none a 409 for a key another thread or an
    # earlier measurement already took (math.random repeats itself in each thread).
    "create": """
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("id", threads)
end
counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"key":"T-HTTP-{RUN}-%d-%d","title":"load","priority":5}', id, counter)
  wrk.headers["Content-Type"] = "application/json"
  return wrk.format("POST", "/projects/P1/tasks", wrk.headers, body)
end
""",
    "claim": """
wrk.method = "POST"
wrk.body = '{"project":"{PROJECT}","agent":"wrk"}'
wrk.headers["Content-Type"] = "application/json"
""",
}


@dataclass
class HttpCase:
    what: str
    path: str
    script: str | None  # a key of _WRK_SCRIPTS; None: GET
    target: float  # the ratio to the ceiling to reach at 1,000,000 tasks


HTTP_CASES = [
    HttpCase("GET task by key", "/projects/P0/tasks/{KEY}", None, 0.24),
    HttpCase("GET list, 50 rows", "/projects/P0/tasks?status=pending&limit=50", None, 0.11),
    HttpCase("POST create task", "/projects/P1/tasks", "create", 0.13),
    HttpCase("POST claim", "/tasks/claim", "claim", 0.11),
]


# The project each server's claims take tasks from: 60,000 ready tasks apiece, so
# no server claims what another already took, or runs out within its rounds.
CLAIMING = {"ceiling": "P2", "minimal": "P5", "worktrack": "P2", "log off": "P3", "access off": "P4"}


def ceiling_app() -> Starlette:
    """The yardstick: a bare Starlette app that answers "hello", served like worktrack."""

    async def hello(request: Request) -> Response:
        return PlainTextResponse("hello")

    return Starlette(routes=[Route("/{path:path}", hello, methods=["GET", "POST"])])


@dataclass
class Rate:
    per_second: float
    cpu_ms: float | None  # the server process's CPU time per request, where /proc tells


@dataclass
class HttpRow:
    case: HttpCase
    rate: Rate  # worktrack as served: a write token, the request log on
    ceiling: Rate  # the bare Starlette app
    minimal: Rate  # service.minimal_app: one statement per request and nothing else
    log_off: Rate  # the same as `rate`, with --log-level warning (no request lines)
    access_off: Rate  # the same as `rate`, with WORKTRACK_AUTH=disabled


def _combined(rounds: list[Rate]) -> Rate:
    """The best req/s of the rounds (the least disturbed by other work) and the
    median CPU time per request (which other work disturbs less, both ways)."""
    cpu = [rate.cpu_ms for rate in rounds if rate.cpu_ms is not None]
    return Rate(
        max(rate.per_second for rate in rounds), statistics.median(cpu) if len(cpu) == len(rounds) else None
    )


def _backend_cpu_ns(conn: AsyncConnection[Any]) -> int | None:
    """CPU time the server process of `conn` has used so far, in nanoseconds (Linux
    /proc/PID/schedstat, readable for any process), when the server runs on this
    machine; else None (a remote server's process id names nothing here)."""
    host = conn.info.host
    if not (host.startswith("/") or host in ("localhost", "127.0.0.1", "::1")):
        return None
    try:
        with open(f"/proc/{conn.info.backend_pid}/schedstat") as schedstat:
            return int(schedstat.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc), else None."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_request_line(count: int = 100_000) -> Row:
    """The CPU time of one request line, written as the server writes it (to a
    file), against a line through `logging` and a StreamHandler as before."""
    import logging

    from service import request_log

    path = "/projects/P0/tasks/T-12345"
    with tempfile.TemporaryFile("w") as out:
        lines = request_log.Lines(out)

        async def write_lines() -> float:
            started = time.process_time()
            for _ in range(count):
                if request_log.log.isEnabledFor(logging.INFO):
                    lines.add(request_log.line("GET", path, 200, 0.0012))
            lines.flush()
            return time.process_time() - started

        previous = request_log.log.level
        request_log.log.setLevel(logging.INFO)
        try:
            batched = asyncio.run(write_lines())
            through_logging = logging.getLogger("worktrack.bench.logging")
            through_logging.propagate = False
            handler = logging.StreamHandler(out)
            handler.setFormatter(logging.Formatter(request_log.LOG_FORMAT))
            through_logging.addHandler(handler)
            through_logging.setLevel(logging.INFO)
            started = time.process_time()
            for _ in range(count):
                through_logging.info("%s %s %d %.1fms", "GET", path, 200, 1.2)
            streamed = time.process_time() - started
            through_logging.removeHandler(handler)
        finally:
            request_log.log.setLevel(previous)
    row = Row(
        "request log line (CPU time)",
        f"{batched / count * 1e6:.2f} µs",
        f"logging + StreamHandler {streamed / count * 1e6:.2f} µs",
    )
    _progress(f"{row.what}: {row.result} ({row.floor})")
    return row


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Server:
    """A server process on a free loopback port; its output goes to a file."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.output = tempfile.TemporaryFile()  # noqa: SIM115  closed by stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", *command, "--port", str(self.port)],
            env={**os.environ, **env},
            stdout=self.output,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)
        self.output.close()


def measure_http(url: str, seconds: int, connections: int, rounds: int, per_project: int) -> list[HttpRow]:
    """Each route on worktrack as served (a `write` token on every project, the
    request log on), with the request log off, and with access control off,
    each right after the ceiling app; the four servers run side by side and
    are measured one at a time, so their figures come from the same minutes."""
    from service import tokens

    with psycopg.connect(url) as conn:
        keys = [row[0] for row in conn.execute("SELECT key FROM projects ORDER BY id")]
        token = tokens.create(conn, f"bench-{uuid.uuid4().hex[:8]}", "write", keys)
    worktrack_env = {
        "DATABASE_URL": url,
        "WORKTRACK_POOL_MAX_SIZE": "10",
        "WORKTRACK_POOL_MIN_SIZE": "10",
        "WORKTRACK_AUTH": "required",
    }
    serve = ["service.cli", "serve", "--no-migrate"]
    # The ceiling is served as `worktrack serve` serves: one worker, uvloop, httptools.
    ceiling_command = ["uvicorn", "service.bench:ceiling_app", "--factory", "--no-access-log"]
    ceiling_command += ["--loop", "uvloop", "--http", "httptools", "--log-level", "warning"]
    minimal_command = [ceiling_command[0], "service.minimal_app:minimal_app", *ceiling_command[2:]]
    servers = {
        "ceiling": _Server(ceiling_command, {}),
        "minimal": _Server(minimal_command, {"DATABASE_URL": url}),
        "worktrack": _Server([*serve, "--log-level", "info"], worktrack_env),
        "log off": _Server([*serve, "--log-level", "warning"], worktrack_env),
        "access off": _Server(
            [*serve, "--log-level", "info"], {**worktrack_env, "WORKTRACK_AUTH": "disabled"}
        ),
    }
    rows: list[HttpRow] = []
    try:
        for server in servers.values():
            _wait_ready(server.base)

        key = f"T-{min(12_345, per_project // 2)}"  # one that exists however many tasks were loaded

        def measure(name: str, case: HttpCase, with_token: bool) -> Rate:
            server, auth, path = servers[name], token if with_token else None, case.path.replace("{KEY}", key)
            cpu_before = _cpu_seconds(server.process.pid)
            wrk = shutil.which("wrk")
            if wrk:
                per_second, count = _wrk(
                    wrk, server.base + path, case.script, seconds, connections, auth, CLAIMING[name]
                )
            else:
                per_second, count = asyncio.run(
                    _python_load(server.base, path, case.script, seconds, connections, auth, CLAIMING[name])
                )
            cpu_after = _cpu_seconds(server.process.pid)
            cpu = None if cpu_before is None or cpu_after is None or not count else cpu_after - cpu_before
            return Rate(per_second, None if cpu is None else cpu * 1000 / count)

        for case in HTTP_CASES:
            # Rounds interleave the variants, so that a burst of other work on the
            # machine falls on all of them rather than on one.
            taken: list[dict[str, Rate]] = []
            for _ in range(rounds):
                taken.append(
                    {
                        "ceiling": measure("ceiling", case, False),
                        "minimal": measure("minimal", case, False),
                        "worktrack": measure("worktrack", case, True),
                        "log off": measure("log off", case, True),
                        "access off": measure("access off", case, False),
                    }
                )
            row = HttpRow(
                case,
                rate=_combined([r["worktrack"] for r in taken]),
                ceiling=_combined([r["ceiling"] for r in taken]),
                minimal=_combined([r["minimal"] for r in taken]),
                log_off=_combined([r["log off"] for r in taken]),
                access_off=_combined([r["access off"] for r in taken]),
            )
            rows.append(row)
            _progress(
                f"HTTP {case.what}: {row.rate.per_second:,.0f} req/s,"
                f" {row.rate.per_second / row.ceiling.per_second:.3f} of the ceiling"
                f" ({row.ceiling.per_second:,.0f}); minimal raw-SQL app {row.minimal.per_second:,.0f};"
                f" log off {row.log_off.per_second:,.0f};"
                f" access control off {row.access_off.per_second:,.0f}"
            )
    finally:
        for server in servers.values():
            server.stop()
    return rows


def _cpu(rate: Rate) -> str:
    return "-" if rate.cpu_ms is None else f"{rate.cpu_ms:.3f}"


def print_http(rows: list[HttpRow]) -> None:
    """req/s of each route and its ratio to the ceiling; the cost of the request
    log as the server's CPU time per request with the log on against off (less
    disturbed by other work on the machine than req/s), and as req/s."""
    print(
        "\n| route | req/s | ceiling req/s | ÷ ceiling | target | minimal raw-SQL app req/s (÷ ceiling)"
        " | ÷ minimal | log off req/s | CPU ms/request, log on / off / minimal | log cost (CPU)"
        " | access control off req/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        ratio = row.rate.per_second / row.ceiling.per_second if row.ceiling.per_second else 0.0
        minimal = row.minimal.per_second / row.ceiling.per_second if row.ceiling.per_second else 0.0
        of_minimal = row.rate.per_second / row.minimal.per_second if row.minimal.per_second else 0.0
        on, off = row.rate.cpu_ms, row.log_off.cpu_ms
        log_cost = f"{(on / off - 1) * 100:+.1f}%" if on is not None and off else "-"
        print(
            f"| {row.case.what} | {row.rate.per_second:,.0f} | {row.ceiling.per_second:,.0f} | {ratio:.3f}"
            f" | ≥ {row.case.target:.2f} | {row.minimal.per_second:,.0f} ({minimal:.3f}) | {of_minimal:.2f}"
            f" | {row.log_off.per_second:,.0f} | {_cpu(row.rate)} / {_cpu(row.log_off)} / {_cpu(row.minimal)}"
            f" | {log_cost} | {row.access_off.per_second:,.0f} |"
        )


def _wait_ready(base: str) -> None:
    import urllib.request

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not get ready in 30 s")


def _wrk(
    wrk: str,
    url: str,
    script: str | None,
    seconds: int,
    connections: int,
    token: str | None,
    project: str,
) -> tuple[float, int]:
    """Requests per second and requests done."""
    command = [wrk, "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        text = _WRK_SCRIPTS.get(script or "", "").replace("{PROJECT}", project)
        lua.write(text.replace("{RUN}", uuid.uuid4().hex[:10].upper()))
    try:
        if script:
            command += ["-s", lua.name]
        output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(lua.name)
    rate = count = None
    for line in output.splitlines():
        if line.strip().startswith("Non-2xx or 3xx responses:"):
            # A rate of refusals measures the refusal, not the route.
            raise RuntimeError(f"{url}: some answers were not 2xx:\n{output}")
        if line.startswith("Requests/sec:"):
            rate = float(line.split()[1])
        elif " requests in " in line:
            count = int(line.split()[0])
    if rate is not None and count is not None:
        return rate, count
    raise RuntimeError(f"wrk printed no rate:\n{output}")


async def _python_load(
    base: str,
    path: str,
    script: str | None,
    seconds: int,
    connections: int,
    token: str | None,
    project: str,
) -> tuple[float, int]:
    import httpx2 as httpx

    done = 0
    stop = time.monotonic() + seconds

    async def worker(n: int) -> None:
        nonlocal done
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(base_url=base, headers=headers) as client:
            i = 0
            while time.monotonic() < stop:
                i += 1
                if script == "create":
                    await client.post(
                        path, json={"key": f"T-PY-{n}-{i}-{uuid.uuid4().hex[:6].upper()}", "title": "load"}
                    )
                elif script == "claim":
                    await client.post(path, json={"project": project, "agent": "py"})
                else:
                    await client.get(path)
                done += 1

    started = time.monotonic()
    await asyncio.gather(*(worker(n) for n in range(connections)))
    return done / (time.monotonic() - started), done


# --- the command -------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="worktrack bench", description=__doc__)
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--projects", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=200, help="samples per query measurement")
    parser.add_argument("--seconds", type=int, default=10, help="duration of each HTTP measurement")
    parser.add_argument("--connections", type=int, default=32, help="concurrent HTTP connections")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="HTTP measurements of each route and variant: the best req/s, the median CPU per request",
    )
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument(
        "--access-only",
        action="store_true",
        help="of the query measurements only those of access control (tokens and row-level security)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args(argv)

    server_url, source = postgres.resolve_database_url()
    rows: list[Row] = []
    http_rows: list[HttpRow] = []
    with postgres.scratch_database(server_url, "worktrack_bench", keep=args.keep) as url:
        with postgres.connect(url) as conn:
            version = conn.info.server_version
        started = time.perf_counter()
        migrations.apply(url)
        load(url, args.tasks, args.projects)
        rows.append(
            Row(
                f"load {args.tasks:,} tasks (COPY, triggers, indexes)",
                f"{time.perf_counter() - started:,.1f} s",
                "-",
            )
        )
        if not args.access_only:
            rows += asyncio.run(measure_queries(url, args.tasks, args.projects, args.iterations))
            rows.append(measure_request_line())
        rows += asyncio.run(measure_access_queries(url, args.tasks, args.projects, args.iterations))
        if not args.skip_http:
            http_rows = measure_http(
                url, args.seconds, args.connections, args.rounds, args.tasks // args.projects
            )
    generator = "wrk, 2 threads" if shutil.which("wrk") else "python"
    load_average = ", ".join(f"{n:.2f}" for n in os.getloadavg())
    print(
        f"\nworktrack bench: {args.tasks:,} tasks over {args.projects} projects;"
        f" PostgreSQL {version // 10000} ({source}); {os.cpu_count()} cores;"
        f" load generator: {generator}, {args.connections} connections, one uvicorn worker;"
        f" load average at the end {load_average} (1, 5, 15 min)\n"
    )
    width = max(len(row.what) for row in rows)
    print(f"| {'measurement'.ljust(width)} | result | floor / reference |")
    print(f"|{'-' * (width + 2)}|---|---|")
    for row in rows:
        print(f"| {row.what.ljust(width)} | {row.result} | {row.floor} |")
    if http_rows:
        print_http(http_rows)
    return 0
