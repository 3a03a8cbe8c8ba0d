"""What tests share: the pool settings, tokens, `worktrack serve` in a subprocess,
and the template clones every test database is made from (the fixtures that use
them are in conftest.py)."""

from __future__ import annotations

import itertools
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import httpx2 as httpx
import psycopg

from service import tokens
from service.config import PoolSettings
from service.postgres import create_database, drop_database

RUN = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"  # in the names of this run's databases
_counter = itertools.count()


def unique_database_name(kind: str) -> str:
    """A database name unique to this test run: worktrack_KIND_RUN_N."""
    return f"worktrack_{kind}_{RUN}_{next(_counter)}"


TEST_POOL = PoolSettings(
    min_size=1, max_size=4, timeout=2.0, max_lifetime=600.0, max_idle=60.0, statement_timeout_ms=5000
)


def make_token(database_url: str, name: str, role: str = "admin", projects: list[str] | None = None) -> str:
    """A token made in the database, as `worktrack token create` makes it."""
    with psycopg.connect(database_url) as connection:
        return tokens.create(connection, name, role, projects or [])


def admin_token(database_url: str) -> str:
    return make_token(database_url, f"test-admin-{uuid.uuid4().hex[:8]}")


CLIENT_TOKEN = "test-admin"  # the name of the client fixture's token: the actor of its changes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    """A running `worktrack serve`: its base URL, and its output once it stopped."""

    def __init__(self, base: str, process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
        self.base, self.process, self.output, self.log = base, process, "", log

    def output_so_far(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")


@contextmanager
def serving(database_url: str, *args: str, **env: str) -> Iterator[Served]:
    """`worktrack serve ARGS` on a free loopback port, once /healthz answers; stopped
    (SIGTERM, as a process manager would) when the block ends. Its output goes to a
    file, not a pipe, so a chatty server never blocks on a full pipe.

    Access control is off (WORKTRACK_AUTH=disabled, allowed on loopback: every
    caller is an admin) unless the test passes WORKTRACK_AUTH itself."""
    env = {"WORKTRACK_AUTH": "disabled", **env}
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(port), *args],
            env={**os.environ, "DATABASE_URL": database_url, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        served = Served(f"http://127.0.0.1:{port}", process, log)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{served.base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, "the server exited before it was up"
                assert time.monotonic() < deadline, "the server did not start in 30 s"
                time.sleep(0.2)
            yield served
        finally:
            process.terminate()
            process.wait(timeout=15)
            served.output = served.output_so_far()


class CloneFactory:
    """Keeps a few clones of the template ready, and drops used ones, in a background
    thread: creating a database costs a checkpoint (100-400 ms), which tests then
    do not wait for."""

    def __init__(self, server_url: str, template: str, ahead: int = 2) -> None:
        self.server_url, self.template, self.ahead = server_url, template, ahead
        self.ready: queue.Queue[str] = queue.Queue()
        self.used: queue.Queue[str] = queue.Queue()
        self.stopping = threading.Event()
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._work, name="clone-factory", daemon=True)
        self.thread.start()

    def _work(self) -> None:
        try:
            while not self.stopping.is_set():
                try:
                    drop_database(self.server_url, self.used.get_nowait())
                    continue
                except queue.Empty:
                    pass
                if self.ready.qsize() < self.ahead:
                    name = unique_database_name("test")
                    create_database(self.server_url, name, template=self.template)
                    self.ready.put(name)
                else:
                    time.sleep(0.005)
        except BaseException as exc:  # surfaced to the next test that asks for a clone
            self.failure = exc

    def take(self) -> str:
        while True:
            if self.failure is not None:
                raise RuntimeError("could not clone the template database") from self.failure
            try:
                return self.ready.get(timeout=0.1)
            except queue.Empty:
                continue

    def give_back(self, name: str) -> None:
        self.used.put(name)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join()
        for leftovers in (self.used, self.ready):
            while not leftovers.empty():
                drop_database(self.server_url, leftovers.get())


def plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of an EXPLAIN (FORMAT JSON) plan, `node` first."""
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)
