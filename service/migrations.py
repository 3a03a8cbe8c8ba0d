"""Applying, rolling back and listing the yoyo migrations in migrations/."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from yoyo import get_backend, read_migrations

from service.postgres import cannot_connect, first_line, yoyo_url

_PACKAGE_DIR = Path(__file__).resolve().parent


def migrations_dir() -> Path:
    """migrations/ in a source checkout, or the copy inside an installed wheel."""
    for candidate in (_PACKAGE_DIR / "_migrations", _PACKAGE_DIR.parent / "migrations"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the migrations folder is missing from this installation")


def known_migration_ids() -> list[str]:
    """Ids of the migrations this build ships, in order: `NNNN_name.sql` (with its
    `.rollback.sql`) or, for those that cannot run in one transaction, `NNNN_name.py`."""
    return sorted(
        p.stem
        for p in migrations_dir().iterdir()
        if p.is_file()
        and (p.suffix == ".py" or (p.suffix == ".sql" and not p.name.endswith(".rollback.sql")))
    )


class MigrationFailed(Exception):
    """A migration could not be applied or rolled back; it names the migration and why."""


@dataclass(frozen=True)
class MigrationState:
    id: str
    applied: bool


# Key of the session-level advisory lock that keeps two worktrack migrators apart.
# Unlike yoyo's lock row it goes away with its session: a migrator killed with -9
# cannot leave it behind.
ADVISORY_LOCK_KEY = 0x776B7472_6D696772  # "wktrmigr"
LOCK_WAIT_SECONDS = 10.0


def _backend(url: str):  # type: ignore[no-untyped-def]
    try:
        return get_backend(yoyo_url(url))
    except psycopg.Error as exc:
        raise cannot_connect(url, exc) from None


def _reason(exc: psycopg.Error) -> str:
    """The error's first line, and the step it happened in when the migration named it."""
    notes = [n for n in getattr(exc, "__notes__", []) if n.startswith("step ")]
    return "; ".join([first_line(exc), *notes])


@contextmanager
def _migration_lock(conn: psycopg.Connection[Any], prepare: Callable[[], None]) -> Iterator[None]:
    """Hold worktrack's advisory lock on the session that runs the migrations, and
    yoyo's lock row for plain yoyo to see.

    The advisory lock ends with its session, so a migrator killed with -9 cannot
    leave it behind (and while the server still runs that session's statement, the
    next migrator waits). The lock row carries the negative of the backend pid (yoyo
    writes its client's pid, always positive): a row with a negative pid found while
    holding the advisory lock is the leftover of a worktrack migrator that died, and
    is removed. A row with a positive pid belongs to plain yoyo. `prepare` runs
    under the advisory lock before the row is written (yoyo's own schema upgrade
    takes yoyo's lock).
    """
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while not conn.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK_KEY]).fetchone()[0]:  # type: ignore[index]
        if time.monotonic() > deadline:
            raise MigrationFailed(
                "another worktrack migration has held the migration lock for over "
                f"{LOCK_WAIT_SECONDS:.0f} s; try again when it has finished"
            )
        time.sleep(0.2)
    try:
        try:
            conn.execute("DELETE FROM yoyo_lock WHERE pid < 0")
        except psycopg.errors.InsufficientPrivilege as exc:
            # The API's role (worktrack_api) may not migrate: say so, not a traceback.
            raise MigrationFailed(
                f"this role may not migrate the database ({_reason(exc)}); migrate as the schema "
                "owner, and start the server with --no-migrate"
            ) from None
        prepare()
        try:
            conn.execute(
                "INSERT INTO yoyo_lock (locked, ctime, pid)"
                " VALUES (1, now() AT TIME ZONE 'UTC', -pg_backend_pid())"
            )
        except psycopg.errors.UniqueViolation:
            row = conn.execute("SELECT pid, ctime FROM yoyo_lock").fetchone()
            holder = f"process {row[0]} since {row[1]:%Y-%m-%d %H:%M:%S} UTC" if row else "a process"
            raise MigrationFailed(
                f"plain yoyo ({holder}) holds the migration lock (yoyo_lock); wait for it, "
                "or if no yoyo process is running any more, remove the lock with `yoyo break-lock`"
            ) from None
        try:
            yield
        finally:
            conn.execute("DELETE FROM yoyo_lock WHERE pid = -pg_backend_pid()")
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])


def _check_count(count: int | None) -> None:
    if count is not None and count < 1:
        raise ValueError(f"count must be a positive whole number, not {count}")


def _run_one(backend: Any, migration: Any, direction: str) -> None:
    """yoyo's apply_one / rollback_one, but on the session that holds the lock (yoyo
    would open a new connection for each migration)."""
    conn = backend.connection
    try:
        migration.process_steps(backend, direction)
    finally:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.execute("ROLLBACK")
        conn.execute("RESET ALL")  # no migration's SET outlives it
        conn.execute("DISCARD TEMP")
        backend.init_connection(conn)
    backend.log_migration(migration, direction)
    with backend.transaction():
        if direction == "apply":
            backend.mark_one(migration, log=False)
        else:
            backend.unmark_one(migration, log=False)


def _run_each(url: str, direction: str, count: int | None, source: Path | None) -> list[str]:
    _check_count(count)
    backend = _backend(url)
    migrations = read_migrations(str(source or migrations_dir()))
    done: list[str] = []
    try:
        # yoyo_lock exists: get_backend creates it.
        with _migration_lock(backend.connection, backend.ensure_internal_schema_updated):
            if direction == "apply":
                todo = list(backend.to_apply(migrations))
            else:
                todo = list(backend.to_rollback(migrations))
            if count is not None:
                todo = todo[:count]
            for migration in todo:
                # One migration at a time, so a failure names its migration and leaves
                # the ones before it in place.
                try:
                    _run_one(backend, migration, direction)
                except psycopg.Error as exc:
                    verb = "apply" if direction == "apply" else "roll back"
                    raise MigrationFailed(
                        f"could not {verb} migration {migration.id}: {_reason(exc)}"
                    ) from None
                done.append(migration.id)
    finally:
        backend.connection.close()  # ends the session, and with it the advisory lock
    return done


def apply(url: str, count: int | None = None, *, source: Path | None = None) -> list[str]:
    """Apply the pending migrations in order (only the first `count` of them when
    given, at least 1); the ids applied."""
    return _run_each(url, "apply", count, source)


def rollback(url: str, count: int | None = 1, *, source: Path | None = None) -> list[str]:
    """Roll back the newest `count` applied migrations (at least 1; all when None);
    the ids rolled back."""
    return _run_each(url, "rollback", count, source)


def status(url: str) -> list[MigrationState]:
    """Every migration this build knows, and whether it is applied."""
    backend = _backend(url)
    try:
        migrations = read_migrations(str(migrations_dir()))
        return [MigrationState(m.id, backend.is_applied(m)) for m in migrations]
    finally:
        backend.connection.close()
