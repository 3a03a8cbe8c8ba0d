"""Named queries, loaded once from sql/queries/*.sql.

A file holds blocks that start with `-- name: <name>`; the comment lines after
the name describe the query. Modules bind each query to a constant at import,
so a misspelt name fails at start-up, not in a request.
"""

from __future__ import annotations

import re
from pathlib import Path

from psycopg import sql

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # service/
_NAME_LINE = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)(?:\s+:\w+)?\s*$", re.MULTILINE)


def queries_dir() -> Path:
    """sql/queries in a source checkout, or the copy inside an installed wheel."""
    for candidate in (_PACKAGE_DIR / "_sql" / "queries", _PACKAGE_DIR.parent / "sql" / "queries"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the sql/queries folder is missing from this installation")


def parse_queries(text: str) -> dict[str, sql.SQL]:
    """Split a file of named queries into {name: statement}."""
    found: dict[str, sql.SQL] = {}
    matches = list(_NAME_LINE.finditer(text))
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(text)
        body = "\n".join(
            line for line in text[match.end() : end].splitlines() if not line.startswith("--")
        ).strip()
        name = match.group(1)
        if name in found:
            raise ValueError(f"query {name!r} is defined twice")
        if not body:
            raise ValueError(f"query {name!r} has no statement")
        found[name] = sql.SQL(body.rstrip(";"))
    return found


def load(area: str) -> dict[str, sql.SQL]:
    """The named queries of sql/queries/<area>.sql."""
    return parse_queries((queries_dir() / f"{area}.sql").read_text(encoding="utf-8"))
