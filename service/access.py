"""Who may do what: API tokens, roles, and the one check every request passes.

A token is `wt_` and 43 URL-safe characters (256 random bits); only its SHA-256
digest is stored. It carries the instance role `admin`, or one project role on a
list of projects:

- `read`: GET on the project;
- `agent`: read, plus next, claim, heartbeat, status changes, creating tasks;
- `write`: agent, plus creating, changing and deleting epics, features, tasks,
  dependencies and links.

Everything else (projects themselves, users, sprints, workstreams, reports,
tokens, and the lists that span projects) needs `admin`.

`Authorize` is the one place the token is checked: the JSON API's routes, the
web UI's pages and /mcp each pass it, with the rule of their operation. Its
answers: no, unknown, expired or revoked token 401 (with `WWW-Authenticate:
Bearer`); a project the token does not list 404, as if it did not exist; a role
too small for the operation 403. MCP tools ask `require` for their project,
which decides by the same `decide`.

The second wall is row-level security (migration 0037): every connection the
pool hands out is first set, by `scope_connection`, to the role and the project
ids of the principal of the running request (`current`), so a statement that
forgets its project filter still sees only the token's projects.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import json
import logging
import secrets
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import queries
from service.db import Pool, translate
from service.errors import ApiError, NotFound
from service.guards import send_problem
from service.idempotency import CALLER
from service.queries import projects, tasks

PREFIX = "wt_"
TOKEN_CHARS = 43  # secrets.token_urlsafe(32)
COOKIE = "worktrack_token"
PRINCIPAL = "worktrack.principal"  # scope key: the Principal of the request

Need = Literal["open", "token", "read", "agent", "write", "admin"]
# Where the project of an operation is named; "sprint": the operation reads a
# sprint, which a project role may when the sprint takes in one of its projects.
ProjectFrom = Literal["path", "query", "body", "sprint"] | None
_RANK = {"read": 1, "agent": 2, "write": 3}

_Q = queries.load("tokens")
_TOKEN_CHECK, _SPRINT_VISIBLE = _Q["token_check"], _Q["sprint_visible"]
_ROLES_AVAILABLE, _SET_SCOPE = _Q["connection_may_take_roles"], _Q["connection_set_scope"]


class Unauthorized(ApiError):
    status, title = 401, "Unauthorized"


class Forbidden(ApiError):
    status, title = 403, "Forbidden"


def challenge(detail: str) -> Unauthorized:
    return Unauthorized(detail, headers={"WWW-Authenticate": 'Bearer realm="worktrack"'})


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class Principal:
    token_id: int | None  # None when access control is disabled
    name: str
    role: str
    project_ids: frozenset[int]

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def caller(self) -> str:
        """Whose Idempotency-Keys these are."""
        return "anonymous" if self.token_id is None else f"token:{self.token_id}"

    @property
    def actor(self) -> str:
        """Who task history names for a change when the request names no agent."""
        return "api" if self.token_id is None else self.name


NOBODY_CHECKS = Principal(None, "anonymous", "admin", frozenset())

# The principal of the running MCP tool call (set by Authorize for /mcp, by
# `worktrack mcp` from WORKTRACK_TOKEN for stdio).
current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("principal", default=None)


@dataclass(frozen=True)
class Rule:
    need: Need
    project_from: ProjectFrom = None


def rule_for(method: str, path: str) -> Rule:
    """The role an operation of the JSON API needs (also published in OpenAPI)."""
    if path in ("/tasks/next",):
        return Rule("read", "query")
    if path == "/tasks/claim":
        return Rule("agent", "body")
    if method == "GET" and path == "/sprints/{sprint_id:id}/report":
        return Rule("read", "sprint")
    if not path.startswith("/projects/{project}/"):
        return Rule("admin")  # projects themselves, the sprint side, cross-project lists
    if method == "GET":
        return Rule("read", "path")
    tail = path.removeprefix("/projects/{project}/")
    if (method, tail) in (
        ("POST", "tasks"),
        ("POST", "tasks/bulk"),
        ("POST", "tasks/{key}/heartbeat"),
        ("POST", "tasks/{key}/status"),
    ):
        return Rule("agent", "path")
    return Rule("write", "path")


def _public(name: str) -> Rule:
    """/metrics and /openapi.json: open unless WORKTRACK_<NAME>=token."""
    import os

    return (
        Rule("token")
        if os.environ.get(f"WORKTRACK_{name}", "open").strip().lower() == "token"
        else Rule("open")
    )


METRICS_RULE = _public("METRICS")
OPENAPI_RULE = _public("OPENAPI")


def decide(principal: Principal, need: Need, project_named: bool, project_id: int | None, key: str) -> None:
    """Raise the answer for a principal that may not do this; return when it may."""
    if principal.is_admin or need in ("open", "token"):
        return
    if project_named and (project_id is None or project_id not in principal.project_ids):
        # the same answer the route gives for a project that does not exist
        raise NotFound(f"project {key!r} does not exist")
    if need == "admin" or _RANK[principal.role] < _RANK[need]:
        raise Forbidden(f"this token's role ({principal.role}) may not do this; it needs {need}")


def bearer_of(scope: Scope, *, cookie: bool = False) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            return credentials.strip() if scheme.lower() == "bearer" else ""
    if cookie:
        for name, value in scope["headers"]:
            if name == b"cookie":
                for part in value.decode("latin-1").split(";"):
                    key, _, val = part.strip().partition("=")
                    if key == COOKIE:
                        return str(val)
    return None


# Good answers of the token check, kept CACHE_SECONDS: a request then costs no
# extra statement. A revocation or expiry takes effect within that time (at once in
# the process that revoked through /tokens); unknown tokens are never kept.
CACHE_SECONDS = 2.0
_CACHE_LIMIT = 10_000
_cache: dict[tuple[bytes, str | None], tuple[float, Principal, int | None]] = {}


def forget_cached() -> None:
    _cache.clear()
    _project_ids.clear()


async def authenticate(
    pool: Pool, token: str | None, project: str | None, *, cached_ok: bool = True
) -> tuple[Principal, int | None]:
    """The token's principal and the id of the project named (None if there is none),
    in one statement; 401 for a missing, malformed, unknown, expired or revoked token.
    cached_ok=False asks the database whatever the cache holds."""
    if not token:
        raise challenge("this request needs an API token: Authorization: Bearer wt_...")
    wellformed = token.startswith(PREFIX) and len(token) == len(PREFIX) + TOKEN_CHARS
    wanted = digest(token)
    key = (wanted, None if project is None else project.lower())
    cached = _cache.get(key)
    now = time.monotonic()
    if cached_ok and cached is not None and cached[0] > now:
        return cached[1], cached[2]
    row = None
    if wellformed:
        # The check itself sees every project: it decides which the request may see.
        checking = current.set(NOBODY_CHECKS)
        try:
            async with pool.connection() as conn:
                row = await (
                    await conn.execute(_TOKEN_CHECK, {"token_hash": wanted, "project": project})
                ).fetchone()
        finally:
            current.reset(checking)
    # The lookup is by digest, so how much of a wrong token matched tells nothing;
    # the digest itself is compared in constant time all the same.
    if row is None or not hmac.compare_digest(bytes(row[3]), wanted) or not row[4]:
        raise challenge("the API token is unknown, expired or revoked")
    token_id, name, role, _, _, project_ids, project_id = row
    principal = Principal(token_id, name, role, frozenset(project_ids))
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()
    _cache[key] = (now + CACHE_SECONDS, principal, project_id)
    return principal, project_id


# The token `worktrack mcp` (stdio) acts as: checked again on every tool call, so
# its expiry or revocation ends what it may do at once, not only at the next start.
_stdio_token: str | None = None


async def act_as(pool: Pool, token: str) -> Principal:
    """Make the stdio MCP server act as `token` (401 now if it is not usable)."""
    global _stdio_token
    principal, _ = await authenticate(pool, token, None, cached_ok=False)
    _stdio_token = token
    current.set(principal)
    return principal


async def require(pool: Pool, project: str | None, need: Need) -> Principal:
    """The check of an MCP tool call, by the principal of the call."""
    if _stdio_token is not None:
        principal_now, _ = await authenticate(pool, _stdio_token, None, cached_ok=False)
        current.set(principal_now)  # this call's own context (the tool call's task)
    principal = current.get()
    if principal is None:
        raise challenge("this call needs an API token")
    if principal.is_admin:
        return principal
    project_id = None if project is None else await _project_id(pool, project)
    decide(principal, need, project is not None, project_id, project or "")
    return principal


async def require_sprint_visible(pool: Pool, principal: Principal, sprint_id: object) -> None:
    """404 for a sprint that takes in none of the token's projects, as if it did not
    exist (HTTP's sprint routes and the MCP sprint report alike)."""
    if principal.is_admin:
        return
    acting = current.set(principal)  # (row-level security agrees with the ids named)
    try:
        async with pool.connection() as conn:
            row = await (
                await conn.execute(
                    _SPRINT_VISIBLE, {"sprint_id": sprint_id, "project_ids": sorted(principal.project_ids)}
                )
            ).fetchone()
    finally:
        current.reset(acting)
    if not (row and row[0]):
        raise NotFound(f"sprint {sprint_id} does not exist")


async def require_sprints_visible(pool: Pool, sprint_ids: list[int | None]) -> None:
    """A task goes into a sprint its token can see (service.access.require_sprint_visible:
    a sprint of a workstream of one of its projects, or holding one of their tasks);
    another answers 404, as if it did not exist. Sprints span projects, so without
    this a token of one project could put work into another's sprint, and read it."""
    principal = current.get()
    if principal is None:
        return
    for sprint_id in sorted({s for s in sprint_ids if s is not None}):
        await require_sprint_visible(pool, principal, sprint_id)


def require_agent_may_create(statuses: list[str], sprints: list[int | None]) -> None:
    """A token of the `agent` role creates work still to be done: pending or blocked,
    in no sprint (a task born done, or put into a sprint, is a `write` token's call:
    either would move a sprint's figures)."""
    principal = current.get()
    if principal is None or principal.role != "agent":
        return
    if any(status not in ("pending", "blocked") for status in statuses):
        raise Forbidden(
            "an agent token creates tasks pending or blocked; a write token may create them otherwise"
        )
    if any(sprint is not None for sprint in sprints):
        raise Forbidden("an agent token creates tasks in no sprint; a write token may put them in one")


def history_actor(named: str | None, agent: str | None) -> str:
    """The actor a status change's history records: the one the request names, only
    from an admin token (an import or a script acting for people); else the agent it
    names; else the token's name. A token of a project role cannot write another
    name into the history (403)."""
    principal = current.get()
    if named is not None and principal is not None and not principal.is_admin:
        raise Forbidden(
            "only an admin token names the actor of a change: this token's changes are"
            " recorded under its name, or the agent the request names"
        )
    return named or agent or actor()


def actor() -> str:
    """The history actor of a change whose request names no agent: the token's name."""
    principal = current.get()
    return "api" if principal is None else principal.actor


Operation = Callable[[AsyncConnection[Any]], Awaitable[Any]]


def held_only(project: str, key: str, agent: str | None, operation: Operation) -> Operation:
    """`operation` (a status change) as the principal may run it: a token of the
    `agent` role changes only tasks that the agent it names holds now (in progress,
    claimed by it, lease running); checked on the locked row, in the change's own
    transaction. A missing task is left to `operation` (404 its usual way)."""
    principal = current.get()
    if principal is None or principal.role != "agent":
        return operation
    if not agent:
        raise Forbidden("an agent token names the agent that holds the task (agent) to change its status")

    async def checked(conn: AsyncConnection[Any]) -> Any:
        async with conn.transaction():
            if await tasks.held_by(conn, project=project, key=key, agent=agent) is False:
                raise Forbidden(
                    f"an agent token changes the status only of tasks its agent holds;"
                    f" {agent!r} does not hold {key!r}"
                )
            return await operation(conn)

    return checked


# Project ids by lower(key), kept CACHE_SECONDS like the token check's answers: an
# MCP tool call then costs no statement for its check. Unknown keys are never kept.
_project_ids: dict[str, tuple[float, int]] = {}


async def _project_id(pool: Pool, project: str) -> int | None:
    key, now = project.lower(), time.monotonic()
    cached = _project_ids.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    async with pool.connection() as conn:
        found = await projects.look_up_id(conn, project)
    if found is None:
        return None
    if len(_project_ids) >= _CACHE_LIMIT:
        _project_ids.clear()
    _project_ids[key] = (now + CACHE_SECONDS, found)
    return found


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _query_value(scope: Scope, name: str) -> str | None:
    from urllib.parse import parse_qs

    values = parse_qs(scope["query_string"].decode("latin-1")).get(name)
    return values[0] if values else None


class Authorize:
    """The one check of a route (see the module's docstring). Route middleware, so the
    path parameters are known; `enabled=False` (WORKTRACK_AUTH=disabled) lets
    everyone in as an admin."""

    def __init__(
        self,
        app: ASGIApp,
        pool: Pool,
        rule: Rule,
        enabled: bool,
        cookie: bool = False,
        sign_in: str | None = None,
    ) -> None:
        self.app, self.pool, self.rule, self.enabled, self.cookie = app, pool, rule, enabled, cookie
        self.sign_in = sign_in  # where a browser without a token is sent (the UI's pages)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.rule.need == "open":
            await self.app(scope, receive, send)
            return
        if not self.enabled:
            await self._pass(scope, receive, send, NOBODY_CHECKS)
            return
        project: str | None = None
        if self.rule.project_from == "path":
            project = scope.get("path_params", {}).get("project")
        elif self.rule.project_from == "query":
            project = _query_value(scope, "project")
        elif self.rule.project_from == "body":
            body = await _read_body(receive)
            try:
                parsed = json.loads(body) if body else None
            except (ValueError, RecursionError):  # the route's own parse answers for the body
                parsed = None
            if isinstance(parsed, dict) and isinstance(parsed.get("project"), str):
                project = parsed["project"]
            receive = _replay(body)
        try:
            principal, project_id = await authenticate(
                self.pool, bearer_of(scope, cookie=self.cookie), project
            )
            decide(principal, self.rule.need, project is not None, project_id, project or "")
            if self.rule.project_from == "sprint":
                params = scope.get("path_params", {})
                # the API's name, the UI's
                await require_sprint_visible(self.pool, principal, params.get("sprint_id", params.get("id")))
        except ApiError as exc:
            if exc.status == 401 and self.sign_in is not None:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 303,
                        "headers": [(b"location", self.sign_in.encode())],
                    }
                )
                await send({"type": "http.response.body", "body": b""})
                return
            await send_problem(send, exc.status, exc.title, exc.detail, exc.headers)
            return
        except PoolTimeout:
            await send_problem(
                send,
                503,
                "Service Unavailable",
                "no database connection became free in time",
                {"Retry-After": "1"},
            )
            return
        except psycopg.Error as exc:
            error = translate(exc)
            await send_problem(send, error.status, error.title, error.detail, error.headers)
            return
        await self._pass(scope, receive, send, principal)

    async def _pass(self, scope: Scope, receive: Receive, send: Send, principal: Principal) -> None:
        reset = current.set(principal)
        try:
            await self.app({**scope, PRINCIPAL: principal, CALLER: principal.caller}, receive, send)
        finally:
            current.reset(reset)


def _replay(body: bytes) -> Receive:
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def principal_of(scope: Scope) -> Principal:
    found = scope.get(PRINCIPAL)
    return found if isinstance(found, Principal) else NOBODY_CHECKS


def auth_enabled() -> bool:
    return _auth_setting() != "disabled"


def _auth_setting() -> str:
    import os

    return os.environ.get("WORKTRACK_AUTH", "required").strip().lower() or "required"


# --- the second wall: what a connection may see ---------------------------------

API_ROLE = "worktrack_api"  # row-level security keeps it to worktrack.project_ids
ADMIN_ROLE = "worktrack_api_admin"  # a member of API_ROLE that sees every project

log = logging.getLogger("worktrack.access")


@dataclass
class _Connection:
    may_switch_role: bool
    scope: tuple[str, str, str, str] | None = None  # what the connection is set to now


# Per pooled connection: whether it may take the API roles, and the scope it holds.
# A connection is set only while idle (as the pool hands it out, autocommit), so
# what is noted here is what the server holds: no transaction can roll it back.
_connections: weakref.WeakKeyDictionary[AsyncConnection[Any], _Connection] = weakref.WeakKeyDictionary()
_warned = False


def scope_of(principal: Principal | None) -> tuple[str, str, str, str]:
    """(role, worktrack.project_ids, worktrack.actor, worktrack.token) for a principal:
    the token's name goes into the history of its changes whatever actor a request
    names (empty: none). No principal (a statement outside any request) sees no project."""
    if principal is None:
        return API_ROLE, "", "api", ""
    token = "" if principal.token_id is None else principal.name
    if principal.is_admin:
        return ADMIN_ROLE, "", principal.actor, token
    ids = "{" + ",".join(str(i) for i in sorted(principal.project_ids)) + "}"
    return API_ROLE, ids, principal.actor, token


async def configure_connection(conn: AsyncConnection[Any]) -> None:
    """A new pooled connection: may its login role take the API roles?"""
    global _warned
    row = await (
        await conn.execute(_ROLES_AVAILABLE, {"api_role": API_ROLE, "admin_role": ADMIN_ROLE})
    ).fetchone()
    may = bool(row and row[0])
    _connections[conn] = _Connection(may)
    if not may and not _warned:
        _warned = True
        log.warning(
            "the database login role %s is not a member of %s and %s: the API runs as that role, "
            "and row-level security keeps nothing out unless it owns nothing (docs/database-roles.md)",
            conn.info.user,
            API_ROLE,
            ADMIN_ROLE,
        )


async def scope_connection(conn: AsyncConnection[Any]) -> None:
    """Set a connection the pool hands out to what the running request may see.

    Every hand-out passes here (service.db.ScopedPool), so no connection keeps the
    projects of the request that used it before; the statement is sent only when
    the scope differs from the one the connection holds."""
    state = _connections.get(conn)
    if state is None:
        await configure_connection(conn)
        state = _connections[conn]
    wanted = scope_of(current.get())
    if state.scope == wanted:
        return
    state.scope = None  # unknown until the statement succeeds
    role, project_ids, actor, token = wanted
    taken = role if state.may_switch_role else None  # None: the login's own role stays
    await conn.execute(
        _SET_SCOPE, {"role": taken, "project_ids": project_ids, "actor": actor, "token": token}
    )
    state.scope = wanted
