"""Settings read from the environment, in one place, with their defaults."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import platformdirs


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line for the user."""


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value


@dataclass(frozen=True)
class PoolSettings:
    min_size: int
    max_size: int
    timeout: float  # seconds to wait for a free connection before answering 503
    max_lifetime: float  # seconds before a connection is replaced
    max_idle: float  # seconds an idle connection above min_size is kept
    statement_timeout_ms: int  # per statement, so no request holds a connection for long
    # A write waits this long for a row lock, then answers 503: one locked row must
    # not tie up the pool for a whole statement timeout.
    lock_timeout_ms: int = 500

    @classmethod
    def from_env(cls) -> PoolSettings:
        min_size = _int("WORKTRACK_POOL_MIN_SIZE", 2, minimum=0)
        max_size = _int("WORKTRACK_POOL_MAX_SIZE", 10, minimum=1)
        if max_size < min_size:
            raise ConfigError(
                f"WORKTRACK_POOL_MAX_SIZE ({max_size}) is below WORKTRACK_POOL_MIN_SIZE ({min_size})"
            )
        return cls(
            min_size=min_size,
            max_size=max_size,
            timeout=_float("WORKTRACK_POOL_TIMEOUT", 5.0),
            max_lifetime=_float("WORKTRACK_POOL_MAX_LIFETIME", 3600.0),
            max_idle=_float("WORKTRACK_POOL_MAX_IDLE", 600.0),
            statement_timeout_ms=_int("WORKTRACK_STATEMENT_TIMEOUT_MS", 5000, minimum=0),
            lock_timeout_ms=_int("WORKTRACK_LOCK_TIMEOUT_MS", 500, minimum=0),
        )


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class ServerSettings:
    """What bounds one request: its size, how long it may take to arrive, how many
    exports run at once, how long shutdown waits, which Host names are served."""

    max_body_bytes: int
    max_header_bytes: int
    header_timeout: float  # seconds for the request line and headers to arrive
    body_timeout: float  # seconds the body may pause between two chunks
    max_connections: int  # per worker; more are answered 503 by uvicorn
    max_exports: int  # concurrent exports per worker; more are answered 503
    export_timeout_ms: int  # the export's own statement timeout
    shutdown_grace: float  # seconds in-flight requests get after SIGTERM
    allowed_hosts: tuple[str, ...]  # Host header names served; "*" serves any

    @classmethod
    def from_env(cls) -> ServerSettings:
        return cls(
            max_body_bytes=_int("WORKTRACK_MAX_BODY_BYTES", 8 * 1024 * 1024, minimum=1024),
            max_header_bytes=_int("WORKTRACK_MAX_HEADER_BYTES", 32 * 1024, minimum=1024),
            header_timeout=_float("WORKTRACK_HEADER_TIMEOUT", 10.0),
            body_timeout=_float("WORKTRACK_BODY_TIMEOUT", 10.0),
            max_connections=_int("WORKTRACK_MAX_CONNECTIONS", 1000, minimum=1),
            max_exports=_int("WORKTRACK_MAX_EXPORTS", 2, minimum=1),
            export_timeout_ms=_int("WORKTRACK_EXPORT_TIMEOUT_MS", 60_000, minimum=1),
            shutdown_grace=_float("WORKTRACK_SHUTDOWN_GRACE", 10.0),
            allowed_hosts=allowed_hosts_from_env(),
        )


def allowed_hosts_from_env() -> tuple[str, ...]:
    """WORKTRACK_ALLOWED_HOSTS (comma-separated, "*" for any); by default the loopback
    names and the address `worktrack serve` listens on (WORKTRACK_LISTEN_HOST)."""
    raw = os.environ.get("WORKTRACK_ALLOWED_HOSTS", "").strip()
    if raw:
        hosts = tuple(h.strip().lower().strip("[]") for h in raw.split(",") if h.strip())
        bad = [h for h in hosts if h != "*" and not _HOST_NAME.match(h)]
        if bad:
            raise ConfigError(f"WORKTRACK_ALLOWED_HOSTS holds a name that is not a host: {bad[0]!r}")
        return hosts
    listen = os.environ.get("WORKTRACK_LISTEN_HOST", "").strip().lower().strip("[]")
    extra = (listen,) if listen and listen not in ("0.0.0.0", "::") else ()
    return (*LOOPBACK_HOSTS, *extra)


_HOST_NAME = re.compile(r"^(\*\.)?[a-z0-9.:_-]+$")


def check_all() -> None:
    """Read every setting once, so a bad one stops `serve` before any worker starts."""
    PoolSettings.from_env()
    ServerSettings.from_env()


def database_url_from_env() -> str | None:
    """DATABASE_URL when set and not blank."""
    url = os.environ.get("DATABASE_URL", "").strip()
    return url or None


def embedded_data_dir() -> Path:
    """Where the embedded PostgreSQL keeps its data when no DATABASE_URL is given."""
    raw = os.environ.get("WORKTRACK_DATA_DIR", "").strip()
    if raw:
        return Path(raw).expanduser()
    return Path(platformdirs.user_data_dir("worktrack")) / "pgdata"


def embedded_database_name() -> str:
    return os.environ.get("WORKTRACK_DATABASE_NAME", "").strip() or "worktrack"
