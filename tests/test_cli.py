"""The `worktrack` command as a user and a DBA run it."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import httpx2 as httpx
import psycopg
import pytest

from service import migrations
from service.cli import main
from service.postgres import with_database
from tests.helpers import serving


def _run(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("database_url", "starts_with"),
    [
        ("mysql://root@localhost/db", "worktrack: error: malformed database URL"),
        ("postgresql://nobody@127.0.0.1:1/nothing", "worktrack: error: cannot connect to"),
    ],
)
@pytest.mark.parametrize("command", [["migrate", "list"], ["migrate", "apply"], ["init-db"], ["serve"]])
def test_a_bad_database_url_exits_non_zero_with_one_line(
    command: list[str], database_url: str, starts_with: str
) -> None:
    result = _run(*command, database_url=database_url)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(starts_with)
    assert "Traceback" not in result.stdout + result.stderr


def test_migrate_apply_list_and_rollback(
    empty_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    known = migrations.known_migration_ids()

    assert main(["migrate", "apply"]) == 0
    out = capsys.readouterr().out
    assert f"{len(known)} migration(s) applied in" in out
    assert f"applied {known[0]}" in out

    assert main(["migrate", "rollback", "--count", "2"]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [
        f"rolled back {known[-1]}",
        f"rolled back {known[-2]}",
    ]

    assert main(["migrate", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0] == f"A  {known[0]}"
    assert listing[len(known) - 1] == f"U  {known[-1]}"

    assert main(["migrate", "rollback", "--all"]) == 0
    assert f"{len(known) - 2} migration(s) rolled back" in capsys.readouterr().out


def test_migrate_honours_count_and_refuses_what_it_cannot_do(
    empty_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    known = migrations.known_migration_ids()

    assert main(["migrate", "apply", "--count", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"applied {known[0]}"
    assert out[1].startswith("1 migration(s) applied in")

    for args in (["rollback", "--count", "-1"], ["rollback", "--count", "0"], ["apply", "--count", "x"]):
        result = _run("migrate", *args, database_url=empty_db_url)
        assert result.returncode == 2, args
        assert (
            result.stderr.strip()
            .splitlines()[-1]
            .endswith(f"argument --count: must be a positive whole number, not '{args[-1]}'")
        )
    for args, message in [
        (["rollback", "--all", "--count", "2"], "give either --count or --all, not both"),
        (["apply", "--all"], "migrate apply applies every pending migration; --all is for rollback"),
        (["list", "--count", "1"], "migrate list takes neither --count nor --all"),
    ]:
        result = _run("migrate", *args, database_url=empty_db_url)
        assert result.returncode == 1, args
        assert result.stderr.strip().splitlines() == [f"worktrack: error: {message}"]
    assert [s.id for s in migrations.status(empty_db_url) if s.applied] == known[:1]


def test_a_refused_rollback_prints_one_line(empty_db_url: str) -> None:
    migrations.apply(empty_db_url, migrations.known_migration_ids().index("0016_validate_sprint_constraints"))
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO projects (key, name, metadata)"
            " VALUES ('BF', 'backfilled', '{\"created_by\": \"0015_backfill_sprint_projects\"}')"
        )
        conn.execute("INSERT INTO tasks (project_id, key, title) SELECT id, 'T-1', 'work' FROM projects")
    result = _run("migrate", "rollback", database_url=empty_db_url)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert re.fullmatch(
        r"worktrack: error: could not roll back migration 0015_backfill_sprint_projects: projects or"
        r" workstreams created by 0015_backfill_sprint_projects now hold epics, tasks, .* of their own;"
        r" step 0015_backfill_sprint_projects/rollback.sql line \d+: DO \$\$",
        lines[0],
    ), lines[0]
    assert "Traceback" not in result.stdout


def test_init_db_creates_a_missing_database_and_migrates_it(
    pg_server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = with_database(pg_server, "worktrack_init_db_test")
    monkeypatch.setenv("DATABASE_URL", url)
    try:
        assert main(["init-db"]) == 0
        assert "created database worktrack_init_db_test" in capsys.readouterr().out
        assert all(state.applied for state in migrations.status(url))
        assert main(["init-db"]) == 0
        assert "database is up to date" in capsys.readouterr().out
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS worktrack_init_db_test WITH (FORCE)")


def test_serve_migrates_seeds_the_demo_then_answers_and_stops_cleanly(empty_db_url: str) -> None:
    with serving(empty_db_url, "--demo") as served:
        response = httpx.get(f"{served.base}/readyz", timeout=5)
        assert response.status_code == 200
        assert response.json()["status"] == "ready"
        projects = httpx.get(f"{served.base}/projects", timeout=5).json()["items"]
        assert [p["key"] for p in projects] == [
            "atlas",
            "beacon",
            "comet",
        ]  # --demo seeded the empty database
    assert served.process.returncode == 0, served.output
    assert f"applied {len(migrations.known_migration_ids())} migration(s)" in served.output
    assert "seeded demo data" in served.output
    assert "GET /readyz 200" in served.output
