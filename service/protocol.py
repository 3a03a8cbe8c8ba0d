"""uvicorn's httptools protocol with two bounds it lacks: the size of a request's
line and headers, and the time they may take to arrive.

Without them a client holds memory with one huge header, or a connection with
headers that never end. The body has its own bounds in service.guards.
"""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any

from service.config import ServerSettings

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools is missing; uvicorn falls back on h11
    HttpToolsProtocol = None  # type: ignore[assignment,misc]


def http_protocol() -> str:
    """What to pass uvicorn as `http`: this protocol, or h11 when httptools is missing
    (h11 bounds the header size by itself, h11_max_incomplete_event_size)."""
    if importlib.util.find_spec("httptools") is None:
        return "h11"
    return "service.protocol:BoundedHttpToolsProtocol"


def _answer_and_close(transport: asyncio.Transport, status: bytes, message: str) -> None:
    body = message.encode("ascii")
    transport.write(
        b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: " + str(len(body)).encode("ascii") + b"\r\nconnection: close\r\n\r\n" + body
    )
    transport.close()


if HttpToolsProtocol is not None:

    class BoundedHttpToolsProtocol(HttpToolsProtocol):
        """Refuses (431) a request whose line and headers pass max_header_bytes before
        they end, and answers 408 to one whose headers take longer than header_timeout."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            settings = ServerSettings.from_env()
            self._max_header_bytes = settings.max_header_bytes
            self._header_timeout = settings.header_timeout
            self._awaiting_headers = True
            self._header_bytes = 0
            self._header_tail = b""  # the last bytes read, for a blank line split between reads
            self._header_timer: asyncio.TimerHandle | None = None

        def _arm_header_timer(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(self._header_timeout, self._headers_too_slow)

        def _disarm_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if self._awaiting_headers and not self.transport.is_closing():
                _answer_and_close(self.transport, b"408 Request Timeout", "the request headers took too long")

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_header_timer()  # a connection that never sends a request is closed too

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_header_timer()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._awaiting_headers:
                # Counted up to the blank line that ends them, before parsing, so headers
                # too large are refused whether they come in one read or many, and a
                # first read holding small headers and a large body is fine.
                seen = self._header_tail + data
                end = seen.find(b"\r\n\r\n")
                self._header_bytes += len(data) if end < 0 else end + 4 - len(self._header_tail)
                self._header_tail = seen[-3:]
                if self._header_bytes > self._max_header_bytes:
                    if not self.transport.is_closing():
                        _answer_and_close(
                            self.transport,
                            b"431 Request Header Fields Too Large",
                            f"the request line and headers are larger than {self._max_header_bytes} bytes",
                        )
                    return
            super().data_received(data)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm_header_timer()

        def on_headers_complete(self) -> None:
            self._awaiting_headers = False
            self._header_bytes = 0
            self._header_tail = b""
            self._disarm_header_timer()
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._awaiting_headers = True  # the next request on this connection
