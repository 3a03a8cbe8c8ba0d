"""The migrations as a DBA meets them: apply, re-apply, roll back, run by hand."""

from __future__ import annotations

import difflib
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from service import migrations
from service.migrations import MigrationFailed, known_migration_ids, migrations_dir
from service.schema_dump import dump_schema, normalize_dump, pg_binary

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_SQL = ROOT / "sql" / "schema.sql"

WORKTRACK_TABLES = {
    "api_tokens",
    "api_token_projects",
    "idempotency_keys",
    "projects",
    "users",
    "epics",
    "features",
    "tasks",
    "task_status_transitions",
    "task_history",
    "sprint_membership_events",
    "sprint_frozen_tasks",
    "sprint_frozen_days",
    "import_transactions",
    "task_dependencies",
    "task_links",
    "sprints",
    "sprint_analyses",
    "project_workstreams",
    "project_sprint_associations",
    "project_sprint_metrics",
    "reports",
    "team_capacities",
    "sprint_queue_items",
}
OUTSIDE_THE_DUMP = {  # migrations that move data or grants, which the schema dump leaves out
    "0015_backfill_sprint_projects",
    "0045_forget_stored_token_secrets",
    "0046_sprint_freeze_not_public",
}
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


def _step_files(migration_id: str) -> tuple[list[Path], Path]:
    """A migration's forward SQL files in the order they run, and its rollback file."""
    folder = migrations_dir() / migration_id
    if folder.is_dir():  # a Python migration built from SQL files (migrations/lib/worktrack_sql_steps.py)
        return sorted(p for p in folder.glob("*.sql") if p.name != "rollback.sql"), folder / "rollback.sql"
    forward = migrations_dir() / f"{migration_id}.sql"
    return [forward], forward.with_name(f"{migration_id}.rollback.sql")


def test_migration_files_are_numbered_paired_and_chained() -> None:
    ids = known_migration_ids()
    assert ids, "no migrations found"
    previous = None
    for number, migration_id in enumerate(ids, start=1):
        assert re.fullmatch(r"\d{4}_[a-z0-9_]+", migration_id), migration_id
        assert int(migration_id[:4]) == number, f"{migration_id}: numbers must run 0001, 0002, ..."
        forward, rollback = _step_files(migration_id)
        assert rollback.exists(), f"{migration_id} has no rollback"
        python = migrations_dir() / f"{migration_id}.py"
        header = python.read_text() if python.exists() else forward[0].read_text()
        if previous:
            depends = f'__depends__ = {{"{previous}"}}' if python.exists() else f"-- depends: {previous}"
            assert depends in header, f"{migration_id} must depend on {previous}"
        if python.exists():
            # Python migrations exist to run outside one transaction, keeping each step.
            assert "__transactional__ = False" in header, migration_id
        for path in forward:
            assert "lock_timeout" in path.read_text(), f"{path.name} sets no lock_timeout"
        previous = migration_id
    rollbacks = {p.name.replace(".rollback", "") for p in migrations_dir().glob("*.rollback.sql")}
    assert rollbacks == {p.name for p in migrations_dir().glob("*.sql") if ".rollback" not in p.name}


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
        if migration_id not in OUTSIDE_THE_DUMP:
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
    ids = known_migration_ids()
    for migration_id in ids:
        for path in _step_files(migration_id)[0]:
            _psql_file(empty_db_url, path)
            _psql_file(empty_db_url, path)
    _assert_same(dump_schema(db_url), dump_schema(empty_db_url), "schema from psql -f, twice each")

    for migration_id in reversed(ids):
        rollback = _step_files(migration_id)[1]
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
        [squawk, "--reporter", "gcc", *sorted(str(p) for p in migrations_dir().glob("**/*.sql"))],
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


LANDED_FILES = ROOT / "tests" / "fixtures" / "migrations_a57523f"  # 0013-0016 as first landed


def _landed_source(tmp_path: Path) -> Path:
    """migrations/ with 0013-0016 as they landed (plain .sql files), before they
    became Python migrations built from SQL files."""
    source = tmp_path / "landed"
    shutil.copytree(migrations_dir(), source)
    for landed in LANDED_FILES.glob("*.sql"):
        migration_id = landed.name.split(".")[0]
        (source / f"{migration_id}.py").unlink(missing_ok=True)
        shutil.rmtree(source / migration_id, ignore_errors=True)
        shutil.copy(landed, source / landed.name)
    return source


def test_migrations_rewritten_in_place_give_the_schema_the_landed_files_gave(
    empty_db_url: str, db_url: str, tmp_path: Path
) -> None:
    migrations.apply(empty_db_url, source=_landed_source(tmp_path))
    _assert_same(dump_schema(db_url), dump_schema(empty_db_url), "schema from the landed 0013-0016")
    # A database migrated by the landed files is up to date for this build (same ids)...
    assert migrations.apply(empty_db_url) == []
    assert all(state.applied for state in migrations.status(empty_db_url))
    # ...and the new files roll it back and apply it again to the same schema.
    newer = [m for m in reversed(known_migration_ids()) if m >= "0013"]
    assert newer[-4:] == [
        "0016_validate_sprint_constraints",
        "0015_backfill_sprint_projects",
        "0014_sprint_indexes",
        "0013_link_sprints_to_projects",
    ]
    assert migrations.rollback(empty_db_url, len(newer)) == newer
    migrations.apply(empty_db_url)
    _assert_same(dump_schema(db_url), dump_schema(empty_db_url), "schema after rolling back and re-applying")


def test_count_must_be_positive(empty_db_url: str) -> None:
    for count in (0, -1):
        with pytest.raises(ValueError, match="positive whole number"):
            migrations.apply(empty_db_url, count)
        with pytest.raises(ValueError, match="positive whole number"):
            migrations.rollback(empty_db_url, count)
    assert migrations.status(empty_db_url)[0].applied is False


def test_a_killed_migrator_does_not_block_the_next_run(empty_db_url: str, tmp_path: Path) -> None:
    source = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), source)
    last = known_migration_ids()[-1]
    (source / "9999_slow.sql").write_text(f"-- depends: {last}\nSELECT pg_sleep(3);\n")
    (source / "9999_slow.rollback.sql").write_text("SELECT 1;\n")
    migrations.apply(empty_db_url)
    migrator = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from service import migrations;"
            " migrations.apply(sys.argv[1], source=Path(sys.argv[2]))",
            empty_db_url,
            str(source),
        ],
        cwd=ROOT,
    )
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        deadline = time.monotonic() + 30
        while not conn.execute(
            "SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(3)%'"
        ).fetchone():
            assert time.monotonic() < deadline, "the migrator never started its migration"
            time.sleep(0.05)
        assert conn.execute("SELECT pid < 0 FROM yoyo_lock").fetchone() == (True,)
        migrator.send_signal(signal.SIGKILL)
        migrator.wait()
        # The row stays behind (plain yoyo would wait 10 s and fail on it); the
        # advisory lock goes with the session once the server finishes its statement.
        assert conn.execute("SELECT count(*) FROM yoyo_lock").fetchone() == (1,)

    started = time.monotonic()
    assert migrations.apply(empty_db_url, source=source) == ["9999_slow"]
    assert time.monotonic() - started < 10
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM yoyo_lock").fetchone() == (0,)


def test_a_lock_row_of_plain_yoyo_is_reported_with_what_to_do(empty_db_url: str) -> None:
    migrations.apply(empty_db_url)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO yoyo_lock (locked, ctime, pid) VALUES (1, '2026-12-01 10:00', 4242)")
    with pytest.raises(
        MigrationFailed, match=r"plain yoyo \(process 4242 since 2026-12-01 10:00:00 UTC\).*yoyo break-lock"
    ):
        migrations.apply(empty_db_url)


def test_0045_forgets_the_stored_answers_that_hold_a_tokens_secret(empty_db_url: str) -> None:
    ids = known_migration_ids()
    migrations.apply(empty_db_url, ids.index("0045_forget_stored_token_secrets"))
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        for key, body in (
            ("made-a-token", b'{"name":"ci","token":"wt_abc"}'),
            ("made-a-task", b'{"key":"T-1"}'),
        ):
            conn.execute(
                "INSERT INTO idempotency_keys (caller, key, request_hash, status, body)"
                " VALUES ('1', %s, %s, 201, %s)",
                (key, b"\0" * 32, body),
            )
    assert migrations.apply(empty_db_url, 1) == ["0045_forget_stored_token_secrets"]
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT key FROM idempotency_keys").fetchall() == [("made-a-task",)]
