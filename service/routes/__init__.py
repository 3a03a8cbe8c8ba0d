"""HTTP endpoints, one module per area. Each module lists its endpoints in ENDPOINTS;
the app builds its routes and the OpenAPI document from those lists."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response

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


def pool(request: Request) -> Any:
    return request.app.state.pool
