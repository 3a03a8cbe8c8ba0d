"""Running a non-transactional migration from plain SQL files, keeping what it committed.

For a `.sql` migration yoyo pairs the N-th forward statement with the N-th statement
from the end of the rollback file, and when a `-- transactional: false` migration
fails it runs the paired rollback of every statement already done: a lock timeout
half-way through a backfill would delete what the backfill had committed. The
migrations that cannot run in one transaction are therefore Python migrations built
from two kinds of step:

- `apply_file(path)`: the statements of a SQL file, run in order, each committed on
  its own (as `psql -f` runs them). Its rollback is None: when a later statement
  fails, what the earlier ones committed stays, and because every file is written
  to be run again, applying the migration again completes it. The error names the
  file, the statement and the reason.
- `rollback_file(path)`: a step that does nothing on apply and runs the file on
  rollback. Placed last, it is never "done" before a failing apply step, so yoyo
  never runs it to undo a failure; and since its apply is empty, a rollback that
  fails half-way is not "redone" either.

Before `CREATE INDEX CONCURRENTLY IF NOT EXISTS name`, an INVALID index of that name
(the leftover of a failed concurrent build, which IF NOT EXISTS would skip) is
dropped CONCURRENTLY.

A file may hold its own `BEGIN; ... COMMIT;` to make several statements one
transaction; with `retries`, such a file that fails on a lock timeout is rolled
back and run again from its start after a pause.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import sqlparse
from psycopg import errors, sql

_CONCURRENT_BUILD = re.compile(
    r"^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+IF\s+NOT\s+EXISTS\s+(\w+)", re.I | re.M
)


def statements(path: Path) -> list[tuple[int, str]]:
    """The statements of a SQL file with the line each starts on (comments kept,
    empty pieces dropped)."""
    text = path.read_text(encoding="utf-8")
    found: list[tuple[int, str]] = []
    offset = 0
    for piece in sqlparse.split(text):
        code = sqlparse.format(piece, strip_comments=True).strip()
        at = text.find(piece, offset)
        offset = at + len(piece) if at >= 0 else offset
        if code:
            start = text.find(code.split(None, 1)[0], at if at >= 0 else 0)
            found.append((text.count("\n", 0, max(start, 0)) + 1, piece))
    return found


def _summary(statement: str) -> str:
    """The first line of the statement's code."""
    first = sqlparse.format(statement, strip_comments=True).strip().splitlines()[0]
    return first if len(first) <= 80 else first[:77] + "..."


def _drop_invalid_leftover(conn: psycopg.Connection[Any], statement: str) -> None:
    match = _CONCURRENT_BUILD.search(sqlparse.format(statement, strip_comments=True))
    if not match:
        return
    invalid = conn.execute(
        "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace"
        " AND NOT i.indisvalid",
        [match.group(1)],
    ).fetchone()
    if invalid:
        conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(match.group(1))))


def _run(conn: psycopg.Connection[Any], path: Path) -> None:
    for line, statement in statements(path):
        try:
            _drop_invalid_leftover(conn, statement)
            conn.execute(statement)
        except psycopg.Error as exc:
            if conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
                conn.execute("ROLLBACK")
            exc.add_note(f"step {path.parent.name}/{path.name} line {line}: {_summary(statement)}")
            raise


def apply_file(path: Path, *, retries: int = 0, pause: float = 1.0) -> Callable[[Any], None]:
    """Apply step: run the file's statements in order, each committed on its own."""

    def run(conn: psycopg.Connection[Any]) -> None:
        conn.autocommit = True
        for attempt in range(retries + 1):
            try:
                _run(conn, path)
                return
            except errors.LockNotAvailable:
                if attempt == retries:
                    raise
                time.sleep(pause)

    return run


def rollback_file(path: Path) -> Callable[[Any], None]:
    """Rollback step (its apply is None): run the file's statements in order."""

    def run(conn: psycopg.Connection[Any]) -> None:
        conn.autocommit = True
        _run(conn, path)

    return run
