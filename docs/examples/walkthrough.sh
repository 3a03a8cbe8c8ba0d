#!/usr/bin/env sh
# A tour of the worktrack API with curl: a project, an epic with features, tasks
# with dependencies, filtered queries, claiming and completing work, progress,
# history, and the export. Run it against a server (worktrack serve):
#   WORKTRACK_URL=http://127.0.0.1:8000 WORKTRACK_TOKEN=wt_... sh docs/examples/walkthrough.sh
# (WORKTRACK_TOKEN: a token with the write role on the project, or an admin's.)
set -eu
api="${WORKTRACK_URL:-http://127.0.0.1:8000}"
auth="Authorization: Bearer ${WORKTRACK_TOKEN:-}"
project="${WORKTRACK_PROJECT:-demo-walkthrough}"

call() {  # call METHOD PATH [JSON]: print the response body, fail on an HTTP error
    method=$1 path=$2
    if [ $# -ge 3 ]; then
        curl --silent --show-error --fail-with-body -X "$method" -H "$auth" \
             -H 'Content-Type: application/json' --data "$3" "$api$path"
    else
        curl --silent --show-error --fail-with-body -X "$method" -H "$auth" "$api$path"
    fi
    echo
}

echo "== a project, an epic and two features"
call POST /projects "{\"key\": \"$project\", \"name\": \"Walkthrough\"}"
call POST "/projects/$project/epics" '{"key": "E01", "title": "Search"}'
call POST "/projects/$project/features" '{"key": "E01-F01", "epic": "E01", "title": "Index"}'
call POST "/projects/$project/features" '{"key": "E01-F02", "epic": "E01", "title": "Query"}'

echo "== tasks, in one all-or-nothing batch, and a dependency"
call POST "/projects/$project/tasks/bulk" '[
  {"key": "T-1", "title": "Build the index", "feature": "E01-F01", "priority": 8, "inputs": ["PRD-6"]},
  {"key": "T-2", "title": "Query the index", "feature": "E01-F02", "priority": 9},
  {"key": "T-3", "title": "Write the docs", "feature": "E01-F02", "priority": 3, "agent_type": "writer"}
]'
call PUT "/projects/$project/tasks/T-2/dependencies/T-1"

echo "== filtered queries"
call GET "/projects/$project/tasks?status=pending&priority_min=5"
call GET "/projects/$project/tasks?input=PRD-6"

echo "== an agent claims the next ready task (T-1: T-2 waits for it) and completes it"
call GET "/tasks/next?project=$project"
call POST /tasks/claim "{\"project\": \"$project\", \"agent\": \"agent-1\", \"lease_seconds\": 120}"
call POST "/projects/$project/tasks/T-1/heartbeat" '{"agent": "agent-1", "lease_seconds": 300}'
call POST "/projects/$project/tasks/T-1/status" '{"status": "completed", "actor": "agent-1", "note": "indexed"}'

echo "== progress, history and the export"
call GET "/projects/$project/epics/E01"
call GET "/projects/$project/features/E01-F01"
call GET "/projects/$project/tasks/T-1/history"
call GET "/projects/$project/export"
