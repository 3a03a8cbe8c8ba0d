"""The answers routes give: JSON the database already rendered, whole or streamed."""

from __future__ import annotations

import json
from collections.abc import Callable

import anyio
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from service.db import Stream


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
