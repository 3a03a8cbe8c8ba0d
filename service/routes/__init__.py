"""HTTP endpoints, one module per area. Each module lists its endpoints in ENDPOINTS;
the app builds its routes and the OpenAPI document from those lists, and each
endpoint's declaration reads and checks its request before the handler runs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from psycopg import AsyncConnection, errors
from psycopg.pq import TransactionStatus
from pydantic import BaseModel
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response

from service.access import Rule, rule_for
from service.errors import PreconditionFailed
from service.guards import etag
from service.idempotency import CONNECTION
from service.request_input import read_body, read_query

Handler = Callable[[Request], Awaitable[Response]]
# A handler takes the request, then `body=` and `query=` when its endpoint declares them.
TypedHandler = Callable[..., Awaitable[Response]]


class RowIdConvertor(Convertor[int]):
    """{name:id} in a path: a row id, 1 to 18 digits (within bigint), else no route (404)."""

    DIGITS = 18
    regex = f"[1-9][0-9]{{0,{DIGITS - 1}}}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", RowIdConvertor())


class KeyConvertor(Convertor[str]):
    """{name:key} in a path: a project, epic, feature or task key in ASCII, else no route."""

    regex = "[A-Za-z][A-Za-z0-9_-]{0,99}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("key", KeyConvertor())

# Path parameters that name a project, epic, feature or task: ASCII letters, digits,
# '-' and '_' (every key format of the schema). A key spelled otherwise names no
# route (404), so lower() never folds a Kelvin sign or a dotted İ onto a stored key.
KEY_PARAMETERS = ("project", "key", "other")


@dataclass(frozen=True)
class Endpoint:
    """One operation: its route, what it reads and answers, and who may call it.

    The declaration is the one place for each: the app serves `handler` behind a
    parse of the query string into `query` and of the body into `body` (422 naming
    each field at fault, before the handler or any SQL runs), and the OpenAPI
    document describes exactly this.
    """

    method: str
    path: str
    handler: TypedHandler
    summary: str
    body: type[BaseModel] | None = None
    # the body may be left empty, meaning the model's defaults
    body_optional: bool = False
    query: type[BaseModel] | None = None
    # status -> (description, shape): a model, [model] for a page of them, or None
    # for no body
    responses: dict[int, tuple[str, Any]] = field(default_factory=dict)
    # who may call it; by default service.access.rule_for(method, path)
    rule: Rule | None = None
    # a probe's or a scraper's: answered at any Host, without the JSON API's guards
    # (tokens aside), and outside the JSON API's error answers
    probe: bool = False
    # what it answers besides application/json (/metrics: text/plain)
    media_type: str = "application/json"
    # its answer holds a secret shown once (a new token): never kept for an
    # Idempotency-Key's replay, so a request with one is refused
    secret_answer: bool = False

    @property
    def access_rule(self) -> Rule:
        return self.rule if self.rule is not None else rule_for(self.method, self.path)

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    def serve(self) -> Handler:
        """The handler behind the declaration's reading of the request."""
        handler, body, query, optional = self.handler, self.body, self.query, self.body_optional
        if body is None and query is None:
            return handler

        async def endpoint(request: Request) -> Response:
            typed: dict[str, Any] = {}
            if query is not None:
                typed["query"] = read_query(request, query)
            if body is not None:
                typed["body"] = await read_body(request, body, optional=optional)
            return await handler(request, **typed)

        endpoint.__name__ = endpoint.__qualname__ = handler.__name__
        return endpoint


class _RequestTransaction:
    """The connection of the request's own transaction (service.idempotency), handed
    out as the pool hands out connections: each use in a savepoint, so a statement
    that fails leaves the transaction usable for the route's next question."""

    def __init__(self, conn: AsyncConnection[tuple[Any, ...]]) -> None:
        self.conn = conn

    @asynccontextmanager
    async def connection(
        self, timeout: float | None = None
    ) -> AsyncIterator[AsyncConnection[tuple[Any, ...]]]:
        async with self.conn.transaction():
            yield self.conn


def pool(request: Request) -> Any:
    """Where the route's statements run: the request's transaction when it has one;
    for writes, the pool behind service.db.WriterGate."""
    bound = request.scope.get(CONNECTION)
    if bound is not None:
        return _RequestTransaction(bound)
    if request.method in ("GET", "HEAD"):
        return request.app.state.pool
    return request.app.state.writers  # leaves a connection for reads


def etag_of(doc: str) -> str:
    """The ETag GET gives the document `doc` (service.guards.ETags)."""
    return etag(doc.encode())


Operation = Callable[[AsyncConnection[tuple[Any, ...]]], Awaitable[Any]]


def if_match(request: Request, read: Operation, write: Operation) -> Operation:
    """`write`, guarded by the request's If-Match: 412 unless the resource, as `read`
    returns it (the document GET answers), still has one of the ETags named.

    Read and write share one REPEATABLE READ snapshot: a change committed in between
    makes the write fail to serialize, which is answered 412 too. `read` returning
    None (no such row) lets `write` find that out and answer 404 its usual way.
    """
    header = request.headers.get("if-match")
    if header is None:
        return write
    wanted = {tag.strip() for tag in header.split(",")}

    async def checked(conn: AsyncConnection[tuple[Any, ...]]) -> Any:
        in_request_transaction = conn.info.transaction_status != TransactionStatus.IDLE
        try:
            async with conn.transaction():
                if not in_request_transaction:  # (the request's own is REPEATABLE READ already)
                    await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                current = await read(conn)
                if current is not None and "*" not in wanted and etag_of(current) not in wanted:
                    raise PreconditionFailed("the resource changed since that ETag; read it again")
                return await write(conn) if current is not None else None
        except errors.SerializationFailure:
            raise PreconditionFailed("the resource changed while the request ran; read it again") from None

    return checked
