"""`worktrack maintain`: upkeep that is safe while the API serves.

- analyze: ANALYZE each worktrack table (fresh planner statistics);
- vacuum: VACUUM (ANALYZE) each table, with a progress bar;
- reclaim-leases: return expired leases to pending now, with history rows;
- reindex-invalid: REINDEX INDEX CONCURRENTLY each INVALID index;
- purge-idempotency-keys: delete Idempotency-Key answers older than 24 hours.

None of these blocks reads or writes: ANALYZE and VACUUM take SHARE UPDATE
EXCLUSIVE, and REINDEX CONCURRENTLY builds beside the old index. Each runs on one
autocommit connection; Ctrl-C cancels the running statement and closing the
connection releases its lock, so an interrupted run leaves no table locked.
"""

from __future__ import annotations

import asyncio
import re
import sys
from typing import Any

import psycopg
from psycopg import sql
from rich.progress import Progress

from service import queries
from service.postgres import connect, first_line
from service.queries import queue

_Q = queries.load("maintenance")
_WORKTRACK_TABLES = _Q["worktrack_tables"]
_PROJECTS_WITH_EXPIRED_LEASES = _Q["projects_with_expired_leases"]
_INVALID_INDEX_NAMES = _Q["invalid_index_names"]
ACTIONS = ("analyze", "vacuum", "reclaim-leases", "reindex-invalid", "purge-idempotency-keys")


def _tables(conn: psycopg.Connection[Any]) -> list[str]:
    return [row[0] for row in conn.execute(_WORKTRACK_TABLES)]


def analyze(url: str) -> list[str]:
    with connect(url) as conn:
        done = []
        for table in _tables(conn):
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
            done.append(f"analyzed {table}")
        return done


def vacuum(url: str) -> list[str]:
    with connect(url) as conn, Progress(disable=not sys.stderr.isatty()) as progress:
        tables = _tables(conn)
        bar = progress.add_task("vacuum", total=len(tables))
        done = []
        for table in tables:
            progress.update(bar, description=f"VACUUM (ANALYZE) {table}")
            conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
            done.append(f"vacuumed and analyzed {table}")
            progress.advance(bar)
        return done


def reclaim_leases(url: str) -> list[str]:
    async def reclaim() -> list[str]:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            cursor = await conn.execute(_PROJECTS_WITH_EXPIRED_LEASES)
            done = []
            for (project,) in await cursor.fetchall():
                total = 0
                while count := await queue.reclaim_expired(conn, project=project):
                    total += count
                done.append(f"returned {total} expired lease(s) to pending in project {project}")
            return done

    with connect(url):  # one clear line when the database is unreachable
        pass
    return asyncio.run(reclaim()) or ["no lease had expired"]


def reindex_invalid(url: str) -> list[str]:
    """Rebuild each INVALID index. A failed REINDEX CONCURRENTLY leaves its own
    INVALID copy (name_ccnew) behind: such copies are dropped, not rebuilt."""
    with connect(url) as conn:
        done = []
        for (index,) in conn.execute(_INVALID_INDEX_NAMES).fetchall():
            if re.search(r"_ccnew\d*$", index):
                conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(index)))
                done.append(f"dropped {index}, the leftover of a failed rebuild")
                continue
            try:
                conn.execute(sql.SQL("REINDEX INDEX CONCURRENTLY {}").format(sql.Identifier(index)))
                done.append(f"rebuilt {index}")
            except psycopg.Error as exc:
                conn.execute(
                    sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(f"{index}_ccnew"))
                )
                done.append(f"could not rebuild {index}: {first_line(exc)} (fix the data, then run again)")
        return done or ["no index is INVALID"]


def purge_idempotency_keys(url: str) -> list[str]:
    from service import idempotency

    with connect(url) as conn:
        return [f"deleted {idempotency.purge(conn)} idempotency key(s) older than 24 hours"]


def run(url: str, action: str) -> int:
    steps = {
        "analyze": analyze,
        "vacuum": vacuum,
        "reclaim-leases": reclaim_leases,
        "reindex-invalid": reindex_invalid,
        "purge-idempotency-keys": purge_idempotency_keys,
    }[action]
    for line in steps(url):
        print(line)
    return 0
