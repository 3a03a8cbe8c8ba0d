"""The MCP server: the agent queue and task tracking as MCP tools.

One definition, served on stdio (`worktrack mcp`) and over streamable HTTP at
/mcp (mounted in the HTTP app). Each tool checks its arguments with the same
models as the HTTP API, calls the same functions the routes call, and answers
the document the HTTP API answers. An error the HTTP API would answer with a
problem+json body becomes a tool error (isError) whose text is that body.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any, TypeVar

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from service import access, config, db
from service.cursors import cursor_ids
from service.errors import ApiError, Unprocessable
from service.models import (
    AllTasksListQuery,
    ClaimRequest,
    Heartbeat,
    LinkKind,
    ProjectListQuery,
    SprintReportQuery,
    StatusChange,
    TaskCreate,
)
from service.queries import epics, features, projects, sprints, tasks
from service.queries.projects import project_not_found
from service.request_input import field_errors
from service.routes import queue as queue_routes
from service.routes import tasks as task_routes
from service.routes.sprints import sprint_not_found

M = TypeVar("M", bound=BaseModel)
Doc = dict[str, Any]
# A tool's answer: the document as the database wrote it for the text content, parsed
# once for the structured content. The output schema is Doc's.
Answer = Annotated[CallToolResult, Doc]

INSTRUCTIONS = (
    "worktrack: a task queue for agents. Loop: claim_task -> heartbeat while working -> "
    "update_task_status to completed with evidence. Errors are problem+json documents."
)

# Argument descriptions; the JSON Schema of each tool comes from these type hints.
Project = Annotated[str, Field(description="project key")]
Key = Annotated[str, Field(description="task key, e.g. T-1")]
Agent = Annotated[str, Field(description="your agent id")]
Lease = Annotated[int | None, Field(description="lease seconds; default: the project's")]
Limit = Annotated[int, Field(description="page size, 1-500")]
After = Annotated[str | None, Field(description="`next` of the previous page")]

_READ = ToolAnnotations(read_only_hint=True)

# The SDK notes every stateless request at INFO; the access log already does.
logging.getLogger("mcp.server.streamable_http").setLevel(logging.WARNING)


def _checked(model: type[M], **fields: Any) -> M:
    """The arguments as the HTTP API's model: the same 422 for the same mistakes."""
    try:
        return model.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        raise Unprocessable("the arguments are invalid", errors=field_errors(exc, "arguments")) from None


async def _answer(work: Coroutine[Any, Any, str | None], allowed: Awaitable[Any]) -> CallToolResult:
    """The document the HTTP API would answer ({} for its 204), or its problem+json
    as a tool error. `allowed` is the token check of the call (service.access)."""
    try:
        try:
            await allowed
        except BaseException:
            work.close()
            raise
        doc = await work
    except ApiError as exc:
        problem: Doc = {"type": "about:blank", "title": exc.title, "status": exc.status, "detail": exc.detail}
        if exc.errors:
            problem["errors"] = exc.errors
        raise ToolError(json.dumps(problem)) from None
    text = "{}" if doc is None else doc
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=json.loads(text))


def _allowed_hosts() -> list[str]:
    raw = os.environ.get("WORKTRACK_MCP_ALLOWED_HOSTS", "").strip()
    if raw:
        return [h.strip() for h in raw.split(",") if h.strip()]
    # By default the names the API answers (config.allowed_hosts_from_env): the
    # loopback names and the address `worktrack serve` listens on, with or without a port.
    listen = os.environ.get("WORKTRACK_LISTEN_HOST", "").strip().lower().strip("[]")
    names = [*config.LOOPBACK_HOSTS, *([listen] if listen and listen not in ("0.0.0.0", "::") else [])]
    hosts = [f"[{name}]" if ":" in name else name for name in names]
    return [pattern for host in hosts for pattern in (host, f"{host}:*")]


def transport_security() -> TransportSecuritySettings:
    """DNS-rebinding protection for /mcp: only these Host headers are served
    (WORKTRACK_MCP_ALLOWED_HOSTS, comma-separated, `*` for any port; default loopback)."""
    hosts = _allowed_hosts()
    origins = [f"{scheme}://{host}" for host in hosts for scheme in ("http", "https")]
    return TransportSecuritySettings(allowed_hosts=hosts, allowed_origins=origins)


def _untitled(schema: Any) -> Any:
    """A JSON Schema without the titles pydantic derives from names: agents read
    the tool list on every session, so it carries no repetition."""
    if isinstance(schema, dict):
        return {k: _untitled(v) for k, v in schema.items() if not (k == "title" and isinstance(v, str))}
    if isinstance(schema, list):
        return [_untitled(v) for v in schema]
    return schema


def build(pool: db.Pool) -> MCPServer[Any]:
    """The MCP server over `pool` (opened by whoever serves it)."""
    registered: list[Tool] = []

    def tool(*, read_only: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            made = Tool.from_function(fn, annotations=_READ if read_only else None)
            made.parameters = _untitled(made.parameters)
            if made.fn_metadata.output_schema is not None:
                made.fn_metadata.output_schema = _untitled(made.fn_metadata.output_schema)
            registered.append(made)
            return fn

        return register

    @tool(read_only=True)
    async def list_projects(limit: Limit = 50, after: After = None) -> Answer:
        """List projects: {items, next}."""

        async def run() -> str:
            query = _checked(ProjectListQuery, limit=limit, after=after)
            (after_id,) = cursor_ids(query.after, 1)
            return await db.run(
                pool, lambda conn: projects.page(conn, after_id=after_id, limit=query.limit, is_active=None)
            )

        return await _answer(run(), access.require(pool, None, "admin"))

    @tool(read_only=True)
    async def get_next_task(project: Project) -> Answer:
        """The task claim_task would get now, changing nothing; {} when none is ready."""
        return await _answer(queue_routes.next_ready(pool, project), access.require(pool, project, "read"))

    @tool()
    async def claim_task(
        project: Project,
        agent: Agent,
        lease_seconds: Lease = None,
        epic: Annotated[str | None, Field(description="only within this epic")] = None,
        feature: Annotated[str | None, Field(description="only within this feature")] = None,
        agent_type: Annotated[str | None, Field(description="only tasks for this agent type")] = None,
    ) -> Answer:
        """Atomically claim the best ready task (in_progress, leased to you); {} when none is ready."""

        async def run() -> str | None:
            body = _checked(
                ClaimRequest,
                project=project,
                agent=agent,
                lease_seconds=lease_seconds,
                epic=epic,
                feature=feature,
                agent_type=agent_type,
            )
            return await queue_routes.claim(pool, body)

        return await _answer(run(), access.require(pool, project, "agent"))

    @tool()
    async def heartbeat(project: Project, key: Key, agent: Agent, lease_seconds: Lease = None) -> Answer:
        """Extend your lease on a task you hold."""

        async def run() -> str:
            body = _checked(Heartbeat, agent=agent, lease_seconds=lease_seconds)
            return await queue_routes.extend_lease(pool, project, key, body)

        return await _answer(run(), access.require(pool, project, "agent"))

    @tool()
    async def update_task_status(
        project: Project,
        key: Key,
        status: Annotated[
            str, Field(description="pending|in_progress|blocked|in_review|completed|cancelled")
        ],
        note: str | None = None,
        evidence: Annotated[
            dict[str, Any] | None, Field(description='e.g. {"commit":..,"tests":..,"files":[..]}')
        ] = None,
        agent: Annotated[str | None, Field(description="refused unless you still hold it")] = None,
    ) -> Answer:
        """Move a task to another status, with a history row (note, evidence)."""

        async def run() -> str:
            body = _checked(StatusChange, status=status, note=note, evidence=evidence, agent=agent)
            return await task_routes.set_status(pool, project, key, body)

        return await _answer(run(), access.require(pool, project, "agent"))

    @tool(read_only=True)
    async def get_task(project: Project, key: Key) -> Answer:
        """One task."""

        async def run() -> str:
            return await db.run(pool, lambda conn: tasks.get(conn, project=project, key=key))

        return await _answer(run(), access.require(pool, project, "read"))

    @tool(read_only=True)
    async def list_tasks(
        project: Project,
        status: Annotated[str | None, Field(description="comma list")] = None,
        agent_type: str | None = None,
        epic: str | None = None,
        feature: str | None = None,
        sprint: int | None = None,
        assignee: int | None = None,
        priority_min: int = 1,
        priority_max: int = 10,
        input: Annotated[str | None, Field(description="input artifact id")] = None,
        q: Annotated[str | None, Field(description="text in title or description")] = None,
        limit: Limit = 50,
        after: After = None,
    ) -> Answer:
        """A page of a project's tasks, filtered: {items, next}."""

        async def run() -> str:
            query = _checked(
                AllTasksListQuery,
                project=project,
                status=status,
                agent_type=agent_type,
                epic=epic,
                feature=feature,
                sprint=sprint,
                assignee=assignee,
                priority_min=priority_min,
                priority_max=priority_max,
                input=input,
                q=q,
                limit=limit,
                after=after,
            )
            filters = task_routes.list_filters(query)
            return await db.run(pool, lambda conn: tasks.page(conn, project=project, filters=filters))

        return await _answer(run(), access.require(pool, project, "read"))

    @tool()
    async def create_task(
        project: Project,
        key: Key,
        title: str,
        description: str | None = None,
        priority: Annotated[int, Field(description="1-10")] = 5,
        agent_type: str | None = None,
        feature: str | None = None,
        context_notes: str | None = None,
        inputs: list[str] | None = None,
        expected_outputs: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Answer:
        """Create a pending task."""

        async def run() -> str:
            fields = {
                "key": key,
                "title": title,
                "description": description,
                "priority": priority,
                "agent_type": agent_type,
                "feature": feature,
                "context_notes": context_notes,
                "inputs": inputs,
                "expected_outputs": expected_outputs,
                "metadata": metadata,
            }
            body = _checked(TaskCreate, **fields)
            return (await task_routes.insert_tasks(pool, project, [body]))[1:-1]  # the one of the array

        return await _answer(run(), access.require(pool, project, "agent"))

    @tool()
    async def create_tasks(
        project: Project,
        tasks: Annotated[list[dict[str, Any]], Field(description="objects with create_task's fields")],
    ) -> Answer:
        """Create many tasks: all or none. {items}."""

        async def run() -> str:
            if not 1 <= len(tasks) <= task_routes.BULK_MAX:
                raise Unprocessable(f"send between 1 and {task_routes.BULK_MAX} tasks")
            try:
                items = TypeAdapter(list[TaskCreate]).validate_python(tasks)
            except ValidationError as exc:
                raise Unprocessable(
                    "the arguments are invalid", errors=field_errors(exc, "arguments.tasks")
                ) from None
            docs = await task_routes.insert_batch(pool, project, items)
            return f'{{"items":{docs},"next":null}}'

        return await _answer(run(), access.require(pool, project, "agent"))

    @tool()
    async def add_dependency(
        project: Project,
        key: Key,
        depends_on: Annotated[str, Field(description="the task it must wait for")],
    ) -> Answer:
        """Make a task wait for another until it completes."""
        return await _answer(_edge(pool, project, key, depends_on), access.require(pool, project, "write"))

    @tool()
    async def remove_dependency(project: Project, key: Key, depends_on: str) -> Answer:
        """Remove a dependency."""

        async def run() -> str:
            await task_routes.remove_edge(pool, project, key, depends_on)
            return json.dumps({"task": key, "depends_on": depends_on, "removed": True})

        return await _answer(run(), access.require(pool, project, "write"))

    @tool()
    async def link_tasks(project: Project, key: Key, other: str, kind: LinkKind) -> Answer:
        """Link without blocking: related, or discovered_from (key was found working on other)."""
        return await _answer(_edge(pool, project, key, other, kind), access.require(pool, project, "write"))

    @tool(read_only=True)
    async def get_progress(project: Project, epic: str | None = None, feature: str | None = None) -> Answer:
        """An epic or a feature with its progress; name one."""

        async def run() -> str:
            if (epic is None) == (feature is None):
                raise Unprocessable("name an epic or a feature")
            if epic is not None:
                return await db.run(pool, lambda conn: epics.get(conn, project=project, key=epic))
            return await db.run(pool, lambda conn: features.get(conn, project=project, key=str(feature)))

        return await _answer(run(), access.require(pool, project, "read"))

    @tool(read_only=True)
    async def get_sprint_report(project: Project, sprint: int, velocity_sprints: int = 3) -> Answer:
        """A sprint's report: commitment, completed, scope change, burndown, velocity."""

        async def run() -> str:
            query = _checked(SprintReportQuery, velocity_sprints=velocity_sprints)
            if not await db.run(pool, lambda conn: projects.exists(conn, project=project)):
                raise project_not_found(project)
            principal = access.current.get()
            assert principal is not None  # access.require, in front, refused the call without one
            await access.require_sprint_visible(pool, principal, sprint)
            doc = await db.run(
                pool,
                lambda conn: sprints.report(conn, sprint_id=sprint, velocity_sprints=query.velocity_sprints),
            )
            if doc is None:
                raise sprint_not_found(sprint)
            return doc

        return await _answer(run(), access.require(pool, project, "read"))

    return MCPServer("worktrack", instructions=INSTRUCTIONS, tools=registered)


async def _edge(pool: db.Pool, project: str, key: str, other: str, kind: str | None = None) -> str:
    created = await task_routes.add_edge(pool, project, key, other, kind)
    return json.dumps({"task": key, kind or "depends_on": other, "created": created})
