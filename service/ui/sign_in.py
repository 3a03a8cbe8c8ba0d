"""Signing in to the web UI: a form that takes an API token and keeps it in an
HttpOnly, SameSite=Strict cookie. The form carries a CSRF token that must match a
cookie of its own (double submit), so no other site can sign a browser in or out."""

from __future__ import annotations

import hmac
import html
import secrets
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from service import access
from service.errors import ApiError

CSRF_COOKIE = "worktrack_csrf"
_MAX_FORM_BYTES = 4096

_FORM = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in · worktrack</title>
<link rel="stylesheet" href="/ui/static/app.css"></head>
<body><main>
<h1>Sign in to worktrack</h1>
{message}
<form method="post" action="/ui/sign-in">
<input type="hidden" name="csrf" value="{csrf}">
<label>API token <input type="password" name="token" autocomplete="off" required></label>
<button type="submit">Sign in</button>
</form>
<p>An admin makes tokens with <code>worktrack token create</code>.</p>
</main></body></html>
"""


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _form_page(request: Request, message: str = "", status: int = 200) -> Response:
    csrf = secrets.token_urlsafe(32)
    text = _FORM.format(csrf=csrf, message=f"<p role=alert>{html.escape(message)}</p>" if message else "")
    response = HTMLResponse(text, status_code=status)
    response.set_cookie(
        CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=_secure(request), path="/ui"
    )
    return response


async def _form(request: Request) -> dict[str, str]:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_FORM_BYTES:
            break
    fields = parse_qs(body[:_MAX_FORM_BYTES].decode("latin-1"))
    return {name: values[0] for name, values in fields.items()}


def _csrf_ok(request: Request, form: dict[str, str]) -> bool:
    expected = request.cookies.get(CSRF_COOKIE, "")
    return bool(expected) and hmac.compare_digest(expected, form.get("csrf", ""))


async def sign_in_form(request: Request) -> Response:
    return _form_page(request)


async def sign_in(request: Request) -> Response:
    form = await _form(request)
    if not _csrf_ok(request, form):
        return _form_page(request, "The form expired; sign in again.", status=403)
    token = form.get("token", "").strip()
    try:
        principal, _ = await access.authenticate(request.app.state.pool, token, None)
    except ApiError:
        return _form_page(request, "That token is unknown, expired or revoked.", status=401)
    response = RedirectResponse("/" if principal.is_admin else "/docs", status_code=303)
    response.set_cookie(
        access.COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), path="/"
    )
    response.delete_cookie(CSRF_COOKIE, path="/ui")
    return response


async def sign_out(request: Request) -> Response:
    form = await _form(request)
    if not _csrf_ok(request, form):
        return _form_page(request, "The form expired; try again.", status=403)
    response = RedirectResponse("/ui/sign-in", status_code=303)
    response.delete_cookie(access.COOKIE, path="/")
    return response


ROUTES = [
    Route("/ui/sign-in", sign_in_form, methods=["GET"], include_in_schema=False),
    Route("/ui/sign-in", sign_in, methods=["POST"], include_in_schema=False),
    Route("/ui/sign-out", sign_out, methods=["POST"], include_in_schema=False),
]
