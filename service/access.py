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
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Literal

import psycopg
from psycopg_pool import PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import queries
from service.db import Pool, translate
from service.errors import ApiError, NotFound
from service.guards import send_problem
from service.idempotency import CALLER

PREFIX = "wt_"
TOKEN_CHARS = 43  # secrets.token_urlsafe(32)
COOKIE = "worktrack_token"
PRINCIPAL = "worktrack.principal"  # scope key: the Principal of the request

Need = Literal["open", "token", "read", "agent", "write", "admin"]
ProjectFrom = Literal["path", "query", "body"] | None
_RANK = {"read": 1, "agent": 2, "write": 3}

_Q = queries.load("tokens")


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


async def authenticate(pool: Pool, token: str | None, project: str | None) -> tuple[Principal, int | None]:
    """The token's principal and the id of the project named (None if there is none),
    in one statement; 401 for a missing, malformed, unknown, expired or revoked token."""
    if not token:
        raise challenge("this request needs an API token: Authorization: Bearer wt_...")
    wellformed = token.startswith(PREFIX) and len(token) == len(PREFIX) + TOKEN_CHARS
    wanted = digest(token)
    key = (wanted, None if project is None else project.lower())
    cached = _cache.get(key)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1], cached[2]
    row = None
    if wellformed:
        async with pool.connection() as conn:
            row = await (
                await conn.execute(_Q["token_check"], {"token_hash": wanted, "project": project})
            ).fetchone()
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


async def require(pool: Pool, project: str | None, need: Need) -> Principal:
    """The check of an MCP tool call, by the principal of the call."""
    principal = current.get()
    if principal is None:
        raise challenge("this call needs an API token")
    if principal.is_admin:
        return principal
    project_id = None if project is None else await _project_id(pool, project)
    decide(principal, need, project is not None, project_id, project or "")
    return principal


# Project ids by lower(key), kept CACHE_SECONDS like the token check's answers: an
# MCP tool call then costs no statement for its check. Unknown keys are never kept.
_project_ids: dict[str, tuple[float, int]] = {}


async def _project_id(pool: Pool, project: str) -> int | None:
    key, now = project.lower(), time.monotonic()
    cached = _project_ids.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    async with pool.connection() as conn:
        row = await (
            await conn.execute("SELECT id FROM projects WHERE lower(key) = lower(%s)", (project,))
        ).fetchone()
    if row is None:
        return None
    if len(_project_ids) >= _CACHE_LIMIT:
        _project_ids.clear()
    _project_ids[key] = (now + CACHE_SECONDS, row[0])
    return int(row[0])


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
            except ValueError:
                parsed = None
            if isinstance(parsed, dict) and isinstance(parsed.get("project"), str):
                project = parsed["project"]
            receive = _replay(body)
        try:
            principal, project_id = await authenticate(
                self.pool, bearer_of(scope, cookie=self.cookie), project
            )
            decide(principal, self.rule.need, project is not None, project_id, project or "")
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
