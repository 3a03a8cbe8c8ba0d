"""`worktrack doctor` on real databases, healthy and deliberately broken."""

from __future__ import annotations

import json

import psycopg
import pytest

from service.cli import main
from service.doctor import examine


def _problems(url: str) -> list[str]:
    return [f"{f.check}: {f.message}" for f in examine(url) if f.severity != "ok"]


def test_a_fresh_database_is_healthy(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert out.strip().endswith("healthy")
    assert "the schema matches sql/schema.sql" in out
    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["healthy"] is True
    assert {f["check"] for f in report["findings"]} >= {"server", "migrations", "drift", "integrity"}


def test_a_dropped_index_and_an_added_column_are_drift(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DROP INDEX idx_tasks_status")
        conn.execute("ALTER TABLE tasks ADD COLUMN colour text")
    problems = _problems(db_url)
    assert "drift: missing index idx_tasks_status" in problems
    assert "drift: extra column tasks.colour (not in sql/schema.sql)" in problems


def test_a_not_valid_constraint_is_named_with_its_fix(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "ALTER TABLE projects ADD CONSTRAINT chk_projects_short_name CHECK (length(name) < 80) NOT VALID"
        )
    findings = [f for f in examine(db_url) if f.check == "constraints"]
    assert [(f.severity, f.message) for f in findings] == [
        ("warning", "chk_projects_short_name on projects is NOT VALID")
    ]
    assert "VALIDATE CONSTRAINT chk_projects_short_name" in findings[0].fix


def test_an_invalid_index_left_by_a_failed_concurrent_build_is_found(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO projects (key, name) VALUES ('a', 'Same'), ('b', 'Same')")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("CREATE UNIQUE INDEX CONCURRENTLY uq_projects_name ON projects (name)")
    findings = [f for f in examine(db_url) if f.check == "indexes"]
    assert [f.message for f in findings] == [
        "index uq_projects_name on projects is INVALID (a failed concurrent build)"
    ]
    assert "REINDEX INDEX CONCURRENTLY uq_projects_name" in findings[0].fix


def test_a_migration_unknown_to_this_build_is_found(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO _yoyo_migration (migration_hash, migration_id, applied_at_utc)"
            " VALUES ('f00', '0099_from_the_future', now())"
        )
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["doctor"]) == 1
    assert "applied migration 0099_from_the_future is unknown to this build" in capsys.readouterr().out


def test_a_database_without_worktrack_says_so(empty_db_url: str) -> None:
    problems = _problems(empty_db_url)
    assert problems == ["migrations: this database holds no worktrack schema"]


def test_an_unreachable_database_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nothing")
    assert main(["doctor"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("worktrack: error: cannot connect to")
    monkeypatch.setenv("DATABASE_URL", "mysql://x")
    assert main(["doctor"]) == 2
