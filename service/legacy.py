"""`worktrack import-legacy`: upsert legacy users and sprints from CSV files.

Each row is checked like an API request, then upserted on its own, so a bad row
is reported (with its line number and reason) and skipped while the good rows land.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from pydantic import BaseModel, ValidationError

from service import queries
from service.config import ConfigError
from service.db import translate
from service.models import SprintCreate, UserCreate

_Q = queries.load("legacy")
_LEGACY_USER_UPSERT = _Q["legacy_user_upsert"]
_LEGACY_SPRINT_UPSERT = _Q["legacy_sprint_upsert"]

USER_COLUMNS = ("email", "username", "full_name", "jira_account_id", "is_active")
SPRINT_COLUMNS = (
    "jira_sprint_id",
    "name",
    "state",
    "start_date",
    "end_date",
    "goal",
    "jira_board_id",
    "jira_project_key",
)


@dataclass
class ImportReport:
    path: Path
    inserted: int = 0
    updated: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        return f"{self.path}: {self.inserted} inserted, {self.updated} updated, {len(self.rejected)} rejected"


def _rows(path: Path, columns: tuple[str, ...], required: set[str]) -> list[tuple[int, dict[str, Any]]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = required - set(reader.fieldnames or ())
            if missing:
                raise ConfigError(f"{path}: missing column(s): {', '.join(sorted(missing))}")
            rows = []
            for record in reader:  # line numbers count the header as line 1
                values = {name: (record.get(name) or "").strip() or None for name in columns}
                rows.append((reader.line_num, values))
            return rows
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not a readable CSV file: {exc}") from None


def _import(
    conn: psycopg.Connection[Any],
    path: Path,
    model: type[BaseModel],
    columns: tuple[str, ...],
    required: set[str],
    upsert: sql.SQL,
) -> ImportReport:
    report = ImportReport(path)
    for line, values in _rows(path, columns, required):
        present = {name: value for name, value in values.items() if value is not None}
        try:
            row = model.model_validate(present, strict=False)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in error["loc"])
            report.rejected.append((line, f"{where}: {error['msg']}"))
            continue
        params = {name: getattr(row, name) for name in columns}
        try:
            fetched = conn.execute(upsert, params).fetchone()
        except psycopg.Error as exc:
            report.rejected.append((line, translate(exc).detail))
            continue
        if fetched and fetched[0]:
            report.inserted += 1
        else:
            report.updated += 1
    return report


def import_files(url: str, *, users: Path | None, sprints: Path | None) -> list[ImportReport]:
    if users is None and sprints is None:
        raise ConfigError("name a file to import: --users FILE and/or --sprints FILE")
    reports = []
    with psycopg.connect(url, autocommit=True) as conn:  # each row lands on its own
        if users is not None:
            reports.append(
                _import(conn, users, UserCreate, USER_COLUMNS, {"email", "username"}, _LEGACY_USER_UPSERT)
            )
        if sprints is not None:
            reports.append(
                _import(
                    conn,
                    sprints,
                    SprintCreate,
                    SPRINT_COLUMNS,
                    {"jira_sprint_id", "name"},
                    _LEGACY_SPRINT_UPSERT,
                )
            )
    return reports
