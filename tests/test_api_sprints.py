"""The sprint side through the ASGI app: CRUD, the rules the database keeps, and
the computed report checked to the decimal on a crafted sprint."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

PROBLEM = "application/problem+json"


def _post(client: TestClient, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


def test_users(client: TestClient) -> None:
    ann = _post(
        client, "/users", {"email": "Ann@Example.org", "username": "ann", "settings": {"theme": "dark"}}
    )
    assert (ann["email"], ann["is_active"], ann["settings"]) == ("Ann@Example.org", True, {"theme": "dark"})
    again = client.post("/users", json={"email": "ann@example.org", "username": "ann2"})
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "body.email"
    assert client.post("/users", json={"email": "not-an-email", "username": "x"}).status_code == 422
    _post(client, "/users", {"email": "bob@example.org", "username": "bob", "settings": {"theme": "light"}})
    dark = client.get("/users", params={"settings": '{"theme": "dark"}'}).json()["items"]
    assert [u["username"] for u in dark] == ["ann"]
    assert client.get("/users", params={"settings": "dark"}).status_code == 422
    assert client.patch(f"/users/{ann['id']}", json={"full_name": "Ann Lee"}).json()["full_name"] == "Ann Lee"
    assert client.delete(f"/users/{ann['id']}").status_code == 204
    assert client.get(f"/users/{ann['id']}").status_code == 404


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
    assert analysis["project_id"] is None
    over = client.post(
        f"/sprints/{sprint['id']}/analyses",
        json={"analysis_type": "x", "total_story_points": 1, "completed_story_points": 4},
    )
    assert over.status_code == 422  # completed <= total, kept by the database
    assert (
        client.post(
            f"/sprints/{sprint['id']}/analyses", json={"analysis_type": "x", "project": "nope"}
        ).status_code
        == 404
    )
    assert len(client.get(f"/sprints/{sprint['id']}/analyses").json()["items"]) == 1


def test_workstreams_associations_metrics_and_queues(client: TestClient) -> None:
    _post(client, "/projects", {"key": "alpha", "name": "Alpha"})
    _post(client, "/projects", {"key": "beta", "name": "Beta"})
    alpha = _post(client, "/workstreams", {"project": "alpha", "name": "Alpha board", "jira_board_id": 7})
    beta = _post(client, "/workstreams", {"project": "beta", "name": "Beta board"})
    second = client.post("/workstreams", json={"project": "alpha", "name": "Another active one"})
    assert second.status_code == 409
    assert second.json()["detail"] == "the project already has an active workstream"
    assert client.post("/workstreams", json={"project": "nope", "name": "x"}).status_code == 404
    sprint = _post(client, "/sprints", {"jira_sprint_id": 601, "name": "Meta"})
    path = f"/sprints/{sprint['id']}/workstreams"

    assert client.put(f"{path}/{alpha['id']}", json={"association_type": "primary"}).status_code == 201
    assert (
        client.put(f"{path}/{alpha['id']}", json={"association_type": "primary", "priority": 1}).status_code
        == 200
    )
    two_primaries = client.put(f"{path}/{beta['id']}", json={"association_type": "primary"})
    assert two_primaries.status_code == 409
    assert client.put(f"{path}/{beta['id']}", json={"association_type": "secondary"}).status_code == 201
    listed = client.get(path).json()["items"]
    assert [(a["project"], a["association_type"]) for a in listed] == [
        ("alpha", "primary"),
        ("beta", "secondary"),
    ]
    assert [s["name"] for s in client.get("/sprints", params={"project": "beta"}).json()["items"]] == ["Meta"]

    metrics = f"/sprints/{sprint['id']}/metrics"
    _post(
        client, metrics, {"workstream_id": alpha["id"], "story_points_total": 10, "story_points_completed": 3}
    )
    bad = client.post(
        metrics, json={"workstream_id": alpha["id"], "story_points_total": 1, "story_points_completed": 3}
    )
    assert bad.status_code == 422
    client.put(f"{path}/{beta['id']}", json={"association_type": "secondary", "is_active": False})
    inactive = client.post(metrics, json={"workstream_id": beta["id"]})
    assert inactive.status_code == 409
    assert inactive.json()["detail"] == "the workstream takes no active part in this sprint"
    gamma = _post(client, "/sprints", {"jira_sprint_id": 602, "name": "Other"})
    assert (
        client.post(f"/sprints/{gamma['id']}/metrics", json={"workstream_id": alpha["id"]}).status_code == 409
    )
    assert len(client.get(metrics).json()["items"]) == 1

    user = _post(client, "/users", {"email": "dev@example.org", "username": "dev"})
    client.post("/projects/alpha/tasks", json={"key": "T-1", "title": "queued"})
    capacity = client.put(f"/sprints/{sprint['id']}/capacities/{user['id']}", json={"capacity_points": 8})
    assert capacity.status_code == 201
    assert (
        client.put(
            f"/sprints/{sprint['id']}/capacities/{user['id']}",
            json={"capacity_points": 10, "allocated_points": 5},
        ).status_code
        == 200
    )
    assert client.put(f"/sprints/{sprint['id']}/capacities/999999", json={}).status_code == 404
    item = _post(
        client, f"/sprints/{sprint['id']}/queue", {"user_id": user["id"], "project": "alpha", "task": "T-1"}
    )
    assert item["position"] == 1
    assert (
        _post(client, f"/sprints/{sprint['id']}/queue", {"user_id": user["id"], "notes": "review"})[
            "position"
        ]
        == 2
    )
    queue = client.get(f"/sprints/{sprint['id']}/queue").json()["items"]
    assert [(q["position"], q["task"]) for q in queue] == [(1, "T-1"), (2, None)]
    assert (
        client.post(
            f"/sprints/{sprint['id']}/queue", json={"user_id": user["id"], "project": "alpha", "task": "T-9"}
        ).status_code
        == 404
    )

    refused = client.delete(f"/sprints/{sprint['id']}")
    assert refused.status_code == 409  # a sprint with queue items cannot be deleted
    for entry in queue:
        assert client.delete(f"/sprints/{sprint['id']}/queue/{entry['id']}").status_code == 204
    assert client.delete(f"/sprints/{sprint['id']}").status_code == 204
    assert client.get(f"/workstreams/{alpha['id']}").status_code == 200  # workstreams outlive sprints


def test_saved_reports(client: TestClient) -> None:
    sprint = _post(client, "/sprints", {"jira_sprint_id": 701, "name": "R"})
    report = _post(
        client,
        "/reports",
        {
            "report_type": "sprint",
            "title": "Sprint R",
            "sprint_id": sprint["id"],
            "content": {"summary": "ok"},
        },
    )
    assert client.get(f"/reports/{report['id']}").json()["content"] == {"summary": "ok"}
    assert [
        r["title"] for r in client.get("/reports", params={"sprint_id": sprint["id"]}).json()["items"]
    ] == ["Sprint R"]
    assert (
        client.post("/reports", json={"report_type": "x", "title": "y", "sprint_id": 999999}).status_code
        == 404
    )
    assert client.delete(f"/reports/{report['id']}").status_code == 204
    assert client.get(f"/reports/{report['id']}").status_code == 404


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
