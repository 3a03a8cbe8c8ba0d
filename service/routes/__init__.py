"""HTTP endpoints, one module per area. Each module lists its endpoints in ENDPOINTS;
the app builds its routes and the OpenAPI document from those lists."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

Handler = Callable[[Request], Awaitable[Response]]


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
