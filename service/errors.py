"""The API's error tree and its one problem+json (RFC 9457) handler."""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route

log = logging.getLogger("worktrack.errors")

PROBLEM_JSON = "application/problem+json"


class ApiError(Exception):
    """An error the client is told about; subclasses fix status and title."""

    status = 500
    title = "Internal Server Error"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


class BadRequest(ApiError):
    status, title = 400, "Bad Request"


class NotFound(ApiError):
    status, title = 404, "Not Found"


class Conflict(ApiError):
    status, title = 409, "Conflict"


class PreconditionFailed(ApiError):
    status, title = 412, "Precondition Failed"


class PayloadTooLarge(ApiError):
    status, title = 413, "Content Too Large"


class Unprocessable(ApiError):
    status, title = 422, "Unprocessable Content"


class ServiceUnavailable(ApiError):
    status, title = 503, "Service Unavailable"

    def __init__(self, detail: str, *, retry_after: int = 1) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


async def api_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return problem(exc.status, exc.title, exc.detail, errors=exc.errors, headers=exc.headers)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 and 405, as problem+json."""
    assert isinstance(exc, HTTPException)
    titles = {404: "Not Found", 405: "Method Not Allowed"}
    path = request.url.path
    headers = dict(exc.headers or {})
    if exc.status_code == 405:  # every method the path has, not only one route's
        methods = {
            method
            for route in request.app.router.routes
            if isinstance(route, Route) and route.methods and route.matches(request.scope)[0] != Match.NONE
            for method in route.methods
        }
        headers["Allow"] = ", ".join(sorted(methods))
    detail = {
        404: f"no route matches {escaped(path)}" + _what_is_wrong_with(path),
        405: f"{request.method} is not allowed on {escaped(path)}",
    }.get(exc.status_code, str(exc.detail))
    return problem(exc.status_code, titles.get(exc.status_code, "Error"), detail, headers=headers)


def escaped(text: str) -> str:
    """Control characters, backslashes and non-ASCII as escapes: one field, one line."""
    return text.encode("unicode_escape").decode("ascii")


def _what_is_wrong_with(path: str) -> str:
    if any(ch < " " or ch == "\x7f" for ch in path):
        return ": the path holds a control character"
    if not path.isascii():
        return ": keys in a path are ASCII letters, digits, '-' and '_'"
    return ""


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    """A bug on our side: logged with its traceback, never shown to the client."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "Internal Server Error", "an unexpected error occurred; it has been logged")
