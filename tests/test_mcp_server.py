"""The MCP server through the SDK's own client (ClientSession): over stdio against
`worktrack mcp`, and over streamable HTTP against a live `worktrack serve`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import psycopg
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from service.postgres import with_database
from tests.helpers import CloneFactory, admin_token, serving

ROOT = Path(__file__).resolve().parent.parent
TOOLS = {
    "list_projects",
    "get_next_task",
    "claim_task",
    "heartbeat",
    "update_task_status",
    "get_task",
    "list_tasks",
    "create_task",
    "create_tasks",
    "add_dependency",
    "remove_dependency",
    "link_tasks",
    "get_progress",
    "get_sprint_report",
}
TOOLS_LIST_TOKEN_BUDGET = 2500


@pytest.fixture(scope="module")
def served(pg_server: str, clones: CloneFactory) -> Iterator[tuple[str, str]]:
    """worktrack serve on a migrated database of its own: (database url, MCP url)."""
    name = clones.take()
    try:
        url = with_database(pg_server, name)
        with serving(url, "--no-migrate", "--log-level", "warning", WORKTRACK_POOL_MAX_SIZE="10") as server:
            yield url, f"{server.base}/mcp"
    finally:
        clones.give_back(name)


@asynccontextmanager
async def over_http(mcp_url: str) -> AsyncIterator[ClientSession]:
    async with streamable_http_client(mcp_url) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@asynccontextmanager
async def over_stdio(database_url: str) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "service.cli", "mcp", "--no-migrate"],
        env={"DATABASE_URL": database_url, "WORKTRACK_TOKEN": admin_token(database_url)},
    )
    with open("/dev/null", "w") as quiet:  # the server's log lines go to its stderr
        async with stdio_client(params, errlog=quiet) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            yield session


async def ok(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def problem(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    """The problem+json document of a tool error (isError), as the HTTP API gives it."""
    result = await session.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    text = result.content[0].text  # type: ignore[union-attr]
    assert "Traceback" not in text
    if "{" not in text:
        return {"status": None, "detail": text}  # refused by the SDK's own type check
    doc: dict[str, Any] = json.loads(text[text.index("{") :])
    return doc


async def status(session: ClientSession, tool: str, **arguments: Any) -> int | None:
    """The HTTP status of a tool error; None when the SDK's own type check refused it."""
    return (await problem(session, tool, **arguments))["status"]  # type: ignore[no-any-return]


async def detail(session: ClientSession, tool: str, **arguments: Any) -> str:
    return (await problem(session, tool, **arguments))["detail"]  # type: ignore[no-any-return]


def _setup_project(database_url: str, project: str) -> None:
    """A project with epic E01 / feature E01-F01 and a sprint, made directly in SQL:
    creating projects is not an agent's job."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO projects (key, name) VALUES (%s, %s)", (project, project))
        for epic in ("E01", "E02"):
            conn.execute(
                "INSERT INTO epics (project_id, key, title)"
                " SELECT id, %s, 'Epic' FROM projects WHERE key = %s",
                (epic, project),
            )
            conn.execute(
                "INSERT INTO features (project_id, epic_id, key, title)"
                " SELECT e.project_id, e.id, e.key || '-F01', 'Feature'"
                " FROM epics e JOIN projects p ON p.id = e.project_id WHERE p.key = %s AND e.key = %s",
                (project, epic),
            )


def test_the_tool_list_is_fixed_has_schemas_and_fits_the_budget(served: tuple[str, str]) -> None:
    async def main() -> None:
        async with over_http(served[1]) as session:
            listed = await session.list_tools()
        assert {tool.name for tool in listed.tools} == TOOLS
        by_name = {tool.name: tool for tool in listed.tools}
        claim = by_name["claim_task"].input_schema
        assert claim["required"] == ["project", "agent"]
        assert set(claim["properties"]) == {
            "project",
            "agent",
            "lease_seconds",
            "epic",
            "feature",
            "agent_type",
        }
        status = by_name["update_task_status"].input_schema
        assert set(status["required"]) == {"project", "key", "status"}
        assert "evidence" in status["properties"]
        for tool in listed.tools:
            assert tool.description and len(tool.description) <= 120, tool.name
            if tool.name != "list_projects":
                assert "project" in tool.input_schema["required"], tool.name
        wire = listed.model_dump_json(by_alias=True, exclude_none=True)
        tokens = len(wire) / 4
        print(f"\ntools/list: {len(wire)} characters, about {tokens:.0f} tokens (characters / 4)")
        assert tokens < TOOLS_LIST_TOKEN_BUDGET

    anyio.run(main)


async def _exercise_every_tool(session: ClientSession, database_url: str, project: str) -> None:
    """Each tool's success, and its error for bad input, an unknown project, an unknown
    task and a forbidden transition where it has one."""
    p = project
    projects = await ok(session, "list_projects", limit=500)
    assert p in [item["key"] for item in projects["items"]]
    assert await status(session, "list_projects", limit=0) == 422

    # create_task / create_tasks
    one = await ok(session, "create_task", project=p, key="T-1", title="First", feature="E01-F01")
    assert one["key"] == "T-1" and one["epic"] == "E01" and one["status"] == "pending"
    many = await ok(
        session,
        "create_tasks",
        project=p,
        tasks=[{"key": "T-2", "title": "Second"}, {"key": "T-3", "title": "Third", "priority": 1}],
    )
    assert [t["key"] for t in many["items"]] == ["T-2", "T-3"]
    assert await status(session, "create_task", project=p, key="lower-case", title="x") == 422
    assert await status(session, "create_task", project="nope", key="T-9", title="x") == 404
    duplicate = await problem(session, "create_task", project=p, key="T-1", title="again")
    assert duplicate["status"] == 409 and "already exists" in duplicate["detail"]
    unknown_feature = await problem(
        session, "create_task", project=p, key="T-9", title="x", feature="E09-F09"
    )
    assert unknown_feature["status"] == 404
    twice = await problem(session, "create_tasks", project=p, tasks=[{"key": "T-8", "title": "a"}] * 2)
    assert twice["status"] == 422
    # all or none: T-7 is not created when T-1 in the same batch is taken
    batch = [{"key": "T-7", "title": "new"}, {"key": "T-1", "title": "taken"}]
    assert await status(session, "create_tasks", project=p, tasks=batch) == 409
    assert await status(session, "get_task", project=p, key="T-7") == 404

    # add_dependency / remove_dependency
    edge = await ok(session, "add_dependency", project=p, key="T-2", depends_on="T-1")
    assert edge == {"task": "T-2", "depends_on": "T-1", "created": True}
    assert await status(session, "add_dependency", project=p, key="T-1", depends_on="T-2") == 409
    assert (
        await detail(session, "add_dependency", project=p, key="T-2", depends_on="T-404")
        == f"task 'T-404' does not exist in project {p!r}"
    )
    assert await status(session, "add_dependency", project="nope", key="T-2", depends_on="T-1") == 404

    # get_next_task changes nothing; claim_task
    assert (await ok(session, "get_next_task", project=p))["key"] == "T-1"
    assert (await ok(session, "get_next_task", project=p))["status"] == "pending"
    assert await status(session, "get_next_task", project="nope") == 404
    assert await status(session, "claim_task", project=p, agent="a1", lease_seconds=0) == 422
    assert await status(session, "claim_task", project="nope", agent="a1") == 404
    assert await status(session, "claim_task", project=p, agent="a1", epic="not-an-epic") == 422
    claimed = await ok(session, "claim_task", project=p, agent="a1", epic="E01", lease_seconds=120)
    assert (claimed["key"], claimed["status"], claimed["claimed_by"]) == ("T-1", "in_progress", "a1")
    assert await ok(session, "claim_task", project=p, agent="a2", feature="E01-F01") == {}

    # heartbeat
    beat = await ok(session, "heartbeat", project=p, key="T-1", agent="a1")
    # no lease_seconds: the project's default (300 s), longer than the 120 s claimed
    assert datetime.fromisoformat(beat["lease_expires_at"]) > datetime.fromisoformat(
        claimed["lease_expires_at"]
    )
    assert await status(session, "heartbeat", project=p, key="T-1", agent="a2") == 409
    assert await status(session, "heartbeat", project=p, key="T-404", agent="a1") == 404
    assert await status(session, "heartbeat", project="nope", key="T-1", agent="a1") == 404
    assert await status(session, "heartbeat", project=p, key="T-1", agent="a1", lease_seconds=-5) == 422

    # update_task_status, with evidence
    evidence = {"commit": "abc123", "tests": "12 passed", "files": ["service/x.py"]}
    done = await ok(
        session, "update_task_status", project=p, key="T-1", status="completed", agent="a1",
        note="done", evidence=evidence,
    )  # fmt: skip
    assert (done["status"], done["evidence"], done["completion_notes"]) == ("completed", evidence, "done")
    forbidden = await problem(session, "update_task_status", project=p, key="T-3", status="in_review")
    assert (
        forbidden["status"] == 409 and forbidden["detail"] == "task T-3 cannot move from pending to in_review"
    )
    assert await status(session, "update_task_status", project=p, key="T-3", status="done") == 422
    not_object = await problem(
        session, "update_task_status", project=p, key="T-3", status="blocked", evidence=[1]
    )
    assert not_object["status"] in (None, 422)
    assert await status(session, "update_task_status", project=p, key="T-404", status="blocked") == 404
    assert (
        await detail(session, "update_task_status", project="nope", key="T-1", status="blocked")
        == "project 'nope' does not exist"
    )
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT h.to_status, h.actor, h.evidence FROM task_history h"
            " JOIN tasks t ON t.project_id = h.project_id AND t.id = h.task_id"
            " JOIN projects pr ON pr.id = t.project_id"
            " WHERE pr.key = %s AND t.key = 'T-1' ORDER BY h.id DESC LIMIT 1",
            (p,),
        ).fetchone()
    assert row == ("completed", "a1", evidence)

    # get_task, list_tasks
    assert (await ok(session, "get_task", project=p, key="T-1"))["evidence"] == evidence
    assert await status(session, "get_task", project=p, key="T-404") == 404
    assert await status(session, "get_task", project="nope", key="T-1") == 404
    page = await ok(session, "list_tasks", project=p, status="completed,blocked")
    assert [t["key"] for t in page["items"]] == ["T-1"] and page["next"] is None
    first = await ok(session, "list_tasks", project=p, limit=2)
    rest = await ok(session, "list_tasks", project=p, limit=2, after=first["next"])
    assert [t["key"] for t in first["items"] + rest["items"]] == ["T-1", "T-2", "T-3"]
    assert await status(session, "list_tasks", project=p, status="done") == 422
    assert await status(session, "list_tasks", project=p, after="garbage!") == 422
    assert await status(session, "list_tasks", project="nope") == 404

    # link_tasks: listed on the task, never blocking
    await ok(session, "link_tasks", project=p, key="T-3", other="T-2", kind="discovered_from")
    await ok(session, "link_tasks", project=p, key="T-3", other="T-1", kind="related")
    third = await ok(session, "get_task", project=p, key="T-3")
    assert (third["discovered_from"], third["related"], third["depends_on"]) == (["T-2"], ["T-1"], [])
    assert (await ok(session, "get_task", project=p, key="T-1"))["related"] == ["T-3"]
    assert await status(session, "link_tasks", project=p, key="T-3", other="T-3", kind="related") == 422
    assert await status(session, "link_tasks", project=p, key="T-3", other="T-404", kind="related") == 404
    assert await status(session, "link_tasks", project=p, key="T-3", other="T-1", kind="blocks") in (
        None,
        422,
    )
    # T-3 discovered from T-2 (pending, waiting on nobody now) is still ready
    assert (await ok(session, "remove_dependency", project=p, key="T-2", depends_on="T-1"))["removed"]
    assert await status(session, "remove_dependency", project=p, key="T-2", depends_on="T-1") == 404
    ready = {(await ok(session, "claim_task", project=p, agent=f"b{n}"))["key"] for n in range(2)}
    assert ready == {"T-2", "T-3"}

    # get_progress, get_sprint_report
    epic = await ok(session, "get_progress", project=p, epic="E01")
    assert epic["progress"] == {"tasks": 1, "completed": 1, "percent": 100.0}
    feature = await ok(session, "get_progress", project=p, feature="E01-F01")
    assert feature["progress"]["completed"] == 1
    assert await status(session, "get_progress", project=p) == 422
    assert await detail(session, "get_progress", project=p, epic="E77") == (
        f"epic 'E77' does not exist in project {p!r}"
    )
    assert await status(session, "get_progress", project="nope", epic="E01") == 404
    with psycopg.connect(database_url, autocommit=True) as conn:
        sprint = conn.execute(
            "INSERT INTO sprints (jira_sprint_id, name, state) VALUES (%s, 'S', 'future') RETURNING id",
            (abs(hash(p)) % 1_000_000_000 + 1,),
        ).fetchone()
    assert sprint is not None
    report = await ok(session, "get_sprint_report", project=p, sprint=sprint[0])
    assert report["sprint"]["id"] == sprint[0]
    assert await status(session, "get_sprint_report", project=p, sprint=sprint[0] + 10_000) == 404
    assert await status(session, "get_sprint_report", project="nope", sprint=sprint[0]) == 404
    assert await status(session, "get_sprint_report", project=p, sprint=sprint[0], velocity_sprints=0) == 422
    with psycopg.connect(database_url, autocommit=True) as conn:  # the server knows p's id by now
        conn.execute("DELETE FROM projects WHERE key = %s", (p,))
    assert await detail(session, "get_sprint_report", project=p, sprint=sprint[0]) == (
        f"project {p!r} does not exist"
    )


def test_every_tool_over_stdio(served: tuple[str, str]) -> None:
    database_url = served[0]
    _setup_project(database_url, "stdio")

    async def main() -> None:
        async with over_stdio(database_url) as session:
            await _exercise_every_tool(session, database_url, "stdio")

    anyio.run(main)


def test_every_tool_over_http(served: tuple[str, str]) -> None:
    database_url, mcp_url = served
    _setup_project(database_url, "http")

    async def main() -> None:
        async with over_http(mcp_url) as session:
            await _exercise_every_tool(session, database_url, "http")

    anyio.run(main)


def test_a_claim_within_an_epic_never_returns_a_task_outside_it(served: tuple[str, str]) -> None:
    database_url, mcp_url = served
    _setup_project(database_url, "epics")

    async def main() -> None:
        async with over_http(mcp_url) as session:
            tasks = [
                {"key": f"T-{n}", "title": "t", "priority": 10 - n % 10, "feature": feature}
                for n, feature in enumerate(["E01-F01", "E02-F01", None] * 10)
            ]
            await ok(session, "create_tasks", project="epics", tasks=tasks)
            claimed = []
            while task := await ok(session, "claim_task", project="epics", agent="a", epic="E01"):
                claimed.append(task)
            assert len(claimed) == 10 and {t["epic"] for t in claimed} == {"E01"}
            by_type = await ok(session, "claim_task", project="epics", agent="a", agent_type="nobody")
            assert by_type == {}
            rest = await ok(session, "list_tasks", project="epics", status="pending", limit=100)
            assert len(rest["items"]) == 20 and "E01" not in {t["epic"] for t in rest["items"]}

    anyio.run(main)


def test_eight_clients_claim_400_tasks_each_exactly_once_and_never_before_its_dependency(
    served: tuple[str, str],
) -> None:
    database_url, mcp_url = served
    _setup_project(database_url, "swarm")
    total = 400
    edges = [(f"T-{n}", f"T-{n - 7}") for n in range(7, total) if n % 3 == 0]
    claimed: list[str] = []

    async def agent(name: str) -> None:
        async with over_http(mcp_url) as session:
            while len(claimed) < total:
                task = await ok(session, "claim_task", project="swarm", agent=name)
                if not task:  # everything left is claimed or waits on a dependency
                    await anyio.sleep(0.01)
                    continue
                claimed.append(task["key"])
                await ok(
                    session,
                    "update_task_status",
                    project="swarm",
                    key=task["key"],
                    status="completed",
                    agent=name,
                    evidence={"commit": name},
                )

    async def main() -> None:
        async with over_http(mcp_url) as session:
            await ok(
                session,
                "create_tasks",
                project="swarm",
                tasks=[{"key": f"T-{n}", "title": "t"} for n in range(total)],
            )
            for key, depends_on in edges:
                await ok(session, "add_dependency", project="swarm", key=key, depends_on=depends_on)
        with anyio.fail_after(240):
            async with anyio.create_task_group() as group:
                for n in range(8):
                    group.start_soon(agent, f"agent-{n}")

    anyio.run(main)
    assert len(claimed) == total and len(set(claimed)) == total
    with psycopg.connect(database_url) as conn:
        claims: dict[str, int] = dict(
            conn.execute(
                "SELECT t.key, count(*) FILTER (WHERE h.to_status = 'in_progress')"
                " FROM tasks t JOIN projects p ON p.id = t.project_id"
                " JOIN task_history h ON h.project_id = t.project_id AND h.task_id = t.id"
                " WHERE p.key = 'swarm' GROUP BY t.key"
            ).fetchall()
        )
        assert len(claims) == total and set(claims.values()) == {1}
        # Order by history row ids, not timestamps: now() is a transaction's start, and a
        # claim's transaction starts (returning expired leases) before the claim sees the
        # completion it waited for. Ids are drawn in the order rows are written, and a claim
        # writes its row only after the blocker's completion committed.
        early = conn.execute(
            """
            SELECT t.key, blocker.key
              FROM task_dependencies d
              JOIN tasks t ON t.project_id = d.project_id AND t.id = d.task_id
              JOIN tasks blocker ON blocker.project_id = d.project_id AND blocker.id = d.depends_on_id
              JOIN projects p ON p.id = d.project_id
              JOIN task_history claimed ON claimed.project_id = t.project_id AND claimed.task_id = t.id
                                       AND claimed.to_status = 'in_progress'
              JOIN task_history done ON done.project_id = blocker.project_id AND done.task_id = blocker.id
                                    AND done.to_status = 'completed'
             WHERE p.key = 'swarm' AND claimed.id < done.id
            """
        ).fetchall()
        assert early == []
        (edge_count,) = conn.execute(
            "SELECT count(*) FROM task_dependencies d JOIN projects p ON p.id = d.project_id"
            " WHERE p.key = 'swarm'"
        ).fetchone() or (0,)
        assert edge_count == len(edges)


def test_the_readme_agent_loop_runs_and_is_the_example_file(served: tuple[str, str]) -> None:
    database_url, mcp_url = served
    _setup_project(database_url, "readme")
    example = ROOT / "docs" / "examples" / "mcp_agent.py"
    assert example.read_text().strip() in (ROOT / "README.md").read_text()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tasks (project_id, key, title) SELECT id, 'T-1', 'Write the parser'"
            " FROM projects WHERE key = 'readme'"
        )
    result = subprocess.run(
        [sys.executable, str(example), mcp_url, "readme"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "claimed T-1: Write the parser",
        "lease extended",
        "T-1 completed, evidence kept: ['commit', 'tests']",
        "no task is ready",
    ]
