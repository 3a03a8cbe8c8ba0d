"""`worktrack maintain` on a real database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest

from service.cli import main


def test_analyze_and_vacuum_cover_every_table(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO projects (key, name) VALUES ('p', 'P')")
        conn.execute(
            "INSERT INTO tasks (project_id, key, title) SELECT id, 'T-' || g, 'x' FROM projects,"
            " generate_series(1, 500) g"
        )
        assert conn.execute("SELECT reltuples FROM pg_class WHERE relname = 'tasks'").fetchone() == (-1,)
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["maintain", "analyze"]) == 0
    assert "analyzed tasks" in capsys.readouterr().out.splitlines()
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT reltuples FROM pg_class WHERE relname = 'tasks'").fetchone() == (500,)
    assert main(["maintain", "vacuum"]) == 0
    out = capsys.readouterr().out.splitlines()
    with psycopg.connect(db_url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE '%yoyo%'"
        ).fetchone()
    assert "vacuumed and analyzed task_history" in out and (len(out),) == tables


def test_reclaim_leases_returns_every_expired_lease(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO projects (key, name) VALUES ('alpha', 'A'), ('beta', 'B')")
        conn.execute(
            "INSERT INTO tasks (project_id, key, title, status, claimed_by, lease_expires_at)"
            " SELECT p.id, 'T-' || g, 'x', 'in_progress', 'agent', now() - interval '1 minute'"
            " FROM projects p, generate_series(1, 150) g WHERE p.key = 'alpha'"
        )
        conn.execute(
            "INSERT INTO tasks (project_id, key, title, status, claimed_by, lease_expires_at)"
            " SELECT id, 'T-1', 'x', 'in_progress', 'agent', now() + interval '1 hour' FROM projects"
            " WHERE key = 'beta'"
        )
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["maintain", "reclaim-leases"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "returned 150 expired lease(s) to pending in project alpha"
    ]
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT status, count(*) FROM tasks GROUP BY 1 ORDER BY 1").fetchall() == [
            ("in_progress", 1),
            ("pending", 150),
        ]
        assert conn.execute("SELECT count(*) FROM task_history WHERE note = 'lease expired'").fetchone() == (
            150,
        )
    assert main(["maintain", "reclaim-leases"]) == 0
    assert capsys.readouterr().out.strip() == "no lease had expired"


def test_reindex_invalid_rebuilds_what_a_failed_build_left(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO projects (key, name) VALUES ('a', 'Same'), ('b', 'Same')")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("CREATE UNIQUE INDEX CONCURRENTLY uq_projects_name ON projects (name)")
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["maintain", "reindex-invalid"]) == 0
    assert capsys.readouterr().out.startswith("could not rebuild uq_projects_name")
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE projects SET name = 'Other' WHERE key = 'b'")
    assert main(["maintain", "reindex-invalid"]) == 0
    assert capsys.readouterr().out.strip() == "rebuilt uq_projects_name"
    with psycopg.connect(db_url) as conn:
        assert conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'uq_projects_name'::regclass"
        ).fetchone() == (True,)


def test_maintain_against_an_unreachable_database_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nothing")
    assert main(["maintain", "vacuum"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_an_interrupted_vacuum_leaves_no_lock_behind(db_url: str) -> None:
    with psycopg.connect(db_url) as holder:
        # A lock that conflicts with VACUUM, so the maintain run waits on it.
        holder.execute("LOCK TABLE task_history IN SHARE UPDATE EXCLUSIVE MODE")
        run = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "maintain", "vacuum"],
            env={**os.environ, "DATABASE_URL": db_url},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        with psycopg.connect(db_url, autocommit=True) as observer:
            deadline = time.monotonic() + 20
            while not observer.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND query LIKE 'VACUUM%' AND wait_event_type = 'Lock'"
            ).fetchone()[0]:  # type: ignore[index]
                assert time.monotonic() < deadline, "the vacuum never started waiting"
                time.sleep(0.1)
            run.send_signal(signal.SIGINT)  # Ctrl-C
            run.communicate(timeout=20)
            assert run.returncode == 130
            time.sleep(0.2)
            leftover = observer.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND query LIKE 'VACUUM%'"
            ).fetchone()
            locks = observer.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE a.datname = current_database() AND a.pid NOT IN (pg_backend_pid(), %s)",
                (holder.info.backend_pid,),
            ).fetchone()
        assert leftover == (0,)
        assert locks == (0,)
        holder.rollback()
