"""Creating, listing and revoking API tokens (the CLI and /tokens share these)."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from service import access, queries

_Q = queries.load("tokens")
_TOKEN_ADD_PROJECT = _Q["token_add_project"]
_TOKEN_ANY_EXISTS = _Q["token_any_exists"]
_TOKEN_CREATE = _Q["token_create"]
_TOKEN_LIST = _Q["token_list"]
_TOKEN_REVOKE = _Q["token_revoke"]
ROLES = ("admin", "read", "write", "agent")


class TokenError(Exception):
    """A token cannot be made as asked; the message is one line for the user."""


def create(
    conn: psycopg.Connection[Any],
    name: str,
    role: str,
    projects: list[str],
    expires_in: str | None = None,
) -> str:
    """A new token (shown once; only its digest is kept)."""
    if role not in ROLES:
        raise TokenError(f"the role is one of {', '.join(ROLES)}")
    if (role == "admin") == bool(projects):
        raise TokenError("an admin token names no project; a project role names at least one")
    token = access.new_token()
    with conn.transaction():
        try:
            row = conn.execute(
                _TOKEN_CREATE,
                {"name": name, "token_hash": access.digest(token), "role": role, "expires_in": expires_in},
            ).fetchone()
        except psycopg.errors.UniqueViolation:
            raise TokenError(f"a token named {name!r} exists already") from None
        except (psycopg.errors.InvalidDatetimeFormat, psycopg.errors.CheckViolation):
            raise TokenError(f"not a usable expiry: {expires_in!r} (e.g. 30d, 12h)") from None
        assert row is not None
        for project in projects:
            if conn.execute(_TOKEN_ADD_PROJECT, {"token_id": row[0], "project": project}).fetchone() is None:
                raise TokenError(f"project {project!r} does not exist")
    return token


def interval(text: str | None) -> str | None:
    """30d, 12h, 15m -> a PostgreSQL interval."""
    if text is None:
        return None
    units = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
    if text[-1:] in units and text[:-1].isdigit():
        return f"{text[:-1]} {units[text[-1]]}"
    return text


def listing(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    row = conn.execute(_TOKEN_LIST).fetchone()
    found: list[dict[str, Any]] = (
        json.loads(row[0]) if row and isinstance(row[0], str) else (row[0] if row else [])
    )
    return found


def revoke(conn: psycopg.Connection[Any], name: str) -> bool:
    with conn.transaction():
        return conn.execute(_TOKEN_REVOKE, {"name": name}).fetchone() is not None


def first_admin(conn: psycopg.Connection[Any]) -> str | None:
    """An admin token when the database has no token at all (its first start), else None."""
    with conn.transaction():  # workers starting together make one token, not several
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('worktrack first admin token', 0))")
        row = conn.execute(_TOKEN_ANY_EXISTS).fetchone()
        if row and row[0]:
            return None
        return create(conn, "admin", "admin", [])
