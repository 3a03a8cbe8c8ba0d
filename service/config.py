"""Settings read from the environment, in one place, with their defaults."""

from __future__ import annotations

import os
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
        )


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
