"""Pure ASGI middleware that guards requests before any handler sees them.

Pure ASGI (not BaseHTTPMiddleware) so streamed answers pass through unbuffered.
`bounded` wraps the whole application (body size and pace, security headers);
`json_api` wraps the JSON API's routes (Host check, JSON bodies only). Another
mount opts into the latter with `Mount(path, app, middleware=json_api(...))`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import PROBLEM_JSON, ApiError, PayloadTooLarge

BodyTooLarge = PayloadTooLarge


class RequestTimeout(ApiError):
    status, title = 408, "Request Timeout"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def send_problem(
    send: Send, status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    raw = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


# The rest of the body is not read: the connection ends with the answer.
_CLOSE = {"Connection": "close"}


class BodyBounds:
    """413 as soon as a body passes max_bytes, declared or chunked; 408 when the body
    pauses longer than timeout seconds. Nothing beyond the limit is read into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float) -> None:
        self.app, self.max_bytes, self.timeout = app, max_bytes, timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = f"the request body is larger than {self.max_bytes} bytes"
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await send_problem(send, 413, BodyTooLarge.title, too_large, {"Connection": "close"})
            return
        received = 0
        body_done = False
        started = False

        async def bounded_receive() -> Message:
            nonlocal received, body_done
            if body_done:  # waiting for the disconnect: no bound
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.timeout)
            except TimeoutError:
                raise RequestTimeout(
                    f"the request body paused for more than {self.timeout:g} s", headers=_CLOSE
                ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(too_large, headers=_CLOSE)
                body_done = not message.get("more_body", False)
            else:
                body_done = True
            return message

        async def noting_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded_receive, noting_send)
        except (BodyTooLarge, RequestTimeout) as exc:  # raised outside a Starlette route
            if started:
                raise
            await send_problem(send, exc.status, exc.title, exc.detail, {"Connection": "close"})


class CancelledAnswers:
    """503 with Retry-After, not uvicorn's 500, for a request cancelled before it was
    answered: shutdown ran past its grace, and the statement was cancelled (service.db)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def noting_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, noting_send)
        except asyncio.CancelledError:
            if not started:
                await send_problem(
                    send,
                    503,
                    "Service Unavailable",
                    "the server is shutting down; the request was not carried out",
                    {"Retry-After": "5", "Connection": "close"},
                )
            raise


class SecurityHeaders:
    """nosniff on every answer; no-store unless the answer chose its own caching."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """Host header `name[:port]` against names, `*.suffix` wildcards or `*`."""
    if host.startswith("["):  # [::1]:8000
        name = host[1:].partition("]")[0]
    else:
        name = host.rpartition(":")[0] if host.count(":") == 1 else host
    name = name.lower().rstrip(".")
    for pattern in allowed:
        if pattern == "*" or name == pattern:
            return True
        if pattern.startswith("*.") and name.endswith(pattern[1:]):
            return True
    return False


class HostCheck:
    """400 for a Host header outside the allowed list: a page on another site that
    points its own name at this address (DNS rebinding) gets nothing."""

    def __init__(self, app: ASGIApp, allowed: tuple[str, ...]) -> None:
        self.app, self.allowed = app, allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not host_allowed(_header(scope, b"host") or "", self.allowed):
            await send_problem(
                send,
                400,
                "Bad Request",
                "this server does not answer to that Host name (see WORKTRACK_ALLOWED_HOSTS)",
            )
            return
        await self.app(scope, receive, send)


def is_json_media_type(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    kind, _, subtype = media.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


class JsonBodies:
    """415 for a request body that is not application/json (or application/*+json):
    a browser sends text/plain and forms across sites without asking first."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = _header(scope, b"content-length")
            has_body = _header(scope, b"transfer-encoding") is not None or (length not in (None, "0"))
            if has_body and not is_json_media_type(_header(scope, b"content-type") or ""):
                await send_problem(
                    send,
                    415,
                    "Unsupported Media Type",
                    "send the request body as application/json",
                    {"Accept": "application/json"},
                )
                return
        await self.app(scope, receive, send)


def etag(body: bytes) -> str:
    """A strong ETag: a digest of the answer's bytes (service.routes.etag_of agrees)."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


class ETags:
    """An ETag on every 200/201 JSON answer sent in one piece (single resources and
    pages; streamed exports have none), and 304 for a GET whose If-None-Match names
    it. If-Match on writes is checked against the same digest (service.routes.if_match)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD", "POST", "PATCH", "PUT"):
            await self.app(scope, receive, send)
            return
        none_match = _header(scope, b"if-none-match")
        start: Message | None = None

        async def tagging_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and message["status"] in (200, 201):
                start = message  # held until the body shows whether it comes in one piece
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            held, start = start, None
            if message.get("more_body", False):  # streamed: no digest of the whole
                await send(held)
                await send(message)
                return
            tag = etag(message.get("body", b""))
            headers = [*held.get("headers", []), (b"etag", tag.encode())]
            if scope["method"] in ("GET", "HEAD") and none_match is not None and _names(none_match, tag):
                kept = [(k, v) for k, v in headers if k.lower() not in (b"content-length", b"content-type")]
                await send({"type": "http.response.start", "status": 304, "headers": kept})
                await send({"type": "http.response.body", "body": b""})
                return
            await send({**held, "headers": headers})
            await send(message)

        await self.app(scope, receive, tagging_send)


def _names(header: str, tag: str) -> bool:
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or tag in tags


def json_api(
    allowed_hosts: tuple[str, ...],
    pool: Any,
    authorize: Middleware | None = None,
    *,
    keeps_answers: bool = True,
) -> list[Middleware]:
    """The guards of the JSON API's routes, for Route(..., middleware=...) or a Mount:
    Host names, the token check (service.access), JSON bodies, Idempotency-Key on
    POST (refused where the answer may not be kept), ETags."""
    from service.idempotency import Idempotency

    return [
        Middleware(HostCheck, allowed=allowed_hosts),
        *([authorize] if authorize is not None else []),
        Middleware(JsonBodies),
        Middleware(Idempotency, pool=pool, keeps_answers=keeps_answers),
        Middleware(ETags),
    ]
