"""Users: the people who plan sprints and hold tasks."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from service import db
from service.cursors import cursor_ids
from service.errors import NotFound
from service.models import User, UserCreate, UserListQuery, UserPatch
from service.queries import users
from service.responses import JSONText
from service.routes import Endpoint, pool


def user_not_found(user_id: int) -> NotFound:
    return NotFound(f"user {user_id} does not exist")


async def create_user(request: Request, body: UserCreate) -> Response:
    doc = await db.run(pool(request), lambda conn: users.insert(conn, body))
    return JSONText(doc, status_code=201)


async def list_users(request: Request, query: UserListQuery) -> Response:
    (after_id,) = cursor_ids(query.after, 1)
    doc = await db.run(
        pool(request),
        lambda conn: users.page(
            conn, after_id=after_id, limit=query.limit, is_active=query.is_active, settings=query.settings
        ),
    )
    return JSONText(doc)


async def get_user(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    doc = await db.run(pool(request), lambda conn: users.get(conn, id=user_id))
    if doc is None:
        raise user_not_found(user_id)
    return JSONText(doc)


async def patch_user(request: Request, body: UserPatch) -> Response:
    user_id = request.path_params["user_id"]
    patch = body.model_dump(mode="json", exclude_unset=True)
    doc = await db.run(pool(request), lambda conn: users.update(conn, id=user_id, patch=patch))
    if doc is None:
        raise user_not_found(user_id)
    return JSONText(doc)


async def delete_user(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    if not await db.run(pool(request), lambda conn: users.delete(conn, id=user_id), deleting=True):
        raise user_not_found(user_id)
    return Response(status_code=204)


_NO_USER = ("no such user", None)

ENDPOINTS = [
    Endpoint(
        "POST",
        "/users",
        create_user,
        "Create a user",
        body=UserCreate,
        responses={201: ("the user", User), 409: ("the email or Jira account is taken", None)},
    ),
    Endpoint(
        "GET",
        "/users",
        list_users,
        "List users",
        query=UserListQuery,
        responses={200: ("a page of users", [User])},
    ),
    Endpoint(
        "GET",
        "/users/{user_id:id}",
        get_user,
        "Read a user",
        responses={200: ("the user", User), 404: _NO_USER},
    ),
    Endpoint(
        "PATCH",
        "/users/{user_id:id}",
        patch_user,
        "Change a user",
        body=UserPatch,
        responses={200: ("the user", User), 404: _NO_USER, 409: ("the email is taken", None)},
    ),
    Endpoint(
        "DELETE",
        "/users/{user_id:id}",
        delete_user,
        "Delete a user",
        responses={204: ("deleted", None), 404: _NO_USER},
    ),
]
