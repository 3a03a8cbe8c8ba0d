"""Reading a request's body and query string before any SQL: 400 for what is not
JSON, 422 naming each field at fault (numbers a double cannot keep, U+0000, the
models' own rules)."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from service.errors import BadRequest, Unprocessable

M = TypeVar("M", bound=BaseModel)


def _invalid(exc: ValidationError, where: str, generic: str) -> Unprocessable:
    """422 naming each field at fault; when only the models' own rules refused the
    input (service.models.refused), their words are the detail too."""
    rules = [error["msg"] for error in exc.errors() if error["type"] == "refused"]
    detail = "; ".join(dict.fromkeys(rules)) if len(rules) == exc.error_count() else generic
    return Unprocessable(detail, errors=field_errors(exc, where))


def field_errors(exc: ValidationError, where: str) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(part) for part in (where, *error["loc"])), "message": error["msg"]}
        for error in exc.errors(include_url=False)
    ]


# How deep a body's arrays and objects may nest: the models' JSON parser stops at
# about 200 levels; a clear 422 says so instead of "not valid JSON" (or, past
# Python's recursion limit, a 500).
MAX_NESTING = 200


def too_deep(where: str) -> Unprocessable:
    message = f"arrays and objects nest more than {MAX_NESTING} levels deep"
    return Unprocessable(f"the {where} nests too deeply", errors=[{"field": where, "message": message}])


async def _raw_body(request: Request) -> bytes:
    # service.guards.BodyBounds refuses a body past the limit while it arrives.
    raw = await request.body()
    try:
        _check_numbers(raw)
        if b"\\u0000" in raw:  # JSON spells U+0000 only so
            _check_no_nul(raw)
    except RecursionError:
        raise too_deep("body") from None
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
        invalid = [error for error in exc.errors() if error["type"] == "json_invalid"]
        if any("recursion limit" in error["msg"] for error in invalid):
            raise too_deep("body") from None
        if invalid:
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
