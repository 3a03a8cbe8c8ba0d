"""Sprints and their analyses through the ASGI app: CRUD, the rules the database
keeps, documents that name their columns, and the report of a legacy sprint."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

PROBLEM = "application/problem+json"


def _post(client: TestClient, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


def test_sprints_and_their_rules(client: TestClient) -> None:
    sprint = _post(
        client,
        "/sprints",
        {
            "jira_sprint_id": 501,
            "name": "S1",
            "state": "active",
            "start_date": "2026-11-02",
            "end_date": "2026-11-13",
            "jira_board_id": 7,
        },
    )
    assert client.post("/sprints", json={"jira_sprint_id": 501, "name": "dup"}).status_code == 409
    backwards = client.post(
        "/sprints",
        json={"jira_sprint_id": 502, "name": "S2", "start_date": "2026-11-13", "end_date": "2026-11-02"},
    )
    assert backwards.status_code == 422
    assert backwards.json()["detail"] == "the sprint ends before it starts"
    assert (
        client.post("/sprints", json={"jira_sprint_id": 503, "name": "S3", "state": "done"}).status_code
        == 422
    )
    _post(client, "/sprints", {"jira_sprint_id": 504, "name": "S4", "state": "closed", "jira_board_id": 8})
    assert [s["name"] for s in client.get("/sprints", params={"state": "active"}).json()["items"]] == ["S1"]
    assert [s["name"] for s in client.get("/sprints", params={"board": 8}).json()["items"]] == ["S4"]
    assert client.patch(f"/sprints/{sprint['id']}", json={"goal": "ship"}).json()["goal"] == "ship"
    assert client.get("/sprints/999999").status_code == 404
    assert client.get("/sprints/not-a-number").status_code == 404

    analysis = _post(
        client,
        f"/sprints/{sprint['id']}/analyses",
        {"analysis_type": "velocity", "total_story_points": 10, "completed_story_points": 4},
    )
    assert analysis["project"] is None
    over = client.post(
        f"/sprints/{sprint['id']}/analyses",
        json={"analysis_type": "x", "total_story_points": 1, "completed_story_points": 4},
    )
    assert over.status_code == 422  # completed <= total, kept by the database
    unknown = client.post(f"/sprints/{sprint['id']}/analyses", json={"analysis_type": "x", "project": "nope"})
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["field"] == "body.project"
    no_sprint = client.post("/sprints/999999/analyses", json={"analysis_type": "x"})
    assert no_sprint.status_code == 404
    assert no_sprint.json()["detail"] == "sprint 999999 does not exist"
    _post(client, "/projects", {"key": "Alpha", "name": "Alpha"})
    of_alpha = _post(client, f"/sprints/{sprint['id']}/analyses", {"analysis_type": "x", "project": "alpha"})
    assert of_alpha["project"] == "Alpha"  # the key as stored, never the project's id
    assert "project_id" not in of_alpha
    assert [a["project"] for a in client.get(f"/sprints/{sprint['id']}/analyses").json()["items"]] == [
        None,
        "Alpha",
    ]
    assert len(client.get(f"/sprints/{sprint['id']}/analyses").json()["items"]) == 2


def test_a_sprint_state_changes_only_by_start_and_close(client: TestClient) -> None:
    sprint = _post(client, "/sprints", {"jira_sprint_id": 510, "name": "S"})
    moved = client.patch(f"/sprints/{sprint['id']}", json={"state": "active"})
    assert moved.status_code == 422
    assert "POST /sprints/{id}/start" in moved.json()["errors"][0]["message"]
    nulled = client.patch(f"/sprints/{sprint['id']}", json={"name": None})
    assert nulled.json()["errors"] == [{"field": "body.name", "message": "may be left out but not null"}]
    started = client.post(f"/sprints/{sprint['id']}/start")  # no body: start now
    assert started.status_code == 200, started.text
    assert started.json()["state"] == "active" and started.json()["activated_at"] is not None


SPRINT_SIDE_TABLES = (
    "users",
    "sprints",
    "sprint_analyses",
    "project_workstreams",
    "project_sprint_associations",
    "project_sprint_metrics",
    "reports",
    "team_capacities",
    "sprint_queue_items",
)


def test_a_new_column_shows_in_no_document(client: TestClient, db_url: str) -> None:
    """The documents name their columns: a column added later stays out of every answer."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        for table in SPRINT_SIDE_TABLES:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN leaked text DEFAULT 'leaked'")
    _post(client, "/projects", {"key": "alpha", "name": "Alpha"})
    user = _post(client, "/users", {"email": "a@example.org", "username": "a"})
    sprint = _post(client, "/sprints", {"jira_sprint_id": 1, "name": "S"})["id"]
    workstream = _post(client, "/workstreams", {"project": "alpha", "name": "W"})["id"]
    answers = [
        client.get(f"/users/{user['id']}"),
        client.get("/users"),
        client.get(f"/sprints/{sprint}"),
        client.get("/sprints"),
        client.post(f"/sprints/{sprint}/analyses", json={"analysis_type": "x", "project": "alpha"}),
        client.get(f"/sprints/{sprint}/analyses"),
        client.get(f"/workstreams/{workstream}"),
        client.get("/workstreams"),
        client.put(f"/sprints/{sprint}/workstreams/{workstream}", json={}),
        client.get(f"/sprints/{sprint}/workstreams"),
        client.post(f"/sprints/{sprint}/metrics", json={"workstream_id": workstream}),
        client.get(f"/sprints/{sprint}/metrics"),
        client.post("/reports", json={"report_type": "x", "title": "t", "project": "alpha"}),
        client.get("/reports"),
        client.put(f"/sprints/{sprint}/capacities/{user['id']}", json={}),
        client.get(f"/sprints/{sprint}/capacities"),
        client.post(f"/sprints/{sprint}/queue", json={"user_id": user["id"], "notes": "n"}),
        client.get(f"/sprints/{sprint}/queue"),
        client.post(f"/sprints/{sprint}/start"),
    ]
    for answer in answers:
        assert answer.status_code in (200, 201), answer.text
        assert "leaked" not in answer.text, answer.request.url


@pytest.fixture
def legacy_sprint(client: TestClient) -> int:
    """Sprint S3 (2026-11-02 .. 11-06) of workstream W (project alpha), known only
    through metric snapshots, after closed sprints S1 and S2 whose last snapshots
    completed 20 and 30 points."""
    _post(client, "/projects", {"key": "alpha", "name": "Alpha"})
    workstream = _post(client, "/workstreams", {"project": "alpha", "name": "W"})["id"]
    ids: dict[str, int] = {}
    for jira, name, state, start, end in [
        (1, "S1", "closed", "2026-10-01", "2026-10-14"),
        (2, "S2", "closed", "2026-10-15", "2026-10-28"),
        (3, "S3", "active", "2026-11-02", "2026-11-06"),
    ]:
        ids[name] = _post(
            client,
            "/sprints",
            {"jira_sprint_id": jira, "name": name, "state": state, "start_date": start, "end_date": end},
        )["id"]
        client.put(f"/sprints/{ids[name]}/workstreams/{workstream}", json={"association_type": "primary"})
    for name, completed in (("S1", 20), ("S2", 30)):
        for at, done in (("10-02", 0), ("10-28", completed)):  # only the last snapshot counts
            month_day = at if name == "S2" or at != "10-28" else "10-14"
            _post(
                client,
                f"/sprints/{ids[name]}/metrics",
                {
                    "workstream_id": workstream,
                    "snapshot_at": f"2026-{month_day}T12:00:00Z",
                    "story_points_total": 40,
                    "story_points_completed": done,
                },
            )
    for at, total, done in (
        ("2026-11-02T18:00:00Z", 8, 0),
        ("2026-11-04T18:00:00Z", 9, 5),
        ("2026-11-06T18:00:00Z", 7, 7),
    ):
        _post(
            client,
            f"/sprints/{ids['S3']}/metrics",
            {
                "workstream_id": workstream,
                "snapshot_at": at,
                "story_points_total": total,
                "story_points_completed": done,
            },
        )
    return ids["S3"]


def test_a_legacy_sprint_report_from_its_snapshots(client: TestClient, legacy_sprint: int) -> None:
    response = client.get(f"/sprints/{legacy_sprint}/report")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["sprint"]["name"] == "S3"
    commitment, completed = report["commitment"], report["completed"]
    assert (commitment["points"], commitment["issues"], commitment["source"]) == (8, 0, "metric snapshots")
    assert (completed["points"], completed["issues"], completed["source"]) == (7, 0, "metric snapshots")
    assert report["completion"]["of_commitment_percent"] == 87.5
    assert report["completion"]["of_final_scope_percent"] == 100
    assert report["completion"]["final_scope_points"] == 7
    assert (report["carry_over"]["points"], report["carry_over"]["tasks"]) == (0, [])
    assert report["burndown_source"] == "metric snapshots"
    assert [
        (
            d["day"],
            d["scope_points"],
            d["completed_points"],
            d["remaining_points"],
            d["ideal_remaining_points"],
        )
        for d in report["burndown"]
    ] == [
        ("2026-11-02", 8, 0, 8, 8),
        ("2026-11-03", 8, 0, 8, 6),
        ("2026-11-04", 9, 5, 4, 4),
        ("2026-11-05", 9, 5, 4, 2),
        ("2026-11-06", 7, 7, 0, 0),
    ]
    (velocity,) = report["velocity"]["workstreams"]
    assert (velocity["mean_points"], velocity["stddev_points"], velocity["sprints_counted"]) == (25, 7.07, 2)
    assert [(s["name"], s["source"]) for s in velocity["sprints"]] == [
        ("S2", "metric snapshots"),
        ("S1", "metric snapshots"),
    ]
    assert report["previous_sprint"]["name"] == "S2"
    assert (
        report["previous_sprint"]["completed_points"],
        report["previous_sprint"]["this_sprint_completed_points"],
    ) == (30, 7)
    one = client.get(f"/sprints/{legacy_sprint}/report", params={"velocity_sprints": 1}).json()
    assert one["velocity"]["workstreams"][0]["mean_points"] == 30
    assert client.get("/sprints/999999/report").status_code == 404
    assert client.get(f"/sprints/{legacy_sprint}/report", params={"velocity_sprints": 0}).status_code == 422
