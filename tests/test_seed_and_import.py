"""Demo data and the legacy CSV import, on a real database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from service.cli import main
from service.models import EMAIL_PATTERN
from service.seed import seed_demo

COUNTED = [
    "projects",
    "users",
    "epics",
    "features",
    "tasks",
    "task_history",
    "task_dependencies",
    "sprints",
    "project_workstreams",
    "project_sprint_associations",
    "project_sprint_metrics",
    "sprint_analyses",
]


def _counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in COUNTED
        }


def test_the_demo_seeds_once_and_a_second_run_adds_nothing(db_url: str, client: TestClient) -> None:
    seed_demo(db_url, show_progress=False)
    first = _counts(db_url)
    assert first["projects"] == 3 and first["tasks"] == 3000 and first["sprints"] == 10
    assert first["task_dependencies"] > 0 and first["project_sprint_metrics"] > 0
    assert first["task_history"] > first["tasks"]  # creation rows plus the starts of completed tasks
    seed_demo(db_url, show_progress=False)
    assert _counts(db_url) == first

    meta = client.get("/sprints", params={"project": "beacon", "state": "closed"}).json()["items"]
    assert meta and all(sprint["jira_project_key"] == "atlas, beacon" for sprint in meta)
    report = client.get(f"/sprints/{meta[-1]['id']}/report").json()
    assert report["completed"]["points"] > 0
    assert len(report["velocity"]["workstreams"]) == 2  # the meta-board sprint spans two projects
    assert client.get("/projects/atlas/epics").json()["items"][0]["progress"]["tasks"] > 0


def test_seed_demo_command(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["seed", "--demo"]) == 0
    assert "demo data is in place" in capsys.readouterr().out
    assert _counts(db_url)["tasks"] == 3000


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_import_legacy_lands_good_rows_and_reports_bad_ones(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    users = _write(
        tmp_path,
        "users.csv",
        "\n".join(
            [
                "email,username,full_name,jira_account_id,is_active",
                "ann@example.org,ann,Ann Lee,acc-1,true",
                "bob@example.org,bob,,acc-2,false",
                "not-an-email,carl,,,true",
                "ANN@example.org,ann2,Ann Lee,acc-1,true",
                "dan@example.org,dan,,acc-1,true",
            ]
        )
        + "\n",
    )
    sprints = _write(
        tmp_path,
        "sprints.csv",
        "\n".join(
            [
                "jira_sprint_id,name,state,start_date,end_date,goal,jira_board_id,jira_project_key",
                "11,Sprint 11,closed,2026-01-05,2026-01-18,,7,ALPHA",
                '12,Sprint 12,active,2026-01-19,2026-02-01,,7,"ALPHA, BETA"',
                "13,Sprint 13,done,2026-01-19,2026-02-01,,7,ALPHA",
                "14,Sprint 14,future,2026-03-01,2026-02-01,,7,ALPHA",
            ]
        )
        + "\n",
    )
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["import-legacy", "--users", str(users), "--sprints", str(sprints)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{users}: 2 inserted, 1 updated, 2 rejected",
        f"  {users}:4: rejected: email: String should match pattern '{EMAIL_PATTERN}'",
        f"  {users}:6: rejected: a user with this Jira account already exists",
        f"{sprints}: 2 inserted, 0 updated, 2 rejected",
        f"  {sprints}:4: rejected: state: Input should be 'future', 'active' or 'closed'",
        f"  {sprints}:5: rejected: the sprint ends before it starts",
    ]
    with psycopg.connect(db_url) as conn:
        rows: list[Any] = conn.execute("SELECT email, username, is_active FROM users ORDER BY id").fetchall()
        assert rows == [("ann@example.org", "ann2", True), ("bob@example.org", "bob", False)]
        assert conn.execute("SELECT jira_sprint_id, jira_project_key FROM sprints ORDER BY 1").fetchall() == [
            (11, "ALPHA"),
            (12, "ALPHA, BETA"),
        ]

    assert main(["import-legacy", "--users", str(users)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"{users}: 0 inserted, 3 updated, 2 rejected"


def test_import_legacy_refuses_a_file_without_its_columns(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    bad = _write(tmp_path, "users.csv", "mail,name\nx@y.z,x\n")
    assert main(["import-legacy", "--users", str(bad)]) == 1
    assert capsys.readouterr().err.strip() == f"worktrack: error: {bad}: missing column(s): email, username"
    assert main(["import-legacy", "--users", str(tmp_path / "missing.csv")]) == 1
    assert "cannot read" in capsys.readouterr().err
