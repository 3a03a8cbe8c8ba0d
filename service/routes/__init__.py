"""HTTP endpoints, one module per area. Each module lists its endpoints in ENDPOINTS;
the app builds its routes and the OpenAPI document from those lists."""

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

from service.errors import PreconditionFailed
from service.guards import etag
from service.idempotency import CONNECTION

Handler = Callable[[Request], Awaitable[Response]]


class RowIdConvertor(Convertor[int]):
    """{name:id} in a path: a row id, 1 to 18 digits (within bigint), else no route (404)."""

    regex = "[1-9][0-9]{0,17}"

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
    method: str
    path: str
    handler: Handler
    summary: str
    body: type[BaseModel] | None = None
    body_is_list: bool = False
    query: type[BaseModel] | None = None
    # status -> (description, shape): a model, [model] for a page of them, the name of
    # a free-form object in service.openapi, or None for no body
    responses: dict[int, tuple[str, Any]] = field(default_factory=dict)


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
