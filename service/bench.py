"""`worktrack bench`: load N tasks into a scratch database, then measure the named
queries (p50/p99) and the HTTP API (requests per second) and print one table.

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
from psycopg import AsyncConnection, sql

from service import database, migrations
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
    conn.execute("ANALYZE tasks, task_history, sprint_membership_events, sprints")
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
            lambda i: tasks.page(conn, **_filters(project(i), ["pending", "blocked", "completed"][i % 3])),
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


def _filters(project: str, status: str) -> dict[str, Any]:
    return {
        "project": project,
        "statuses": [status],
        "agent_type": None,
        "priority_min": 1,
        "priority_max": 10,
        "feature": None,
        "epic": None,
        "sprint": None,
        "assignee": None,
        "input": None,
        "text": None,
        "after_project_id": 0,
        "after_id": 0,
        "limit": 50,
    }


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
    "create": """
counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"key":"T-HTTP-%d-%d","title":"load","priority":5}',
                             math.random(1, 1000000000), counter)
  wrk.headers["Content-Type"] = "application/json"
  return wrk.format("POST", "/projects/P1/tasks", wrk.headers, body)
end
""",
    "claim": """
wrk.method = "POST"
wrk.body = '{"project":"P2","agent":"wrk"}'
wrk.headers["Content-Type"] = "application/json"
""",
}
HTTP_CASES = [  # what, path, wrk script, the ORM stack's req/s, the minimal app's req/s
    ("GET task by key", "/projects/P0/tasks/T-12345", None, 420, 1760),
    ("GET list, 50 rows", "/projects/P0/tasks?status=pending&limit=50", None, 170, 890),
    ("POST create task", "/projects/P1/tasks", "create", 340, 1050),
    ("POST claim", "/tasks/claim", "claim", 280, 1010),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure_http(url: str, seconds: int, connections: int) -> list[Row]:
    """Each case twice: with access control off (WORKTRACK_AUTH=disabled), then as a
    `write` token on every project, so the cost of the token check shows."""
    from service import tokens

    with psycopg.connect(url) as conn:
        keys = [row[0] for row in conn.execute("SELECT key FROM projects ORDER BY id")]
        token = tokens.create(conn, f"bench-{uuid.uuid4().hex[:8]}", "write", keys)
    off = _measure_http(url, seconds, connections, None)
    on = _measure_http(url, seconds, connections, token)
    rows = []
    for (what, rate_off, floor), (_, rate_on, _) in zip(off, on, strict=True):
        rows.append(Row(f"HTTP {what}, access control off", f"{rate_off:,.0f} req/s", floor))
        cost = (1 - rate_on / rate_off) * 100 if rate_off else 0.0
        slower = f"{cost:+.1f}% slower than off"
        rows.append(Row(f"HTTP {what}, write token", f"{rate_on:,.0f} req/s", slower))
        _progress(f"{rows[-1].what}: {rows[-1].result} ({rows[-1].floor})")
    return rows


def _measure_http(
    url: str, seconds: int, connections: int, token: str | None
) -> list[tuple[str, float, str]]:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "WORKTRACK_POOL_MAX_SIZE": "10",
        "WORKTRACK_POOL_MIN_SIZE": "10",
        "WORKTRACK_AUTH": "required" if token else "disabled",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "service.cli",
            "serve",
            "--port",
            str(port),
            "--no-migrate",
            "--log-level",
            "error",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    rows: list[tuple[str, float, str]] = []
    try:
        _wait_ready(base)
        wrk = shutil.which("wrk")
        for what, path, script, orm, minimal in HTTP_CASES:
            rate = (
                _wrk(wrk, base + path, script, seconds, connections, token)
                if wrk
                else asyncio.run(_python_load(base, path, script, seconds, connections, token))
            )
            rows.append((what, rate, f"ORM stack {orm}, minimal app {minimal} req/s"))
            _progress(f"HTTP {what} ({'token' if token else 'access control off'}): {rate:,.0f} req/s")
    finally:
        server.terminate()
        server.wait(timeout=15)
    return rows


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


def _wrk(wrk: str, url: str, script: str | None, seconds: int, connections: int, token: str | None) -> float:
    command = [wrk, "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(_WRK_SCRIPTS.get(script or "", ""))
    try:
        if script:
            command += ["-s", lua.name]
        output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(lua.name)
    for line in output.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(f"wrk printed no rate:\n{output}")


async def _python_load(
    base: str, path: str, script: str | None, seconds: int, connections: int, token: str | None
) -> float:
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
                    await client.post(path, json={"project": "P2", "agent": "py"})
                else:
                    await client.get(path)
                done += 1

    started = time.monotonic()
    await asyncio.gather(*(worker(n) for n in range(connections)))
    return done / (time.monotonic() - started)


# --- the command -------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="worktrack bench", description=__doc__)
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--projects", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=200, help="samples per query measurement")
    parser.add_argument("--seconds", type=int, default=10, help="duration of each HTTP measurement")
    parser.add_argument("--connections", type=int, default=32, help="concurrent HTTP connections")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args(argv)

    server_url, source = database.resolve_database_url()
    name = f"worktrack_bench_{uuid.uuid4().hex[:8]}"
    admin = database.with_database(server_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        version = conn.info.server_version
    url = database.with_database(server_url, name)
    rows: list[Row] = []
    try:
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
        rows += asyncio.run(measure_queries(url, args.tasks, args.projects, args.iterations))
        if not args.skip_http:
            rows += measure_http(url, args.seconds, args.connections)
    finally:
        if not args.keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    generator = "wrk" if shutil.which("wrk") else "python"
    print(
        f"\nworktrack bench: {args.tasks:,} tasks over {args.projects} projects;"
        f" PostgreSQL {version // 10000} ({source}); {os.cpu_count()} cores;"
        f" load generator: {generator}, {args.connections} connections, one uvicorn worker\n"
    )
    width = max(len(row.what) for row in rows)
    print(f"| {'measurement'.ljust(width)} | result | floor / reference |")
    print(f"|{'-' * (width + 2)}|---|---|")
    for row in rows:
        print(f"| {row.what.ljust(width)} | {row.result} | {row.floor} |")
    return 0
