"""`worktrack stats`: where the database spends its space and time.

Sizes, index use (unused indexes flagged), cache hit ratios against the 90%
floor, connections by state, the longest transactions and who waits on whose
lock, and the slowest statements when pg_stat_statements is there.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from service import queries
from service.postgres import connect

_Q = queries.load("stats")
_TABLE_SIZES = _Q["table_sizes"]
_INDEX_USAGE = _Q["index_usage"]
_CACHE_HIT_RATIOS = _Q["cache_hit_ratios"]
_STATEMENTS_AVAILABLE = _Q["statements_available"]
_SLOWEST_STATEMENTS = _Q["slowest_statements"]
_CONNECTIONS_BY_STATE = _Q["connections_by_state"]
_LONGEST_TRANSACTIONS = _Q["longest_transactions"]
_LOCK_WAITS = _Q["lock_waits"]
HIT_RATIO_FLOOR = 90.0


def collect(url: str) -> dict[str, Any]:
    with connect(url) as conn:

        def rows(query: queries.Query) -> list[tuple[Any, ...]]:
            return [tuple(row) for row in conn.execute(query)]

        tables, indexes = rows(_TABLE_SIZES), rows(_INDEX_USAGE)
        table_hits, index_hits = conn.execute(_CACHE_HIT_RATIOS).fetchone()  # type: ignore[misc]
        loaded, created = conn.execute(_STATEMENTS_AVAILABLE).fetchone()  # type: ignore[misc]
        statements: list[tuple[Any, ...]] = rows(_SLOWEST_STATEMENTS) if created else []
        if created:
            statements_note = ""
        elif loaded:
            statements_note = (
                "pg_stat_statements is loaded but not created here: CREATE EXTENSION pg_stat_statements"
            )
        else:
            statements_note = (
                "pg_stat_statements is not loaded: add it to shared_preload_libraries "
                "and restart the server to see the slowest statements"
            )
        return {
            "tables": [
                {"table": t, "data": d, "indexes": i, "total_bytes": b, "rows": r} for t, d, i, b, r in tables
            ],
            "indexes": [
                {"table": t, "index": i, "scans": s, "size": z, "unused": u} for t, i, s, z, u in indexes
            ],
            "cache_hit_ratio": {
                "tables_percent": None if table_hits is None else float(table_hits),
                "indexes_percent": None if index_hits is None else float(index_hits),
                "floor_percent": HIT_RATIO_FLOOR,
            },
            "connections": [{"state": s, "count": c} for s, c in rows(_CONNECTIONS_BY_STATE)],
            "longest_transactions": [
                {"pid": p, "user": u, "application": a, "state": s, "seconds": float(sec), "query": q}
                for p, u, a, s, sec, q in rows(_LONGEST_TRANSACTIONS)
            ],
            "lock_waits": [
                {
                    "waiting_pid": wp,
                    "waiting_query": wq,
                    "blocking_pid": bp,
                    "blocking_query": bq,
                    "seconds": float(sec),
                }
                for wp, wq, bp, bq, sec in rows(_LOCK_WAITS)
            ],
            "slowest_statements": [
                {"calls": c, "mean_ms": float(m), "total_ms": float(t), "rows": r, "query": q}
                for c, m, t, r, q in statements
            ],
            "statements_note": statements_note,
        }


def _ratio(value: float | None) -> str:
    if value is None:
        return "no reads yet"
    return (
        f"{value:.2f}% ({'meets' if value >= HIT_RATIO_FLOOR else 'BELOW'} the {HIT_RATIO_FLOOR:.0f}% floor)"
    )


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(value) for value in row))
    return table


def run(url: str, *, as_json: bool) -> int:
    report = collect(url)
    if as_json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    console = Console()
    console.print(
        _table(
            "Tables",
            ["table", "data", "indexes", "rows"],
            [[t["table"], t["data"], t["indexes"], t["rows"]] for t in report["tables"]],
        )
    )
    console.print(
        _table(
            "Index use",
            ["table", "index", "scans", "size", "unused"],
            [
                [i["table"], i["index"], i["scans"], i["size"], "UNUSED" if i["unused"] else ""]
                for i in report["indexes"]
            ],
        )
    )
    ratios = report["cache_hit_ratio"]
    console.print(
        f"Cache hit ratio: tables {_ratio(ratios['tables_percent'])}, "
        f"indexes {_ratio(ratios['indexes_percent'])}"
    )
    console.print(
        _table("Connections", ["state", "count"], [[c["state"], c["count"]] for c in report["connections"]])
    )
    console.print(
        _table(
            "Longest transactions",
            ["pid", "user", "application", "state", "seconds", "query"],
            [list(t.values()) for t in report["longest_transactions"]],
        )
    )
    console.print(
        _table(
            "Lock waits",
            ["waiting pid", "waiting query", "blocking pid", "blocking query", "seconds"],
            [list(w.values()) for w in report["lock_waits"]],
        )
    )
    if report["statements_note"]:
        console.print(report["statements_note"])
    else:
        console.print(
            _table(
                "Slowest statements",
                ["calls", "mean ms", "total ms", "rows", "query"],
                [list(s.values()) for s in report["slowest_statements"]],
            )
        )
    return 0
