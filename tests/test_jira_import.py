"""`worktrack import-jira` on fixture folders in the Jira REST API's shapes
(tests/fixtures/jira): board configuration, two pages of sprints, three pages of a
sprint's issues and a search page, a broken file and a file that is no Jira
response. Sprint 101 (closed) holds a task for every rule of the sprint report."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from service import jira_import
from service.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "jira"
BOARD = FIXTURES / "board"
LATER = FIXTURES / "board-later"
ANN, BOB = "jira:Ann Lee", "jira:Bob Ray"


def _import(db_url: str, folder: Path = BOARD, **options: Any) -> jira_import.Summary:
    return jira_import.import_folder(db_url, folder, **options)


def _rows(db_url: str, statement: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(statement).fetchall()


def _membership(db_url: str) -> list[tuple[Any, ...]]:
    return _rows(
        db_url,
        "SELECT t.key, e.change, s.jira_sprint_id, e.points_before::float, e.points_after::float,"
        "       m.jira_sprint_id, e.is_close_move, e.actor,"
        "       to_char(e.happened_at AT TIME ZONE 'UTC', 'MM-DD HH24:MI')"
        "  FROM sprint_membership_events e JOIN tasks t ON t.id = e.task_id"
        "  JOIN sprints s ON s.id = e.sprint_id LEFT JOIN sprints m ON m.id = e.moved_to_sprint_id"
        " ORDER BY t.key, e.id",
    )


def _history(db_url: str) -> list[tuple[Any, ...]]:
    return _rows(
        db_url,
        "SELECT t.key, h.from_status, h.to_status, h.actor, h.note,"
        "       to_char(h.changed_at AT TIME ZONE 'UTC', 'MM-DD HH24:MI')"
        "  FROM task_history h JOIN tasks t ON t.id = h.task_id ORDER BY t.key, h.id",
    )


def _tasks(db_url: str) -> list[tuple[Any, ...]]:
    return _rows(
        db_url,
        "SELECT t.key, t.title, t.status, s.jira_sprint_id, t.story_points::float, u.jira_account_id,"
        "       t.metadata #>> '{jira,parent}', (t.metadata #>> '{jira,changelog_truncated}')::boolean,"
        "       to_char(t.created_at AT TIME ZONE 'UTC', 'MM-DD HH24:MI'),"
        "       to_char(t.completed_at AT TIME ZONE 'UTC', 'MM-DD HH24:MI')"
        "  FROM tasks t LEFT JOIN sprints s ON s.id = t.sprint_id LEFT JOIN users u ON u.id = t.assignee_id"
        " ORDER BY t.key",
    )


EXPECTED_MEMBERSHIP = [
    ("WT-1", "joined", 101, None, 3.0, None, False, ANN, "10-30 10:00"),
    # joined unestimated, estimated in the same change of the changelog
    ("WT-2", "joined", 101, None, None, None, False, ANN, "10-30 10:00"),
    ("WT-2", "reestimated", 101, None, 5.0, None, False, ANN, "10-30 10:00"),
    ("WT-2", "reestimated", 101, 5.0, 8.0, None, False, ANN, "11-04 08:30"),
    # open at the close and Jira left it in no open sprint: the close moved it to the backlog
    ("WT-2", "left", 101, 8.0, None, None, True, "jira", "11-13 16:00"),
    ("WT-3", "joined", 101, None, 2.0, None, False, ANN, "10-30 10:00"),
    ("WT-3", "left", 101, 2.0, None, None, False, ANN, "11-06 11:00"),
    ("WT-4", "joined", 101, None, 1.0, None, False, ANN, "11-04 08:10"),
    ("WT-5", "joined", 101, None, 2.0, None, False, ANN, "11-05 08:00"),
    ("WT-6", "joined", 101, None, 3.0, None, False, ANN, "10-30 10:00"),
    ("WT-6", "left", 101, 3.0, None, 102, True, ANN, "11-13 16:00"),
    ("WT-6", "joined", 102, None, 3.0, None, False, ANN, "11-13 16:00"),
    # truncated changelog: in its current sprint from its creation
    ("WT-7", "joined", 101, None, 2.0, None, False, ANN, "10-29 08:00"),
    ("WT-9", "joined", 102, None, 5.0, None, False, ANN, "11-14 08:05"),
]
NOTE = "imported from Jira"
EXPECTED_HISTORY = [
    ("WT-1", None, "pending", ANN, NOTE, "10-28 09:00"),
    ("WT-1", "pending", "in_progress", BOB, NOTE, "11-03 09:00"),
    ("WT-1", "in_progress", "completed", BOB, NOTE, "11-05 14:00"),
    ("WT-2", None, "pending", ANN, NOTE, "10-28 09:05"),
    ("WT-2", "pending", "in_progress", BOB, NOTE, "11-06 09:00"),
    ("WT-3", None, "pending", ANN, NOTE, "10-28 09:10"),
    ("WT-4", None, "pending", ANN, NOTE, "11-04 08:00"),
    # To Do -> Done, a move the lifecycle refuses, stored as Jira recorded it
    ("WT-4", "pending", "completed", BOB, NOTE, "11-10 15:00"),
    ("WT-5", None, "pending", ANN, NOTE, "10-20 08:00"),
    ("WT-5", "pending", "in_progress", BOB, NOTE, "10-22 08:00"),
    ("WT-5", "in_progress", "completed", BOB, NOTE, "10-25 08:00"),
    ("WT-6", None, "pending", ANN, NOTE, "10-28 09:15"),
    # In Progress -> In Review is in_progress -> in_progress without --status-map: no row
    ("WT-6", "pending", "in_progress", BOB, NOTE, "11-09 09:00"),
    ("WT-7", None, "pending", ANN, NOTE, "10-29 08:00"),
    ("WT-7", "pending", "completed", "jira", NOTE, "11-12 09:00"),  # at its resolution date
    ("WT-9", None, "pending", ANN, NOTE, "11-14 08:00"),
]


def test_the_import_rebuilds_every_row_with_jiras_times_and_authors(db_url: str) -> None:
    summary = _import(db_url)
    assert (summary.files, summary.sprints_inserted, summary.users_inserted) == (9, 3, 2)
    assert (summary.issues_inserted, summary.issues_updated, summary.issues_unchanged) == (8, 0, 0)
    assert (summary.history_rows, summary.membership_events) == (16, 14)
    assert summary.truncated == [("sprint-101-issues-6.json", "WT-7")]
    assert [(file, where) for file, where, _ in summary.skipped] == [
        ("broken.json", "line 1 column 39"),
        ("notes.json", "file"),
        ("sprint-101-issues-6.json", "issues[1] WT-8"),
    ]
    assert "yesterday" in summary.skipped[2][2]

    assert _rows(db_url, "SELECT key, name FROM projects") == [("WT", "WT")]
    assert _rows(db_url, "SELECT name, jira_board_id, is_active FROM project_workstreams") == [
        ("WT board", 7, True)
    ]
    assert _rows(
        db_url,
        "SELECT jira_sprint_id, name, state, start_date::text, end_date::text, goal, jira_board_id,"
        "       to_char(activated_at AT TIME ZONE 'UTC', 'MM-DD HH24:MI'),"
        "       to_char(completed_at AT TIME ZONE 'UTC', 'MM-DD HH24:MI'), a.association_type"
        "  FROM sprints s JOIN project_sprint_associations a ON a.sprint_id = s.id ORDER BY jira_sprint_id",
    ) == [
        (101, "WT Sprint 1", "closed", "2026-11-02", "2026-11-13", "Ship the importer", 7, "11-02 08:00",
         "11-13 16:00", "primary"),
        (102, "WT Sprint 2", "active", "2026-11-16", "2026-11-27", None, 7, "11-16 08:00", None, "primary"),
        (103, "WT Sprint 3", "future", None, None, None, 7, None, None, "primary"),
    ]  # fmt: skip
    assert _rows(db_url, "SELECT jira_account_id, email, full_name FROM users ORDER BY full_name") == [
        ("5b10a2844c20165700ede21g", "ann@example.com", "Ann Lee"),
        ("5b10ac8d82e05b22cc7d4ef5", "5b10ac8d82e05b22cc7d4ef5@jira.invalid", "Bob Ray"),
    ]
    bob = "5b10ac8d82e05b22cc7d4ef5"
    assert _tasks(db_url) == [
        ("WT-1", "Committed and completed", "completed", 101, 3.0, bob, "WT-100", False, "10-28 09:00",
         "11-05 14:00"),
        ("WT-2", "Re-estimated mid-sprint, left open", "in_progress", None, 8.0, bob, None, False,
         "10-28 09:05", None),
        ("WT-3", "Removed from the sprint", "pending", None, 2.0, None, None, False, "10-28 09:10", None),
        ("WT-4", "Added after the start, To Do straight to Done", "completed", 101, 1.0, None, None, False,
         "11-04 08:00", "11-10 15:00"),
        ("WT-5", "Completed before it joined", "completed", 101, 2.0, None, None, False, "10-20 08:00",
         "10-25 08:00"),
        ("WT-6", "In two sprints: carried over at the close", "in_progress", 102, 3.0, bob, None, False,
         "10-28 09:15", None),
        ("WT-7", "Changelog truncated by Jira", "completed", 101, 2.0, None, None, True, "10-29 08:00",
         "11-12 09:00"),
        ("WT-9", "Planned for sprint 2", "pending", 102, 5.0, None, None, False, "11-14 08:00", None),
    ]  # fmt: skip
    assert _membership(db_url) == EXPECTED_MEMBERSHIP
    assert _history(db_url) == EXPECTED_HISTORY


def _figures(report: dict[str, Any]) -> dict[str, Any]:
    scope = report["scope_change"]
    return {
        "commitment": (report["commitment"]["points"], report["commitment"]["issues"]),
        "added": (scope["added_points"], scope["added_issues"]),
        "removed": (scope["removed_points"], scope["removed_issues"]),
        "reestimated": scope["reestimated_points"],
        "completed": (report["completed"]["points"], report["completed"]["issues"]),
        "completed_outside": [(t["key"], t["story_points"]) for t in report["completed_outside"]["tasks"]],
        "not_completed": [
            (t["key"], t["story_points"], t["moved_to"]) for t in report["carry_over"]["tasks"]
        ],
        "source": report["commitment"]["source"],
    }


def _sprint_id(db_url: str, jira_id: int) -> int:
    return int(_rows(db_url, f"SELECT id FROM sprints WHERE jira_sprint_id = {jira_id}")[0][0])


def test_the_report_of_the_imported_closed_sprint_matches_jiras(client: TestClient, db_url: str) -> None:
    _import(db_url)
    report = client.get(f"/sprints/{_sprint_id(db_url, 101)}/report").json()
    as_of = report["sprint"]["as_of"]
    assert (as_of["start"], as_of["close"]) == ("2026-11-02T08:00:00+00:00", "2026-11-13T16:00:00+00:00")
    assert _figures(report) == {
        "commitment": (15, 5),  # WT-1 3, WT-2 5 (as of the start), WT-3 2, WT-6 3, WT-7 2
        "added": (1, 1),  # WT-4
        "removed": (2, 1),  # WT-3
        "reestimated": 3,  # WT-2 5 -> 8
        "completed": (6, 3),  # WT-1 3, WT-4 1, WT-7 2
        "completed_outside": [("WT-5", 2)],
        "not_completed": [("WT-2", 8, "backlog"), ("WT-6", 3, _sprint_id(db_url, 102))],
        "source": "membership history",
    }


def test_a_second_import_changes_nothing(db_url: str) -> None:
    _import(db_url)
    before = (_membership(db_url), _history(db_url), _tasks(db_url))
    summary = _import(db_url)
    assert (summary.sprints_inserted, summary.sprints_updated, summary.users_inserted) == (0, 0, 0)
    assert (summary.issues_inserted, summary.issues_updated, summary.issues_unchanged) == (0, 0, 8)
    assert (summary.history_rows, summary.membership_events) == (0, 0)
    assert (_membership(db_url), _history(db_url), _tasks(db_url)) == before


def test_a_later_export_updates_what_changed(client: TestClient, db_url: str) -> None:
    _import(db_url)
    summary = _import(db_url, LATER)
    assert (summary.sprints_updated, summary.issues_updated, summary.issues_unchanged) == (2, 2, 6)
    assert (summary.history_rows, summary.membership_events) == (1, 1)
    assert _rows(db_url, "SELECT jira_sprint_id, state FROM sprints ORDER BY 1") == [
        (101, "closed"),
        (102, "closed"),
        (103, "active"),
    ]
    assert _membership(db_url) == [
        *EXPECTED_MEMBERSHIP,
        ("WT-9", "left", 102, 5.0, None, None, False, ANN, "11-19 08:00"),
    ]
    assert _history(db_url) == [
        *EXPECTED_HISTORY[:13],
        ("WT-6", "in_progress", "completed", BOB, NOTE, "11-20 09:00"),
        *EXPECTED_HISTORY[13:],
    ]
    assert _rows(db_url, "SELECT title FROM tasks WHERE key = 'WT-6'") == [
        ("In two sprints: done in the second",)
    ]
    report = client.get(f"/sprints/{_sprint_id(db_url, 102)}/report").json()
    assert _figures(report) == {
        "commitment": (8, 2),  # WT-6 3 (moved in at 101's close), WT-9 5
        "added": (0, 0),
        "removed": (5, 1),  # WT-9
        "reestimated": 0,
        "completed": (3, 1),  # WT-6
        "completed_outside": [],
        "not_completed": [],
        "source": "membership history",
    }
    # the first sprint's report does not move
    first = client.get(f"/sprints/{_sprint_id(db_url, 101)}/report").json()
    assert _figures(first)["commitment"] == (15, 5)


def test_named_statuses_map_through_status_map(db_url: str) -> None:
    _import(db_url, status_map="In Review=in_review")
    assert _rows(db_url, "SELECT status FROM tasks WHERE key = 'WT-6'") == [("in_review",)]
    with pytest.raises(ValueError, match="NAME=STATUS"):
        _import(db_url, status_map="In Review=reviewing")


def test_later_changes_obey_the_lifecycle(db_url: str) -> None:
    _import(db_url)
    with psycopg.connect(db_url) as conn:
        with pytest.raises(psycopg.errors.IntegrityError, match="cannot move from completed to pending"):
            conn.execute("UPDATE tasks SET status = 'pending' WHERE key = 'WT-4'")
        conn.rollback()
        with pytest.raises(psycopg.errors.IntegrityError, match="it is closed"):
            conn.execute("UPDATE tasks SET sprint_id = (SELECT id FROM sprints WHERE jira_sprint_id = 101)"
                         " WHERE key = 'WT-3'")  # fmt: skip


def test_an_ordinary_session_cannot_set_the_time_of_history(db_url: str) -> None:
    _import(db_url)
    with psycopg.connect(db_url) as conn:
        conn.execute("SELECT set_config('worktrack.event_at', '2020-01-01T00:00:00Z', true)")
        conn.execute("UPDATE tasks SET status = 'in_progress', sprint_id = NULL WHERE key = 'WT-9'")
        history = conn.execute(
            "SELECT h.changed_at > now() - interval '1 hour'"
            "  FROM task_history h JOIN tasks t ON t.id = h.task_id"
            " WHERE t.key = 'WT-9' ORDER BY h.id DESC LIMIT 1"
        ).fetchone()
        left = conn.execute(
            "SELECT e.happened_at > now() - interval '1 hour' FROM sprint_membership_events e"
            " JOIN tasks t ON t.id = e.task_id WHERE t.key = 'WT-9' ORDER BY e.id DESC LIMIT 1"
        ).fetchone()
        started = conn.execute(
            "SELECT started_at > now() - interval '1 hour' FROM tasks WHERE key = 'WT-9'"
        ).fetchone()
        assert (history, left, started) == ((True,), (True,), (True,))


@pytest.fixture
def api_role(db_url: str) -> Any:
    """A role like the API's: table privileges, not the owner, no import grant."""
    role = f"wt_api_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} NOLOGIN")
        conn.execute(f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {role}")
    yield role
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f"DROP OWNED BY {role}")
        conn.execute(f"DROP ROLE {role}")


def test_only_the_importer_role_may_open_the_import_clock(db_url: str, api_role: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f"SET ROLE {api_role}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied for function"):
            conn.execute("SELECT import_begin('jira')")
        # even with every table granted, the row import_begin() writes cannot be forged
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="opened by import_begin"):
            conn.execute(
                "INSERT INTO import_transactions (xact_id, source) VALUES (pg_current_xact_id(), 'x')"
            )
        with conn.transaction():
            conn.execute("SELECT set_config('worktrack.event_at', '2020-01-01T00:00:00Z', true)")
            assert conn.execute("SELECT importing(), import_event_time()").fetchone() == (False, None)
        conn.execute("RESET ROLE")
        conn.execute(f"GRANT worktrack_importer TO {api_role}")
        conn.execute(f"SET ROLE {api_role}")
        try:
            with conn.transaction():
                conn.execute(
                    "SELECT import_begin('jira'), set_config('worktrack.event_at', '2020-01-01Z', true)"
                )
                assert conn.execute("SELECT importing(), import_event_time()").fetchone() == (
                    True,
                    datetime(2020, 1, 1, tzinfo=UTC),
                )
            # its own transaction only
            assert conn.execute("SELECT importing()").fetchone() == (False,)
        finally:
            conn.execute("RESET ROLE")
            conn.execute(f"REVOKE worktrack_importer FROM {api_role}")


def test_the_command_prints_the_summary(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["import-jira", str(BOARD), "--board-project", "WT"]) == 0
    out = capsys.readouterr().out
    assert "issues: 8 inserted, 0 updated, 0 unchanged, 3 skipped" in out
    assert "truncated changelog of WT-7 in sprint-101-issues-6.json" in out
