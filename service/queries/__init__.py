"""Named queries, loaded once from sql/queries/*.sql.

A file holds blocks that start with `-- name: <name> <kind>`; the comment lines
after the name describe the query. The kind says what the statement answers:
`:one` (at most one row), `:many` (any number of rows), `:exec` (nothing the
caller reads), or `:fragment` (no statement: a piece of SQL that the file's
other queries include as `{{name}}`, so a shape is written once). The fetch
helpers of service.db check the kind, so a query is read the way it was
declared. Modules bind each query to a constant at import, so a misspelt name
fails at start-up, not in a request.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, LiteralString, cast

from psycopg import sql

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # service/
_NAME_LINE = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s+:(one|many|exec|fragment)\s*$", re.MULTILINE)
_ANY_NAME_LINE = re.compile(r"^--\s*name:.*$", re.MULTILINE)
_INCLUDE = re.compile(r"\{\{([a-z_][a-z0-9_]*)\}\}")

Kind = Literal["one", "many", "exec"]


class Query(sql.SQL):
    """A named statement and the kind of answer it was declared to give."""

    def __init__(self, statement: LiteralString, *, name: str, kind: Kind) -> None:
        super().__init__(statement)
        self.name = name
        self.kind: Kind = kind

    def __repr__(self) -> str:
        return f"Query({self.name!r}, :{self.kind})"


def queries_dir() -> Path:
    """sql/queries in a source checkout, or the copy inside an installed wheel."""
    for candidate in (_PACKAGE_DIR / "_sql" / "queries", _PACKAGE_DIR.parent / "sql" / "queries"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the sql/queries folder is missing from this installation")


def parse_queries(text: str, shared: dict[str, str] | None = None) -> dict[str, Query]:
    """Split a file of named queries into {name: query}; fragments (the file's own
    and the `shared` ones) are included where their `{{name}}` appears and are
    not queries themselves."""
    return {
        name: Query(body, name=name, kind=cast(Kind, kind))  # read from our own files
        for name, (kind, body) in _blocks(text, shared or {}).items()
        if kind != "fragment"
    }


def fragments(text: str) -> dict[str, str]:
    """The fragments of a file of named queries, by name."""
    return {name: body for name, (kind, body) in _blocks(text, {}).items() if kind == "fragment"}


def _blocks(text: str, shared: dict[str, str]) -> dict[str, tuple[str, str]]:
    declared = _NAME_LINE.findall(text)
    if len(declared) != len(_ANY_NAME_LINE.findall(text)):
        raise ValueError("every `-- name:` line needs a kind: :one, :many, :exec or :fragment")
    blocks: dict[str, tuple[str, str]] = {}
    matches = list(_NAME_LINE.finditer(text))
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(text)
        body = "\n".join(
            line for line in text[match.end() : end].splitlines() if not line.startswith("--")
        ).strip()
        name, kind = match.group(1), match.group(2)
        if name in blocks:
            raise ValueError(f"query {name!r} is defined twice")
        if not body:
            raise ValueError(f"query {name!r} has no statement")
        blocks[name] = (kind, body.rstrip(";"))
    known = {**shared, **{name: body for name, (kind, body) in blocks.items() if kind == "fragment"}}

    def include(match: re.Match[str]) -> str:
        if match.group(1) not in known:
            raise ValueError(f"no fragment {match.group(1)!r} to include")
        return known[match.group(1)]

    return {name: (kind, _INCLUDE.sub(include, body)) for name, (kind, body) in blocks.items()}


# The documents' shapes (sql/queries/documents.sql), which any file may include.
DOCUMENTS = "documents"


def load(area: str) -> dict[str, Query]:
    """The named queries of sql/queries/<area>.sql, with the shared fragments included."""
    shared = fragments((queries_dir() / f"{DOCUMENTS}.sql").read_text(encoding="utf-8"))
    return parse_queries((queries_dir() / f"{area}.sql").read_text(encoding="utf-8"), shared)
