"""The `after` cursors of paged lists (made by the SQL function api_cursor)."""

from __future__ import annotations

import base64
import binascii

from service.errors import Unprocessable


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
