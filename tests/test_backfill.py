"""The sprint-side migrations on legacy data: backfill, idempotence, rollback, validation."""

from __future__ import annotations

import subprocess
import threading
import time
from typing import Any

import psycopg
import pytest
from psycopg import sql

from service import migrations
from service.migrations import known_migration_ids, migrations_dir
from service.schema_dump import pg_binary

BACKFILL = "0015_backfill_sprint_projects"
TABLES = [
    "projects",
    "project_workstreams",
    "project_sprint_associations",
    "project_sprint_metrics",
    "sprints",
    "sprint_analyses",
]


def _apply_until(url: str, migration_id: str) -> None:
    """Apply every migration before `migration_id`."""
    applied = len([s for s in migrations.status(url) if s.applied])
    migrations.apply(url, known_migration_ids().index(migration_id) - applied)


def _legacy_database_before(url: str, migration_id: str) -> None:
    """The schema as it stood before sprints had rules (before 0013), legacy rows
    written then, and the migrations up to `migration_id` applied on top."""
    _apply_until(url, "0013_link_sprints_to_projects")
    with psycopg.connect(url, autocommit=True) as conn:
        _legacy_rows(conn)
    _apply_until(url, migration_id)


def _legacy_rows(conn: psycopg.Connection[Any]) -> None:
    sprints = [
        # jira_sprint_id, name, state, start, end, board, jira_project_key
        (101, "Alpha 1", "closed", "2026-01-05", "2026-01-18", 7, "ALPHA"),
        (102, "Meta 1", "closed", "2026-01-05", "2026-01-18", 9, "alpha, BETA"),
        (103, "Blank", "closed", "2026-01-05", "2026-01-18", 7, "   "),
        (104, "No key", "future", None, None, None, None),
        (105, "Beta 2", "active", "2026-01-19", "2026-02-01", 8, "Beta"),
        (106, "Meta 2", "active", "2026-01-19", "2026-02-01", 9, " gamma ,, ALPHA,alpha"),
        (107, "Bad key", "closed", "2026-01-05", "2026-01-18", 7, "1bad"),
    ]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO sprints (jira_sprint_id, name, state, start_date, end_date, jira_board_id,"
            " jira_project_key) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            sprints,
        )
        cur.execute(
            """
            INSERT INTO sprint_analyses (sprint_id, analysis_type, total_story_points, completed_story_points,
                                         total_issues, completed_issues, discipline_breakdown, created_at)
            SELECT s.id, t.kind, 40, t.done, 10, 6, jsonb_build_object('team_count', 4, 'backend', 3),
                   timestamptz '2026-01-20' + t.offs * interval '1 hour'
              FROM sprints s
             CROSS JOIN (VALUES ('velocity', 30, 1), ('quality', 20, 2)) AS t (kind, done, offs)
            """
        )
        # A legacy row that breaks the rules 0013 adds: more done than planned.
        cur.execute(
            "INSERT INTO sprint_analyses (sprint_id, analysis_type, total_story_points,"
            " completed_story_points, created_at)"
            " SELECT id, 'broken', 10, 99, '2026-01-21' FROM sprints WHERE jira_sprint_id = 101"
        )


def _snapshot(conn: psycopg.Connection[Any]) -> dict[str, list[Any]]:
    """Every row of the sprint-side tables, without updated_at (touched by the trigger)."""
    return {
        table: [
            row[0]
            for row in conn.execute(
                sql.SQL("SELECT to_jsonb(t) - 'updated_at' FROM {} t ORDER BY id").format(
                    sql.Identifier(table)
                )
            )
        ]
        for table in TABLES
    }


def _run_by_hand(url: str, name: str) -> None:
    result = subprocess.run(
        [
            pg_binary("psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-f",
            str(migrations_dir() / name / "apply.sql"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_backfill_derives_projects_workstreams_associations_and_metrics(empty_db_url: str) -> None:
    _legacy_database_before(empty_db_url, BACKFILL)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        before = _snapshot(conn)

    assert migrations.apply(empty_db_url, 1) == [BACKFILL]

    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        projects = conn.execute("SELECT key, name FROM projects ORDER BY key").fetchall()
        assert projects == [("ALPHA", "ALPHA"), ("BETA", "BETA"), ("gamma", "gamma")]
        workstreams = conn.execute(
            "SELECT p.key, w.jira_board_id, w.is_active FROM project_workstreams w"
            " JOIN projects p ON p.id = w.project_id ORDER BY p.key"
        ).fetchall()
        # A project's board is the one its own (single-project) sprints came from;
        # gamma appears only in a meta-board sprint, so it takes that board.
        assert workstreams == [("ALPHA", 7, True), ("BETA", 8, True), ("gamma", 9, True)]
        associations = conn.execute(
            """
            SELECT s.jira_sprint_id, p.key, a.association_type
              FROM project_sprint_associations a
              JOIN sprints s ON s.id = a.sprint_id
              JOIN project_workstreams w ON w.id = a.workstream_id JOIN projects p ON p.id = w.project_id
             ORDER BY 1, 3, 2
            """
        ).fetchall()
        assert associations == [
            (101, "ALPHA", "primary"),
            (102, "ALPHA", "primary"),
            (102, "BETA", "secondary"),
            (105, "BETA", "primary"),
            (106, "gamma", "primary"),
            (106, "ALPHA", "secondary"),
        ]
        analyses = conn.execute(
            "SELECT s.jira_sprint_id, count(*), min(p.key), count(a.project_id) FROM sprint_analyses a"
            " JOIN sprints s ON s.id = a.sprint_id LEFT JOIN projects p ON p.id = a.project_id"
            " GROUP BY 1 ORDER BY 1"
        ).fetchall()
        # Analyses of meta-board sprints (102, 106) cover several projects: they keep none.
        assert analyses == [
            (101, 3, "ALPHA", 2),  # the broken analysis is left for 0016 to report
            (102, 2, None, 0),
            (103, 2, None, 0),
            (104, 2, None, 0),
            (105, 2, "BETA", 2),
            (106, 2, None, 0),
            (107, 2, None, 0),
        ]
        metrics = conn.execute(
            """
            SELECT s.jira_sprint_id, p.key, m.story_points_total, m.story_points_completed,
                   m.completion_percent,
                   m.snapshot_at = CASE s.state WHEN 'closed' THEN s.end_date::timestamptz
                                                ELSE timestamptz '2026-01-20 02:00+00' END
              FROM project_sprint_metrics m
              JOIN sprints s ON s.id = m.sprint_id
              JOIN project_workstreams w ON w.id = m.workstream_id JOIN projects p ON p.id = w.project_id
             ORDER BY 1
            """
        ).fetchall()
        # From each single-project sprint's latest consistent analysis (quality: 20 of
        # 40 points; 101's later "broken" analysis claims more done than planned).
        assert [(r[0], r[1], float(r[2]), float(r[3]), float(r[4]), r[5]) for r in metrics] == [
            (101, "ALPHA", 40.0, 20.0, 50.0, True),
            (105, "BETA", 40.0, 20.0, 50.0, True),
        ]
        after = _snapshot(conn)

    _run_by_hand(empty_db_url, BACKFILL)  # a second run changes nothing
    with psycopg.connect(empty_db_url) as conn:
        assert _snapshot(conn) == after

    assert migrations.rollback(empty_db_url, 1) == [BACKFILL]
    with psycopg.connect(empty_db_url) as conn:
        assert _snapshot(conn) == before


def test_the_rollback_refuses_to_drop_projects_that_now_hold_work(empty_db_url: str) -> None:
    _legacy_database_before(empty_db_url, BACKFILL)
    migrations.apply(empty_db_url, 1)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tasks (project_id, key, title) SELECT id, 'T-1', 'real work' FROM projects"
            " WHERE key = 'BETA'"
        )
    with pytest.raises(migrations.MigrationFailed, match="now hold epics, tasks"):
        migrations.rollback(empty_db_url, 1)
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM tasks").fetchone() == (1,)


def test_validation_names_the_legacy_rows_that_break_a_rule(empty_db_url: str) -> None:
    _legacy_database_before(empty_db_url, "0016_validate_sprint_constraints")
    with pytest.raises(
        migrations.MigrationFailed,
        match=r"sprint_analyses: 1 row\(s\) break chk_sprint_analyses_points \(.*\), ids \d+; step 0016",
    ):
        migrations.apply(empty_db_url)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("UPDATE sprint_analyses SET completed_story_points = 9 WHERE analysis_type = 'broken'")
    assert migrations.apply(empty_db_url)[0] == "0016_validate_sprint_constraints"


def test_validation_clears_task_sprints_that_name_no_sprint(empty_db_url: str) -> None:
    _apply_until(empty_db_url, "0013_link_sprints_to_projects")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO projects (key, name) VALUES ('p', 'P')")
        conn.execute(
            "INSERT INTO tasks (project_id, key, title, sprint_id) SELECT id, 'T-1', 'x', 999 FROM projects"
        )
    migrations.apply(empty_db_url)
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT sprint_id FROM tasks").fetchone() == (None,)


def test_after_a_full_apply_no_constraint_is_unvalidated_and_no_index_invalid(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        unvalidated = conn.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint c"
            " JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public' AND NOT c.convalidated"
        ).fetchall()
        invalid = conn.execute(
            "SELECT indexrelid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND NOT i.indisvalid"
        ).fetchall()
    assert unvalidated == []
    assert invalid == []


def test_the_index_migration_recovers_from_a_failed_concurrent_build(empty_db_url: str) -> None:
    _apply_until(empty_db_url, "0014_sprint_indexes")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
        if not (superuser and superuser[0]):
            pytest.skip("marking an index INVALID by hand needs a superuser")
        # What a failed CREATE INDEX CONCURRENTLY leaves behind: an INVALID index of the same name.
        conn.execute("CREATE INDEX idx_sprints_active ON sprints (id)")
        conn.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'idx_sprints_active'::regclass"
        )
    migrations.apply(empty_db_url, 1)
    with psycopg.connect(empty_db_url) as conn:
        row = conn.execute(
            "SELECT i.indisvalid, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " WHERE indexrelid = 'idx_sprints_active'::regclass"
        ).fetchone()
    assert row is not None
    assert row[0] is True
    assert "WHERE (state = 'active'::text)" in row[1]


# A failed non-transactional migration keeps what it committed: a lock held from
# another connection makes one step time out half-way, the work before it stays,
# and applying again completes the migration.


def _counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[
                0
            ]  # type: ignore[index]
            for table in [
                "projects",
                "project_workstreams",
                "project_sprint_associations",
                "project_sprint_metrics",
            ]
        } | {
            "analyses with a project": conn.execute(
                "SELECT count(*) FROM sprint_analyses WHERE project_id IS NOT NULL"
            ).fetchone()[0]  # type: ignore[index]
        }


def test_a_lock_timeout_half_way_through_the_backfill_keeps_what_it_committed(
    empty_db_url: str, db_url: str
) -> None:
    _legacy_database_before(empty_db_url, BACKFILL)
    with psycopg.connect(empty_db_url) as blocker:
        # The metric snapshots come last: holding SHARE on their table makes that
        # insert time out after the projects, workstreams, associations and analyses.
        blocker.execute("LOCK TABLE project_sprint_metrics IN SHARE MODE")
        with pytest.raises(
            migrations.MigrationFailed,
            match=r"0015_backfill_sprint_projects: canceling statement due to lock timeout; "
            r"step 0015_backfill_sprint_projects/apply.sql line \d+: DO \$\$",
        ):
            migrations.apply(empty_db_url, 1)
        blocker.rollback()

    assert _counts(empty_db_url) == {
        "projects": 3,
        "project_workstreams": 3,
        "project_sprint_associations": 6,
        "project_sprint_metrics": 0,
        "analyses with a project": 4,
    }
    assert BACKFILL not in [s.id for s in migrations.status(empty_db_url) if s.applied]

    assert migrations.apply(empty_db_url, 1) == [BACKFILL]
    assert _counts(empty_db_url)["project_sprint_metrics"] == 2


def test_a_lock_timeout_on_a_validation_keeps_the_constraints_already_validated(empty_db_url: str) -> None:
    validation = "0016_validate_sprint_constraints"
    _legacy_database_before(empty_db_url, validation)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("DELETE FROM sprint_analyses WHERE analysis_type = 'broken'")

    def unvalidated() -> list[str]:
        with psycopg.connect(empty_db_url) as conn:
            return [
                r[0]
                for r in conn.execute(
                    "SELECT conname FROM pg_constraint WHERE NOT convalidated"
                    " AND conrelid IN ('sprints'::regclass, 'sprint_analyses'::regclass, 'tasks'::regclass)"
                    " ORDER BY 1"
                )
            ]

    assert len(unvalidated()) == 10
    with psycopg.connect(empty_db_url) as blocker:
        # VALIDATE takes SHARE UPDATE EXCLUSIVE: held here, the last one (tasks) times out.
        blocker.execute("LOCK TABLE tasks IN SHARE UPDATE EXCLUSIVE MODE")
        with pytest.raises(
            migrations.MigrationFailed,
            match=r"lock timeout; step 0016_validate_sprint_constraints/apply.sql line \d+: "
            r"ALTER TABLE tasks VALIDATE CONSTRAINT fk_tasks_sprint",
        ):
            migrations.apply(empty_db_url, 1)
        blocker.rollback()

    assert unvalidated() == ["fk_tasks_sprint"]  # the nine before it stay validated
    assert migrations.apply(empty_db_url, 1) == [validation]
    assert unvalidated() == []


def test_a_team_count_that_is_no_whole_number_is_named_before_any_index_is_built(empty_db_url: str) -> None:
    _apply_until(empty_db_url, "0013_link_sprints_to_projects")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        _legacy_rows(conn)
        bad = conn.execute(
            'UPDATE sprint_analyses SET discipline_breakdown = \'{"team_count": "6.5"}\''
            " WHERE id = (SELECT min(id) FROM sprint_analyses) RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
    _apply_until(empty_db_url, "0014_sprint_indexes")

    with pytest.raises(
        migrations.MigrationFailed,
        match=rf"sprint_analyses: 1 row\(s\) break chk_sprint_analyses_team_count_is_integer .*, ids {bad}\b",
    ):
        migrations.apply(empty_db_url, 1)
    with psycopg.connect(empty_db_url) as conn:
        built = conn.execute(
            "SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'idx_sprint%'"
            " AND tablename IN ('sprints', 'sprint_analyses')"
        ).fetchone()
    assert built == (0,)

    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE sprint_analyses SET discipline_breakdown = '{\"team_count\": 6}' WHERE id = %s", [bad]
        )
    assert migrations.apply(empty_db_url, 1) == ["0014_sprint_indexes"]


def test_concurrent_index_builds_wait_for_an_older_transaction_instead_of_timing_out(
    empty_db_url: str,
) -> None:
    _apply_until(empty_db_url, "0014_sprint_indexes")
    with psycopg.connect(empty_db_url) as old:
        # A long transaction with a snapshot (a pg_dump, a report): CREATE INDEX
        # CONCURRENTLY waits for it by design, longer than the 5 s lock_timeout.
        old.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        old.execute("SELECT count(*) FROM projects")
        outcome: list[object] = []
        worker = threading.Thread(target=lambda: outcome.append(migrations.apply(empty_db_url, 1)))
        worker.start()
        worker.join(6.5)
        assert worker.is_alive(), f"the build did not wait: {outcome}"
        old.rollback()
        worker.join(60)
    assert outcome == [["0014_sprint_indexes"]]


def test_0013_retries_its_locks_so_reads_do_not_queue_behind_an_open_writer(empty_db_url: str) -> None:
    _apply_until(empty_db_url, "0013_link_sprints_to_projects")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        _legacy_rows(conn)
    waits: list[float] = []
    stop = threading.Event()

    def read() -> None:
        with psycopg.connect(empty_db_url, autocommit=True) as reader:
            while not stop.is_set():
                started = time.monotonic()
                reader.execute("SELECT count(*) FROM sprint_analyses")
                waits.append(time.monotonic() - started)
                time.sleep(0.02)

    with psycopg.connect(empty_db_url) as writer:
        # A writer whose transaction stays open for 3 s: 0013's ALTER TABLE cannot
        # have its lock meanwhile, and every read queued behind a waiting ALTER waits too.
        writer.execute("UPDATE sprint_analyses SET completed_issues = completed_issues WHERE id = 1")
        reader = threading.Thread(target=read)
        reader.start()
        migrator = threading.Thread(target=lambda: migrations.apply(empty_db_url, 1))
        migrator.start()
        time.sleep(3)
        writer.commit()
        migrator.join(60)
    stop.set()
    reader.join()
    assert [s.id for s in migrations.status(empty_db_url) if s.applied][-1] == "0013_link_sprints_to_projects"
    assert max(waits) < 1.0, f"a read waited {max(waits):.2f} s"
    assert len(waits) > 20
