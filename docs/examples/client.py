"""A tour of the worktrack API from Python: a project, an epic with features, tasks
with dependencies, filtered queries, claiming and completing work, progress,
history, and the export. Run it against a server (worktrack serve):

    WORKTRACK_URL=http://127.0.0.1:8000 WORKTRACK_TOKEN=wt_... python docs/examples/client.py
"""

from __future__ import annotations

import os
import sys
from typing import Any

try:
    import httpx
except ImportError:  # the httpx2 distribution installs the same client under this name
    import httpx2 as httpx  # type: ignore[no-redef]


def main() -> int:
    project = os.environ.get("WORKTRACK_PROJECT", "demo-python")
    token = os.environ.get("WORKTRACK_TOKEN", "")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    base_url = os.environ.get("WORKTRACK_URL", "http://127.0.0.1:8000")
    with httpx.Client(base_url=base_url, headers=headers, timeout=10) as api:

        def call(method: str, path: str, body: Any = None) -> Any:
            response = api.request(method, path, json=body)
            if response.status_code >= 400:  # problem+json: title, detail, and the fields at fault
                raise SystemExit(f"{method} {path}: {response.status_code} {response.json()['detail']}")
            return response.json() if response.content else None

        call("POST", "/projects", {"key": project, "name": "Python tour"})
        call("POST", f"/projects/{project}/epics", {"key": "E01", "title": "Search"})
        for key, title in (("E01-F01", "Index"), ("E01-F02", "Query")):
            call("POST", f"/projects/{project}/features", {"key": key, "epic": "E01", "title": title})
        call(
            "POST",
            f"/projects/{project}/tasks/bulk",
            [
                {
                    "key": "T-1",
                    "title": "Build the index",
                    "feature": "E01-F01",
                    "priority": 8,
                    "inputs": ["PRD-6"],
                },
                {"key": "T-2", "title": "Query the index", "feature": "E01-F02", "priority": 9},
                {"key": "T-3", "title": "Write the docs", "feature": "E01-F02", "priority": 3},
            ],
        )
        call("PUT", f"/projects/{project}/tasks/T-2/dependencies/T-1")

        pending = api.get(
            f"/projects/{project}/tasks", params={"status": "pending", "priority_min": 5}
        ).json()
        print("pending, priority >= 5:", [task["key"] for task in pending["items"]])

        # Work the queue: claim, complete, until nothing is ready.
        while True:
            response = api.post("/tasks/claim", json={"project": project, "agent": "python-agent"})
            if response.status_code == 204:
                break
            task = response.json()
            print(f"claimed {task['key']} (priority {task['priority']}, waits for {task['depends_on']})")
            call(
                "POST",
                f"/projects/{project}/tasks/{task['key']}/status",
                {"status": "completed", "actor": "python-agent", "note": "done"},
            )

        epic = call("GET", f"/projects/{project}/epics/E01")
        print("epic progress:", epic["progress"])
        history = call("GET", f"/projects/{project}/tasks/T-2/history")
        print("T-2 history:", [(h["from_status"], h["to_status"], h["actor"]) for h in history["items"]])
        export = call("GET", f"/projects/{project}/export")
        print(f"export: {len(export['tasks'])} tasks, {len(export['history'])} history rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
