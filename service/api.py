"""What every route shares: reading input before any SQL, answering JSON, cursors."""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import anyio
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from service.db import Stream
from service.errors import BadRequest, Unprocessable

M = TypeVar("M", bound=BaseModel)


class JSONText(Response):
    """A response whose body the database already rendered as JSON text."""

    media_type = "application/json"


class StreamedJSON(StreamingResponse):
    """A JSON answer sent as its pieces come from the database. However the answer
    ends, its stream is closed and `on_close` runs before the request is done: a
    client that leaves before reading frees the connection and the slot at once."""

    media_type = "application/json"

    def __init__(self, pieces: Stream, on_close: Callable[[], None]) -> None:
        super().__init__(pieces)
        self.pieces, self.on_close = pieces, on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            try:
                with anyio.CancelScope(shield=True):  # the rollback runs even when cancelled
                    await self.pieces.aclose()
            finally:
                self.on_close()


def stored_project_key(doc: str) -> str:
    """The project key as stored, from a document the database built: what a Location
    names, whatever spelling (case) the request used."""
    return str(json.loads(doc)["project"])


def _invalid(exc: ValidationError, where: str, generic: str) -> Unprocessable:
    """422 naming each field at fault; when only the models' own rules refused the
    input (service.models.refused), their words are the detail too."""
    rules = [error["msg"] for error in exc.errors() if error["type"] == "refused"]
    detail = "; ".join(dict.fromkeys(rules)) if len(rules) == exc.error_count() else generic
    return Unprocessable(detail, errors=_field_errors(exc, where))


def _field_errors(exc: ValidationError, where: str) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(part) for part in (where, *error["loc"])), "message": error["msg"]}
        for error in exc.errors(include_url=False)
    ]


async def _raw_body(request: Request) -> bytes:
    # service.guards.BodyBounds refuses a body past the limit while it arrives.
    raw = await request.body()
    _check_numbers(raw)
    if b"\\u0000" in raw:  # JSON spells U+0000 only so
        _check_no_nul(raw)
    return raw


NUL_MESSAGE = "holds the character U+0000, which PostgreSQL text and jsonb cannot store"


def _check_no_nul(raw: bytes) -> None:
    """422 naming the field for U+0000 in any string or key (the document's strings
    say so with a pattern): the database would refuse it without saying where."""
    try:
        value = json.loads(raw)
    except ValueError:
        return  # not JSON at all: the model's parse says so
    where = _first_nul(value, "body")
    if where:
        raise Unprocessable("the request body is invalid", errors=[{"field": where, "message": NUL_MESSAGE}])


def _first_nul(value: Any, where: str) -> str:
    if isinstance(value, str):
        return where if "\x00" in value else ""
    items: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return f"{where}.{key!r}"
            items.append((key, item))
    elif isinstance(value, list):
        items = [(str(index), item) for index, item in enumerate(value)]
    for name, item in items:
        found = _first_nul(item, f"{where}.{name}")
        if found:
            return found
    return ""


class _InexactNumber(ValueError):
    pass


def _exact_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or Decimal(repr(value)) != Decimal(text):
        raise _InexactNumber(text)
    return value


def _refuse_constant(text: str) -> float:
    raise _InexactNumber(text)


def _check_numbers(raw: bytes) -> None:
    """422 for a number that would not be stored as sent: NaN and Infinity (JSON has
    neither), 1e309 (infinite as a double), 0.1000000000000000055511 (more digits
    than a double keeps). JSON columns would store null or a rounded value."""
    try:
        json.loads(raw, parse_float=_exact_float, parse_constant=_refuse_constant)
    except _InexactNumber:
        pass
    except ValueError:
        return  # not JSON at all: the model's parse says so
    else:
        return
    where, text = _first_inexact(json.loads(raw, parse_float=_Number, parse_constant=_Number), "body")
    raise Unprocessable(
        "a number cannot be stored as sent",
        errors=[{"field": where, "message": f"{text} cannot be kept as sent (send it as a string)"}],
    )


class _Number(str):
    """A number's text as sent, to find where the inexact one is."""


def _first_inexact(value: Any, where: str) -> tuple[str, str]:
    if isinstance(value, _Number):
        try:
            _exact_float(value)
        except _InexactNumber:
            return where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            found = _first_inexact(item, f"{where}.{key}")
            if found[0]:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _first_inexact(item, f"{where}.{index}")
            if found[0]:
                return found
    return "", ""


async def read_body(request: Request, model: type[M], *, optional: bool = False) -> M:
    """The request body as `model`: 400 when it is not JSON, 422 naming each field at
    fault (the rules on the model say what is wrong in their own words). An optional
    body left empty is the model's defaults."""
    raw = await _raw_body(request)
    if optional and not raw.strip():
        raw = b"{}"
    try:
        return model.model_validate_json(raw or b"")
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            raise BadRequest("the request body is not valid JSON") from None
        if exc.errors() and exc.errors()[0]["type"] == "model_type":
            raise Unprocessable(f"the request body must be a JSON object ({model.__name__})") from None
        raise _invalid(exc, "body", "the request body is invalid") from None


def read_query(request: Request, model: type[M]) -> M:
    """The query string as `model`: 422 for unknown, repeated or out-of-domain parameters."""
    params = request.query_params
    repeated = sorted({key for key in params if len(params.getlist(key)) > 1})
    if repeated:
        raise Unprocessable(
            "a query parameter is given more than once",
            errors=[{"field": f"query.{key}", "message": "given more than once"} for key in repeated],
        )
    nul = sorted(key for key, value in params.items() if "\x00" in value)
    if nul:
        raise Unprocessable(
            "the query string is invalid",
            errors=[{"field": f"query.{key}", "message": NUL_MESSAGE} for key in nul],
        )
    try:
        return model.model_validate(dict(params))
    except ValidationError as exc:
        raise _invalid(exc, "query", "the query string is invalid") from None


def malformed_cursor() -> Unprocessable:
    return Unprocessable(
        "the cursor is malformed",
        errors=[{"field": "query.after", "message": "pass back the `next` value of a previous page"}],
    )


def decode_cursor(cursor: str | None, parts: int) -> list[str] | None:
    """The sort key inside an `after` cursor (made by the SQL function api_cursor)."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    values = text.split("|")
    if len(values) != parts or not all(values):
        raise malformed_cursor()
    return values


def cursor_ids(cursor: str | None, parts: int) -> list[int]:
    """An `after` cursor of integer ids; zeros (before every row) when there is none."""
    values = decode_cursor(cursor, parts)
    if values is None:
        return [0] * parts
    try:
        ids = [int(value) for value in values]
    except ValueError:
        ids = [-1]
    if any(i < 0 or i > 2**63 - 1 for i in ids):
        raise malformed_cursor()
    return ids
