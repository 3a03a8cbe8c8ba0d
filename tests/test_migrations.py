"""The migrations as a DBA meets them: apply, re-apply, roll back, run by hand."""

from __future__ import annotations

import difflib
import re
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from service import migrations
from service.migrations import MigrationFailed, known_migration_ids, migrations_dir
from service.schema_dump import dump_schema, normalize_dump, pg_binary

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_SQL = ROOT / "sql" / "schema.sql"

WORKTRACK_TABLES = {
    "idempotency_keys",
    "projects",
    "users",
    "epics",
    "features",
    "tasks",
    "task_status_transitions",
    "task_history",
    "task_dependencies",
    "sprints",
    "sprint_analyses",
    "project_workstreams",
    "project_sprint_associations",
    "project_sprint_metrics",
    "reports",
    "team_capacities",
    "sprint_queue_items",
}
DATA_ONLY = {"0015_backfill_sprint_projects"}  # migrations that move data, not schema
YOYO_TABLES = {"_yoyo_log", "_yoyo_migration", "_yoyo_version", "yoyo_lock"}


def _public_objects(url: str) -> dict[str, set[str]]:
    """Tables, functions, sequences and views in the public schema."""
    with psycopg.connect(url) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        functions = {
            r[0]
            for r in conn.execute(
                "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                " WHERE n.nspname = 'public'"
            )
        }
        sequences = {
            r[0] for r in conn.execute("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
        }
        views = {r[0] for r in conn.execute("SELECT viewname FROM pg_views WHERE schemaname = 'public'")}
    return {"tables": tables, "functions": functions, "sequences": sequences, "views": views}


def _assert_same(expected: str, actual: str, what: str) -> None:
    if expected != actual:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile="expected",
                tofile=what,
            )
        )
        pytest.fail(f"{what} differs:\n{diff}")


def test_migration_files_are_numbered_paired_and_chained() -> None:
    forward = sorted(p for p in migrations_dir().glob("*.sql") if not p.name.endswith(".rollback.sql"))
    assert forward, "no migrations found"
    previous = None
    last_number = 0
    for path in forward:
        assert re.fullmatch(r"\d{4}_[a-z0-9_]+\.sql", path.name), path.name
        # Rising, each number once; a gap is fine until branches are merged and renumbered.
        assert int(path.name[:4]) > last_number, f"{path.name}: numbers must rise 0001, 0002, ..."
        last_number = int(path.name[:4])
        assert path.with_name(path.name.replace(".sql", ".rollback.sql")).exists(), (
            f"{path.name} has no rollback"
        )
        text = path.read_text()
        if previous:
            assert f"-- depends: {previous}" in text, f"{path.name} must depend on {previous}"
        assert "SET lock_timeout" in text, f"{path.name} sets no lock_timeout"
        previous = path.stem
    rollbacks = {p.name.replace(".rollback", "") for p in migrations_dir().glob("*.rollback.sql")}
    assert rollbacks == {p.name for p in forward}, "a rollback file has no migration"


def test_fresh_apply_creates_every_table_and_second_apply_changes_nothing(empty_db_url: str) -> None:
    applied = migrations.apply(empty_db_url)
    assert applied == known_migration_ids()
    assert _public_objects(empty_db_url)["tables"] == WORKTRACK_TABLES | YOYO_TABLES
    before = dump_schema(empty_db_url)

    assert migrations.apply(empty_db_url) == []
    assert dump_schema(empty_db_url) == before


def test_rolling_back_everything_leaves_no_worktrack_object(empty_db_url: str) -> None:
    migrations.apply(empty_db_url)
    rolled_back = migrations.rollback(empty_db_url, None)
    assert rolled_back == list(reversed(known_migration_ids()))
    objects = _public_objects(empty_db_url)
    assert objects["tables"] == YOYO_TABLES
    assert objects["functions"] == set()
    assert all(seq.startswith("_yoyo") for seq in objects["sequences"]), objects["sequences"]
    assert objects["views"] == set()


def test_apply_rollback_apply_gives_an_identical_schema(empty_db_url: str) -> None:
    migrations.apply(empty_db_url)
    first = dump_schema(empty_db_url)
    migrations.rollback(empty_db_url, None)
    migrations.apply(empty_db_url)
    _assert_same(first, dump_schema(empty_db_url), "schema after apply, rollback, apply")


def test_each_migration_rolls_back_on_its_own(empty_db_url: str) -> None:
    for migration_id in known_migration_ids():
        before = dump_schema(empty_db_url)
        assert migrations.apply(empty_db_url, 1) == [migration_id]
        after = dump_schema(empty_db_url)
        if migration_id not in DATA_ONLY:
            assert after != before, f"{migration_id} changed nothing"
        assert migrations.rollback(empty_db_url, 1) == [migration_id]
        _assert_same(before, dump_schema(empty_db_url), f"schema after rolling back {migration_id}")
        migrations.apply(empty_db_url, 1)


def _psql_file(url: str, path: Path) -> None:
    result = subprocess.run(
        [pg_binary("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"{path.name} failed by hand: {result.stderr}"


def test_each_file_runs_twice_by_hand_and_matches_yoyo(empty_db_url: str, db_url: str) -> None:
    forward = [migrations_dir() / f"{m}.sql" for m in known_migration_ids()]
    for path in forward:
        _psql_file(empty_db_url, path)
        _psql_file(empty_db_url, path)
    _assert_same(dump_schema(db_url), dump_schema(empty_db_url), "schema from psql -f, twice each")

    for path in reversed(forward):
        rollback = path.with_name(path.name.replace(".sql", ".rollback.sql"))
        _psql_file(empty_db_url, rollback)
        _psql_file(empty_db_url, rollback)
    assert _public_objects(empty_db_url) == {
        "tables": set(),
        "functions": set(),
        "sequences": set(),
        "views": set(),
    }


def test_schema_sql_is_the_dump_of_a_fresh_apply(db_url: str) -> None:
    committed = normalize_dump(SCHEMA_SQL.read_text())
    _assert_same(
        committed, dump_schema(db_url), "fresh apply (regenerate sql/schema.sql with scripts/dump-schema)"
    )


def test_squawk_passes_on_every_migration() -> None:
    squawk = shutil.which("squawk")
    assert squawk, "squawk is not installed (pip install -e '.[dev]')"
    result = subprocess.run(
        [squawk, "--reporter", "gcc", *sorted(str(p) for p in migrations_dir().glob("*.sql"))],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_failing_migration_is_named_and_leaves_the_database_as_it_was(
    empty_db_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), source)
    last = known_migration_ids()[-1]
    (source / "9999_broken.sql").write_text(
        f"-- depends: {last}\n"
        "CREATE TABLE half_done (id bigint);\n"
        "ALTER TABLE tasks ADD COLUMN title text;\n"  # tasks.title exists: this fails
    )
    (source / "9999_broken.rollback.sql").write_text("DROP TABLE IF EXISTS half_done;\n")

    with pytest.raises(MigrationFailed, match=r"9999_broken: column \"title\" .* already exists"):
        migrations.apply(empty_db_url, source=source)

    objects = _public_objects(empty_db_url)
    assert "half_done" not in objects["tables"]
    assert [s.id for s in migrations.status(empty_db_url) if s.applied] == known_migration_ids()
