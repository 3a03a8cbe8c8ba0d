"""Saved reports through the ASGI app (the computed sprint report: test_sprint_report.py)."""

from __future__ import annotations

from starlette.testclient import TestClient


def test_saved_reports(client: TestClient) -> None:
    sprint = client.post("/sprints", json={"jira_sprint_id": 701, "name": "R"}).json()
    client.post("/projects", json={"key": "Alpha", "name": "Alpha"})
    made = client.post(
        "/reports",
        json={
            "report_type": "sprint",
            "title": "Sprint R",
            "sprint_id": sprint["id"],
            "project": "alpha",
            "content": {"summary": "ok"},
        },
    )
    assert made.status_code == 201, made.text
    report = made.json()
    assert (report["project"], report["sprint_id"]) == ("Alpha", sprint["id"])
    assert "project_id" not in report
    assert client.get(f"/reports/{report['id']}").json()["content"] == {"summary": "ok"}
    assert [
        (r["title"], r["project"])
        for r in client.get("/reports", params={"sprint_id": sprint["id"]}).json()["items"]
    ] == [("Sprint R", "Alpha")]
    assert (
        client.post("/reports", json={"report_type": "x", "title": "y", "sprint_id": 999999}).status_code
        == 404
    )
    no_project = client.post("/reports", json={"report_type": "x", "title": "y", "project": "nope"})
    assert no_project.status_code == 404
    assert no_project.json()["errors"][0]["field"] == "body.project"
    assert client.get("/reports").json()["items"][0]["id"] == report["id"]  # nothing else was saved
    assert client.delete(f"/reports/{report['id']}").status_code == 204
    assert client.get(f"/reports/{report['id']}").status_code == 404
