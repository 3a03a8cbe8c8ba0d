"""The request log: one line per request, cheap enough to leave on.

A line is written when the `worktrack.access` logger is enabled for INFO (the
server's --log-level info, the default). It does not go through `logging`: a
LogRecord and a StreamHandler cost about a tenth of a fast request. The line is
formatted like the other log lines (time, process id, level, logger) and kept
in memory; the event loop writes what has gathered at most ten times a second,
in one write, and whatever is left when the process exits.

`logging_config` is the logging setup of the server, applied by uvicorn in the
parent and in every worker, so `serve --workers N` logs from each of them.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import logging
import os
import sys
import time
from typing import Any, TextIO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import metrics
from service.errors import escaped

LOG_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s %(message)s"
LOGGER_NAME = "worktrack.access"
log = logging.getLogger(LOGGER_NAME)

FLUSH_AFTER_SECONDS = 0.1
FLUSH_AT_LINES = 1000


def logging_config(level: str) -> dict[str, Any]:
    """The server's logging (uvicorn's `log_config`): every logger to stderr in
    LOG_FORMAT at `level`; yoyo says only what went wrong."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"line": {"format": LOG_FORMAT}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "line", "stream": "ext://sys.stderr"}
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"level": level.upper()},
            "yoyo": {"level": "WARNING"},
        },
    }


class Lines:
    """Log lines gathered in memory and written to stderr in batches."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream  # None: sys.stderr as it is when written (tests capture it)
        # A deque: appends (the event loop) and pops (a flush at exit, a test) may
        # come from different threads.
        self.pending: collections.deque[str] = collections.deque()
        self.pid = os.getpid()
        self.second = -1
        self.stamp = ""

    def add(self, message: str) -> None:
        now = time.time()
        second = int(now)
        if second != self.second:  # strftime once a second, not once a line
            self.second, self.stamp = second, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        millis = int((now - second) * 1000)
        self.pending.append(f"{self.stamp},{millis:03d} {self.pid} INFO {LOGGER_NAME} {message}\n")
        if len(self.pending) == 1:
            try:
                asyncio.get_running_loop().call_later(FLUSH_AFTER_SECONDS, self.flush)
            except RuntimeError:  # no event loop: write now
                self.flush()
        elif len(self.pending) >= FLUSH_AT_LINES:
            self.flush()

    def flush(self) -> None:
        count = len(self.pending)
        if not count:
            return
        text = "".join(self.pending.popleft() for _ in range(count))
        stream = self.stream or sys.stderr
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):  # stderr closed: nothing to write to
            pass

    def after_fork(self) -> None:
        self.pending.clear()
        self.pid = os.getpid()


LINES = Lines()
atexit.register(LINES.flush)
os.register_at_fork(after_in_child=LINES.after_fork)


def flush() -> None:
    """Write the lines gathered so far (the exit and a timer do it otherwise)."""
    LINES.flush()


def line(method: str, path: str, status: int, seconds: float) -> str:
    # The path is decoded: a %0A in it must not start a forged log line.
    return f"{method} {escaped(path)} {status} {seconds * 1000:.1f}ms"


class RequestLog:
    """One log line per request (method, path, status, milliseconds), and the
    request's count and latency in the metrics, labelled by route template."""

    def __init__(self, app: ASGIApp, templates: dict[object, str]) -> None:
        self.app = app
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            elapsed = time.perf_counter() - started
            if log.isEnabledFor(logging.INFO):
                LINES.add(line(scope["method"], scope["path"], status, elapsed))
            # The router notes the endpoint it chose in the scope; no match is "unmatched".
            route = self.templates.get(scope.get("endpoint"), "unmatched")
            metrics.REQUESTS.labels(scope["method"], route, str(status)).inc()
            metrics.LATENCY.labels(scope["method"], route).observe(elapsed)
