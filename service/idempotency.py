"""Safe retries: a POST sent with an `Idempotency-Key` header is carried out once.

The key's row and the write share one transaction: the middleware opens it on a
pooled connection, the route's statements run inside it (service.routes.pool
hands the route that connection), and the row holding the answer is written just
before the commit. A crash between the write and the row cannot split them.

- a retry with the same key and the same request gets the first answer again, byte
  for byte, with `Idempotent-Replayed: true`, and changes nothing;
- the same key with another request (method, path, query or body) is 422;
- a request that did not succeed (not 2xx) changed nothing and stores nothing, so
  its retry is carried out afresh;
- keys are scoped to the caller and kept 24 hours;
- an operation whose answer holds a secret (POST /tokens) refuses a key (400):
  the answer would be stored in the clear.

The caller is `scope["worktrack.caller"]`, which the token check sets to the
token's id; "anonymous" with access control disabled, when every client is the same
caller and should make its keys unique (UUIDs).
"""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import queries
from service.db import Pool, translate
from service.guards import send_problem

CALLER = "worktrack.caller"  # scope key: who is asking (the token's id)
CONNECTION = "worktrack.connection"  # scope key: the connection of the request's transaction
ANONYMOUS = "anonymous"
MAX_KEY_LENGTH = 255
# Headers of the first answer that a replay repeats (with its status and body).
_REPLAYED_HEADERS = ("content-type", "location", "etag")

_Q = queries.load("idempotency")
_LOCK, _FIND, _FORGET, _SAVE = (
    _Q["idempotency_lock"],
    _Q["idempotency_find"],
    _Q["idempotency_forget"],
    _Q["idempotency_save"],
)
_PURGE = _Q["idempotency_purge"]


def caller_of(scope: Scope) -> str:
    return str(scope.get(CALLER) or ANONYMOUS)


def _key_of(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"idempotency-key":
            return str(value.decode("latin-1"))
    return None


def _has_if_match(scope: Scope) -> bool:
    return any(name == b"if-match" for name, _ in scope["headers"])


def _request_hash(scope: Scope, body: bytes) -> bytes:
    digest = hashlib.sha256()
    for part in (
        scope["method"].encode(),
        scope.get("raw_path") or scope["path"].encode(),
        scope["query_string"],
    ):
        digest.update(len(part).to_bytes(8, "big") + part)
    digest.update(body)
    return digest.digest()


async def _read_body(receive: Receive) -> bytes:
    """The whole body (BodyBounds in front keeps it within the limit)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class Idempotency:
    """ASGI middleware for the JSON API's routes; see the module's docstring."""

    def __init__(self, app: ASGIApp, pool: Pool, keeps_answers: bool = True) -> None:
        self.app, self.pool, self.keeps_answers = app, pool, keeps_answers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _key_of(scope) if scope["type"] == "http" and scope["method"] == "POST" else None
        if key is None:
            await self.app(scope, receive, send)
            return
        if not self.keeps_answers:
            # The answer holds a secret shown once (POST /tokens): it may not be stored.
            await send_problem(
                send,
                400,
                "Bad Request",
                "this operation's answer holds a secret shown once, so it is not kept for a retry:"
                " send it without an Idempotency-Key",
            )
            return
        if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
            await send_problem(
                send,
                400,
                "Bad Request",
                f"an Idempotency-Key is 1 to {MAX_KEY_LENGTH} printable ASCII characters",
            )
            return
        body = await _read_body(receive)
        try:
            await self._once(scope, send, key, body)
        except PoolTimeout:
            await send_problem(
                send,
                503,
                "Service Unavailable",
                "no database connection became free in time",
                {"Retry-After": "1"},
            )
        except psycopg.Error as exc:
            error = translate(exc)
            await send_problem(send, error.status, error.title, error.detail, error.headers)

    async def _once(self, scope: Scope, send: Send, key: str, body: bytes) -> None:
        caller, request_hash = caller_of(scope), _request_hash(scope, body)
        params = {"caller": caller, "key": key}
        async with self.pool.connection() as conn, conn.transaction() as transaction:
            if _has_if_match(scope):  # service.routes.if_match compares within one snapshot
                await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            await conn.execute(_LOCK, params)
            stored = await (await conn.execute(_FIND, params)).fetchone()
            if stored is not None:
                stored_hash, status, headers, stored_body, is_fresh = stored
                if is_fresh and bytes(stored_hash) == request_hash:
                    await _replay(send, status, headers, bytes(stored_body))
                    return
                if is_fresh:
                    await send_problem(
                        send,
                        422,
                        "Unprocessable Content",
                        "this Idempotency-Key was used for another request; use a new key",
                    )
                    return
                await conn.execute(_FORGET, params)

            answer = _Answer()
            delivered = False

            async def replay_body() -> Message:
                nonlocal delivered
                if delivered:  # the body was read above; then only a disconnect can come
                    return {"type": "http.disconnect"}
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}

            await self.app({**scope, CONNECTION: conn}, replay_body, answer.collect)
            if 200 <= answer.status < 300:
                await conn.execute(
                    _SAVE,
                    {
                        **params,
                        "request_hash": request_hash,
                        "status": answer.status,
                        "headers": Jsonb(answer.kept_headers()),
                        "body": answer.body,
                    },
                )
            else:  # nothing it did may stay: the retry is carried out afresh
                raise psycopg.Rollback(transaction)
        # committed (or rolled back) before the client hears of it
        await answer.send_to(send)


async def _replay(send: Send, status: int, headers: dict[str, str], body: bytes) -> None:
    raw = [(name.encode(), value.encode()) for name, value in headers.items()]
    raw += [(b"content-length", str(len(body)).encode()), (b"idempotent-replayed", b"true")]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class _Answer:
    """The route's answer, held until the transaction has committed."""

    def __init__(self) -> None:
        self.status = 500
        self.messages: list[Message] = []
        self.body = b""

    async def collect(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")
        self.messages.append(message)

    def kept_headers(self) -> dict[str, Any]:
        start = self.messages[0]
        return {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in start.get("headers", [])
            if name.decode("latin-1").lower() in _REPLAYED_HEADERS
        }

    async def send_to(self, send: Send) -> None:
        for message in self.messages:
            await send(message)


def purge(conn: psycopg.Connection[Any]) -> int:
    """Delete keys older than 24 hours (worktrack maintain purge-idempotency-keys)."""
    row = conn.execute(_PURGE).fetchone()
    return int(row[0]) if row else 0
