"""Applying, rolling back and listing the yoyo migrations in migrations/."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from yoyo import get_backend, read_migrations
from yoyo.exceptions import LockTimeout

from service.database import DatabaseUnavailable, first_line, normalize_url, redact, yoyo_url

_PACKAGE_DIR = Path(__file__).resolve().parent


def migrations_dir() -> Path:
    """migrations/ in a source checkout, or the copy inside an installed wheel."""
    for candidate in (_PACKAGE_DIR / "_migrations", _PACKAGE_DIR.parent / "migrations"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the migrations folder is missing from this installation")


def known_migration_ids() -> list[str]:
    """Ids of the migrations this build ships, in order (file names without .sql)."""
    return sorted(
        p.name.removesuffix(".sql")
        for p in migrations_dir().glob("*.sql")
        if not p.name.endswith(".rollback.sql")
    )


class MigrationFailed(Exception):
    """A migration could not be applied or rolled back; it names the migration and why."""


@dataclass(frozen=True)
class MigrationState:
    id: str
    applied: bool


def _backend(url: str):  # type: ignore[no-untyped-def]
    try:
        return get_backend(yoyo_url(url))
    except psycopg.Error as exc:
        raise DatabaseUnavailable(f"cannot connect to {redact(url)}: {first_line(exc)}") from None


# Held while migrating: yoyo's own lock lives in a table it creates on first use,
# and two processes creating it at once on a fresh database collide.
_MIGRATION_LOCK_KEY = 0x776F726B74726B  # "worktrk"
_MIGRATION_LOCK_WAIT = 600  # seconds


@contextmanager
def _exclusive(url: str) -> Iterator[None]:
    """One migrating process per database at a time; the others wait their turn."""
    try:
        conn = psycopg.connect(normalize_url(url), autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        raise DatabaseUnavailable(f"cannot connect to {redact(url)}: {first_line(exc)}") from None
    with conn:
        # Polled, not waited for: a session waiting inside pg_advisory_lock holds a
        # snapshot, and CREATE INDEX CONCURRENTLY in the holder would wait on it.
        deadline = time.monotonic() + _MIGRATION_LOCK_WAIT
        while not conn.execute("SELECT pg_try_advisory_lock(%s)", (_MIGRATION_LOCK_KEY,)).fetchone()[0]:  # type: ignore[index]
            if time.monotonic() > deadline:
                raise MigrationFailed(
                    f"another process has been migrating this database for {_MIGRATION_LOCK_WAIT} s"
                )
            time.sleep(0.2)
        yield  # closing the connection lets go of the lock


def _run_each(url: str, direction: str, count: int | None, source: Path | None) -> list[str]:
    with _exclusive(url):
        return _run_each_locked(url, direction, count, source)


def _run_each_locked(url: str, direction: str, count: int | None, source: Path | None) -> list[str]:
    backend = _backend(url)
    migrations = read_migrations(str(source or migrations_dir()))
    done: list[str] = []
    try:
        with backend.lock():
            backend.ensure_internal_schema_updated()
            if direction == "apply":
                todo = list(backend.to_apply(migrations))
            else:
                todo = list(backend.to_rollback(migrations))
            if count is not None:
                todo = todo[:count]
            for migration in todo:
                # One migration at a time, each in its own transaction, so a failure
                # names its migration and leaves the ones before it in place.
                try:
                    if direction == "apply":
                        backend.apply_one(migration)
                    else:
                        backend.rollback_one(migration)
                except psycopg.Error as exc:
                    verb = "apply" if direction == "apply" else "roll back"
                    raise MigrationFailed(
                        f"could not {verb} migration {migration.id}: {first_line(exc)}"
                    ) from None
                done.append(migration.id)
    except LockTimeout:
        raise MigrationFailed(
            "another process holds the migration lock (yoyo_lock); try again, "
            "or `yoyo break-lock` if that process is gone"
        ) from None
    finally:
        backend.connection.close()
    return done


def apply(url: str, count: int | None = None, *, source: Path | None = None) -> list[str]:
    """Apply the pending migrations in order (the first `count` of them); the ids applied."""
    return _run_each(url, "apply", count, source)


def rollback(url: str, count: int | None = 1, *, source: Path | None = None) -> list[str]:
    """Roll back the newest `count` applied migrations (all when None); the ids rolled back."""
    return _run_each(url, "rollback", count, source)


def status(url: str) -> list[MigrationState]:
    """Every migration this build knows, and whether it is applied."""
    backend = _backend(url)
    try:
        migrations = read_migrations(str(migrations_dir()))
        return [MigrationState(m.id, backend.is_applied(m)) for m in migrations]
    finally:
        backend.connection.close()
