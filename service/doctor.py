"""`worktrack doctor`: is the database healthy, and if not, what to run.

Each finding is one line: severity, what, and the command that fixes it. The
exit status is 0 when nothing is wrong, 1 when something is, 2 when the
database could not be checked at all.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import psycopg

from service import queries
from service.migrations import known_migration_ids
from service.postgres import connect, first_line, scratch_database

_Q = queries.load("doctor")
_SCHEMA_FINGERPRINT = _Q["schema_fingerprint"]
_BTREE_INDEXES = _Q["btree_indexes"]
_SERVER_SETTINGS = _Q["server_settings"]
_HAS_WORKTRACK_SCHEMA = _Q["has_worktrack_schema"]
_UNVALIDATED_CONSTRAINTS = _Q["unvalidated_constraints"]
_INVALID_INDEXES = _Q["invalid_indexes"]
_UPKEEP = _Q["upkeep"]
_HEALTH = queries.load("health")
MIN_SERVER = 150000


@dataclass(frozen=True)
class Finding:
    severity: str  # "error", "warning" or "ok"
    check: str
    message: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.severity.upper():7} {self.check:11} {self.message}"
        return text + (f"  (fix: {self.fix})" if self.fix else "")


def _fingerprint(conn: psycopg.Connection[Any]) -> dict[tuple[str, str], str]:
    return {(kind, name): definition for kind, name, definition in conn.execute(_SCHEMA_FINGERPRINT)}


def _expected_fingerprint(url: str) -> dict[tuple[str, str], str]:
    """Load sql/schema.sql into a scratch database and read it back the same way."""
    schema = (queries.queries_dir().parent / "schema.sql").read_text(encoding="utf-8")
    with scratch_database(url, "worktrack_doctor") as scratch, connect(scratch) as conn:
        conn.execute(schema.encode())  # many statements, no parameters
        return _fingerprint(conn)


def _drift(url: str, conn: psycopg.Connection[Any]) -> list[Finding]:
    try:
        expected = _expected_fingerprint(url)
    except psycopg.Error as exc:
        return [
            Finding(
                "warning",
                "drift",
                f"could not compare with sql/schema.sql: {first_line(exc)}",
                "run doctor as a role that may create databases",
            )
        ]
    live = _fingerprint(conn)
    findings = []
    for kind, name in sorted(expected.keys() - live.keys()):
        findings.append(
            Finding(
                "error",
                "drift",
                f"missing {kind} {name}",
                "worktrack migrate apply, or restore it as sql/schema.sql defines it",
            )
        )
    for kind, name in sorted(live.keys() - expected.keys()):
        findings.append(
            Finding(
                "error",
                "drift",
                f"extra {kind} {name} (not in sql/schema.sql)",
                "drop it, or add it to a migration",
            )
        )
    for key in sorted(expected.keys() & live.keys()):
        if expected[key] != live[key]:
            findings.append(
                Finding(
                    "error",
                    "drift",
                    f"changed {key[0]} {key[1]}: {live[key]!r}, expected {expected[key]!r}",
                    "restore it as sql/schema.sql defines it",
                )
            )
    return findings or [Finding("ok", "drift", "the schema matches sql/schema.sql")]


def _amcheck(conn: psycopg.Connection[Any]) -> list[Finding]:
    """bt_index_check on every B-tree index, inside a transaction that is rolled back,
    so the extension it needs is not left behind."""
    try:
        with conn.transaction(force_rollback=True):
            conn.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
            indexes = [row[0] for row in conn.execute(_BTREE_INDEXES)]
            broken = []
            for index in indexes:
                try:
                    with conn.transaction():
                        conn.execute("SELECT bt_index_check(%s::regclass)", (index,))
                except psycopg.Error as exc:
                    broken.append(
                        Finding(
                            "error",
                            "integrity",
                            f"index {index}: {first_line(exc)}",
                            f"REINDEX INDEX CONCURRENTLY {index}",
                        )
                    )
    except psycopg.Error as exc:
        return [
            Finding(
                "ok", "integrity", f"amcheck cannot be created here, indexes not checked ({first_line(exc)})"
            )
        ]
    return broken or [Finding("ok", "integrity", f"amcheck: {len(indexes)} B-tree indexes are sound")]


def examine(url: str) -> list[Finding]:
    """Every check; raises DatabaseUnavailable when the database cannot be reached."""
    with connect(url) as conn:
        version_num, version, preload, max_connections = conn.execute(_SERVER_SETTINGS).fetchone()  # type: ignore[misc]
        findings = [
            Finding("ok", "server", f"PostgreSQL {version}, max_connections {max_connections}")
            if version_num >= MIN_SERVER
            else Finding("error", "server", f"PostgreSQL {version} is older than 15", "upgrade the server"),
            Finding("ok", "server", "pg_stat_statements is loaded")
            if "pg_stat_statements" in preload
            else Finding(
                "ok",
                "server",
                "pg_stat_statements is not loaded: worktrack stats will not list the slowest statements",
            ),
        ]
        if not conn.execute(_HAS_WORKTRACK_SCHEMA).fetchone()[0]:  # type: ignore[index]
            return [
                *findings,
                Finding(
                    "error",
                    "migrations",
                    "this database holds no worktrack schema",
                    "worktrack migrate apply",
                ),
            ]
        applied = {row[0] for row in conn.execute(_HEALTH["applied_migration_ids"])}
        known = known_migration_ids()
        pending = [m for m in known if m not in applied]
        unknown = sorted(applied - set(known))
        findings += [
            Finding("error", "migrations", f"pending migration {m}", "worktrack migrate apply")
            for m in pending
        ]
        findings += [
            Finding(
                "error",
                "migrations",
                f"applied migration {m} is unknown to this build",
                "deploy the build that has it, or roll it back with the build that does",
            )
            for m in unknown
        ]
        if not pending and not unknown:
            findings.append(Finding("ok", "migrations", f"all {len(known)} migrations applied"))
        findings += _drift(url, conn)
        findings += [
            Finding(
                "warning",
                "constraints",
                f"{name} on {table} is NOT VALID",
                f'psql -c "ALTER TABLE {table} VALIDATE CONSTRAINT {name}"',
            )
            for table, name in conn.execute(_UNVALIDATED_CONSTRAINTS)
        ]
        findings += [
            Finding(
                "error",
                "indexes",
                f"index {name} on {table} is INVALID (a failed concurrent build)",
                f'psql -c "REINDEX INDEX CONCURRENTLY {name}" (or worktrack maintain reindex-invalid)',
            )
            for table, name in conn.execute(_INVALID_INDEXES)
        ]
        findings += _amcheck(conn)
        for table, live, dead, modified, analyzed in conn.execute(_UPKEEP):
            findings.append(
                Finding(
                    "warning",
                    "upkeep",
                    f"{table}: {dead} dead rows, {modified} changes since the last analyze "
                    f"({analyzed or 'never'}), {live} live rows",
                    f'psql -c "VACUUM (ANALYZE) {table}" (or worktrack maintain vacuum)',
                )
            )
    return findings


def run(url: str, *, as_json: bool) -> int:
    findings = examine(url)
    problems = [f for f in findings if f.severity != "ok"]
    if as_json:
        print(json.dumps({"healthy": not problems, "findings": [asdict(f) for f in findings]}, indent=2))
    else:
        for finding in findings:
            print(finding.line())
        print("healthy" if not problems else f"{len(problems)} problem(s) found")
    return 1 if problems else 0
