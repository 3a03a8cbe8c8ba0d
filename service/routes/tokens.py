"""API tokens for admins: make one (its secret shown once), list them, revoke one."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from psycopg import AsyncConnection, errors
from pydantic import ConfigDict, Field, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service import access, db, queries
from service.errors import Conflict, NotFound
from service.models import INTEGRAL, Body, TokenCreated, TokenList, refused
from service.routes import Endpoint, pool

_Q = queries.load("tokens")


class TokenCreate(Body):
    # The rule create_token checks, in the document: an admin token names no project,
    # a project role at least one.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"role": {"const": "admin"}}},
            "then": {"properties": {"projects": {"maxItems": 0}}},
            "else": {"properties": {"projects": {"minItems": 1}}, "required": ["projects"]},
        }
    )
    name: str = Field(min_length=1, max_length=100)
    role: Literal["admin", "read", "write", "agent"]
    projects: list[str] = Field(default_factory=list, max_length=1000)
    expires_in_seconds: Annotated[int, Field(ge=1, le=10 * 365 * 86_400), INTEGRAL] | None = None

    @model_validator(mode="after")
    def _projects_fit_the_role(self) -> TokenCreate:
        if (self.role == "admin") == bool(self.projects):
            raise refused("an admin token names no project; a project role names at least one")
        return self


async def create_token(request: Request, body: TokenCreate) -> Response:
    token = access.new_token()
    expires_in = None if body.expires_in_seconds is None else f"{body.expires_in_seconds} seconds"

    async def make(conn: AsyncConnection[tuple[Any, ...]]) -> None:
        async with conn.transaction():
            try:
                cursor = await conn.execute(
                    _Q["token_create"],
                    {
                        "name": body.name,
                        "token_hash": access.digest(token),
                        "role": body.role,
                        "expires_in": expires_in,
                    },
                )
            except errors.UniqueViolation:
                raise Conflict(f"a token named {body.name!r} exists already") from None
            row = await cursor.fetchone()
            assert row is not None
            for project in body.projects:
                added = await conn.execute(_Q["token_add_project"], {"token_id": row[0], "project": project})
                if await added.fetchone() is None:
                    raise NotFound(f"project {project!r} does not exist")

    await db.run(pool(request), make)
    # The only time the secret is shown: only its digest is stored.
    return JSONResponse(
        {"name": body.name, "role": body.role, "projects": body.projects, "token": token}, 201
    )


async def list_tokens(request: Request) -> Response:
    async def listing(conn: AsyncConnection[tuple[Any, ...]]) -> Any:
        row = await (await conn.execute(_Q["token_list"])).fetchone()
        return row[0] if row else []

    found = await db.run(pool(request), listing)
    return JSONResponse(json.loads(found) if isinstance(found, str) else found)


async def revoke_token(request: Request) -> Response:
    name = request.path_params["name"]

    async def revoke(conn: AsyncConnection[tuple[Any, ...]]) -> bool:
        return await (await conn.execute(_Q["token_revoke"], {"name": name})).fetchone() is not None

    if not await db.run(pool(request), revoke):
        raise NotFound(f"no token is named {name!r}")
    access.forget_cached()  # this process stops accepting it now
    return Response(status_code=204)


ENDPOINTS = [
    Endpoint(
        "POST",
        "/tokens",
        create_token,
        "Make an API token; the answer holds its secret, shown this once",
        body=TokenCreate,
        responses={
            201: ("the token, with its secret", TokenCreated),
            400: ("an Idempotency-Key was sent: the secret is not kept for a replay", None),
            409: ("the name is taken", None),
        },
        secret_answer=True,
    ),
    Endpoint(
        "GET",
        "/tokens",
        list_tokens,
        "The API tokens, without secrets",
        responses={200: ("the tokens", TokenList)},
    ),
    Endpoint(
        "DELETE",
        # :path, so that a name with a "/" (sent as %2F) is revocable too
        "/tokens/{name:path}",
        revoke_token,
        "Revoke a token (it stays listed, revoked)",
        responses={204: ("revoked", None), 404: ("no such token", None)},
    ),
]
