"""The rules work-item statements keep so that they can be distributed by project
(Citus, work-item tables distributed by project_id), checked on plain PostgreSQL:
every statement names its project by a project_id value, writes return no
function results, documents are built set-based; and the project cache behind
them, the named-query loader's result kinds, and the list page's index."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import psycopg
import pytest
from psycopg import sql
from starlette.testclient import TestClient

from service import db, queries
from service.errors import NotFound
from service.queries import projects, tasks

WORK_ITEM_TABLES = (
    "epics",
    "features",
    "tasks",
    "task_history",
    "task_dependencies",
    "task_links",
    "sprint_membership_events",
)
_TOUCHES = re.compile(
    r"\b(?:FROM|JOIN|UPDATE|INTO|USING|TABLE)\s+(?:ONLY\s+)?(" + "|".join(WORK_ITEM_TABLES) + r")\b",
    re.IGNORECASE,
)
_PREDICATE = "project_id = %(project_id)s"

# Named queries that touch work items of more than one project, and why.
CROSS_PROJECT = {
    ("tasks", "task_list_all"): "GET /tasks lists tasks across projects",
    ("maintenance", "projects_with_expired_leases"): "finds which projects have leases to reclaim",
    ("report", "sprint_report"): "a sprint's tasks may belong to several projects",
    ("sprint_queue_items", "sprint_queue_item_insert"): "a person's sprint queue holds tasks of any project",
    ("sprint_queue_items", "sprint_queue_item_list"): "a person's sprint queue holds tasks of any project",
    ("tokens", "sprint_visible"): "a sprint is visible through any of the token's projects",
    ("seed", "seed_epics_and_features"): "the demo data set, loaded once into an empty database",
    ("seed", "seed_sprint_lifecycle"): "the demo data set, loaded once into an empty database",
    ("seed", "seed_dependencies"): "the demo data set, loaded once into an empty database",
    ("seed", "seed_metrics"): "the demo data set, loaded once into an empty database",
}


def _named_queries() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted(queries.queries_dir().glob("*.sql")):
        if path.stem == queries.DOCUMENTS:
            continue
        for name, query in queries.load(path.stem).items():
            found.append((path.stem, name, query.as_string(None)))
    return found


def _inserts_project_id_value(text: str) -> bool:
    """An INSERT whose project_id is the value itself (a distributed planner routes it)."""
    return bool(re.search(r"(VALUES|SELECT)\s*\(?\s*%\(project_id\)s", text))


def test_every_work_item_statement_is_filtered_by_a_project_id_value() -> None:
    unfiltered = [
        (area, name)
        for area, name, text in _named_queries()
        if _TOUCHES.search(text)
        and _PREDICATE not in text
        and not _inserts_project_id_value(text)
        and (area, name) not in CROSS_PROJECT
    ]
    assert unfiltered == []


def test_the_cross_project_list_names_only_queries_that_exist_and_need_it() -> None:
    named = {(area, name): text for area, name, text in _named_queries()}
    for entry, reason in CROSS_PROJECT.items():
        assert entry in named, entry
        assert _TOUCHES.search(named[entry]), entry
        assert _PREDICATE not in named[entry], f"{entry} is filtered by project: take it off the list"
        assert reason


_RETURNING = re.compile(r"\bRETURNING\b(.*?)(?:\)\s*(?:,|SELECT)|$)", re.IGNORECASE | re.DOTALL)
_WRITE = re.compile(r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)", re.IGNORECASE)


def test_work_item_writes_return_columns_never_function_results() -> None:
    """A distributed write evaluates RETURNING on the shard: only columns, no STABLE
    or VOLATILE function (the documents are built from the returned rows)."""
    offending = []
    for area, name, text in _named_queries():
        if area == "seed" or not any(table in WORK_ITEM_TABLES for _, table in _WRITE.findall(text)):
            continue
        for returned in _RETURNING.findall(text):
            if re.search(r"\w\s*\(", returned):
                offending.append((area, name, returned.strip()))
    assert offending == []


def test_no_named_query_builds_a_document_with_a_per_row_function() -> None:
    per_row = re.compile(r"\b(task_json|epic_json|feature_json)\s*\(")
    assert [(area, name) for area, name, text in _named_queries() if per_row.search(text)] == []


def test_each_document_shape_is_defined_once_and_included_by_the_single_and_multi_row_queries() -> None:
    shared = queries.fragments((queries.queries_dir() / "documents.sql").read_text(encoding="utf-8"))
    fragment = shared["task_document"]
    including = {(area, name) for area, name, text in _named_queries() if fragment in text}
    for query in [
        ("tasks", "task_get"),
        ("tasks", "task_list"),
        ("tasks", "task_list_status"),
        ("tasks", "task_list_all"),
        ("tasks", "task_insert_many"),
        ("tasks", "task_set_status"),
        ("queue", "task_claim_next"),
        ("queue", "task_claim_next_any"),
        ("projects", "project_export_tasks"),
    ]:
        assert query in including, query


# --- the loader -------------------------------------------------------------------


def test_the_loader_refuses_a_query_without_a_result_kind() -> None:
    with pytest.raises(ValueError, match="needs a kind"):
        queries.parse_queries("-- name: q\nSELECT 1;\n")


def test_the_loader_includes_fragments_and_keeps_them_out_of_the_queries() -> None:
    loaded = queries.parse_queries(
        "-- name: shape :fragment\nSELECT 1 AS one\n\n"
        "-- name: q :one\nWITH x AS ({{shape}}) SELECT one FROM x;\n"
    )
    assert list(loaded) == ["q"]
    assert loaded["q"].kind == "one"
    assert loaded["q"].as_string(None) == "WITH x AS (SELECT 1 AS one) SELECT one FROM x"
    with pytest.raises(ValueError, match="no fragment 'missing'"):
        queries.parse_queries("-- name: q :one\nSELECT {{missing}};\n")


def test_the_fetch_helpers_read_a_query_only_as_its_declared_kind(db_url: str) -> None:
    many = queries.parse_queries("-- name: numbers :many\nSELECT g FROM generate_series(1, 3) g;\n")[
        "numbers"
    ]
    one = queries.parse_queries("-- name: number :one\nSELECT 7;\n")["number"]

    async def run() -> None:
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            assert await db.fetch_all(conn, many) == [(1,), (2,), (3,)]
            assert await db.fetch_value(conn, one) == 7
            with pytest.raises(TypeError, match="declared :many, read here as :one"):
                await db.fetch_value(conn, many)
            with pytest.raises(TypeError, match="declared :one, read here as :many"):
                await db.fetch_all(conn, one)

    asyncio.run(run())


# --- the project cache --------------------------------------------------------------


def test_a_stale_project_id_answers_project_missing_then_is_resolved_again(
    client: TestClient, db_url: str
) -> None:
    assert client.post("/projects", json={"key": "alpha", "name": "Alpha"}).status_code == 201
    assert client.post("/projects/alpha/tasks", json={"key": "T-1", "title": "first"}).status_code == 201
    assert client.get("/projects/alpha/tasks/T-1").json()["title"] == "first"  # the id is cached now
    with psycopg.connect(db_url, autocommit=True) as other:  # behind the process's back
        old_id = other.execute("SELECT id FROM projects WHERE key = 'alpha'").fetchone()
        other.execute("DELETE FROM projects WHERE key = 'alpha'")
        (new_id,) = other.execute(
            "INSERT INTO projects (key, name) VALUES ('alpha', 'Alpha again') RETURNING id"
        ).fetchone()  # type: ignore[misc]
        assert (new_id,) != old_id
        other.execute("INSERT INTO tasks (project_id, key, title) VALUES (%s, 'T-1', 'second')", (new_id,))
    # The statement finds the cached id no longer belongs to the key, resolves it again
    # and answers from the project that now has the key.
    response = client.get("/projects/alpha/tasks/T-1")
    assert response.status_code == 200, response.text
    assert response.json()["title"] == "second"
    with psycopg.connect(db_url, autocommit=True) as other:
        other.execute("DELETE FROM projects WHERE key = 'alpha'")
    response = client.get("/projects/alpha/tasks/T-1")
    assert response.status_code == 404
    assert response.json()["detail"] == "project 'alpha' does not exist"
    created = client.post("/projects/alpha/tasks", json={"key": "T-2", "title": "x"})
    assert created.status_code == 404
    assert created.json()["detail"] == "project 'alpha' does not exist"


def test_a_stale_id_changes_nothing_in_the_project_that_had_it(db_url: str) -> None:
    """A write run with a stale id finds the key no longer matches, so it writes
    nothing under that id; the retry writes into the project the key names now."""

    async def run() -> None:
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            await conn.execute("INSERT INTO projects (key, name) VALUES ('ALPHA', 'a'), ('BETA', 'b')")
            beta = await projects.project_id(conn, "BETA")
            assert beta is not None
            # Say the cache wrongly holds beta's id for alpha: nothing is written into beta.
            projects._IDS[projects.project_key(conn, "ALPHA")] = beta
            await tasks.insert_many(conn, project="ALPHA", tasks=[_task("T-1")])
            rows = await (
                await conn.execute("SELECT p.key FROM tasks t JOIN projects p ON p.id = t.project_id")
            ).fetchall()
            assert rows == [("ALPHA",)]
            with pytest.raises(NotFound, match="project 'GAMMA' does not exist"):
                await tasks.get(conn, project="GAMMA", key="T-1")

    asyncio.run(run())


def _task(key: str) -> dict[str, Any]:
    unset = ["description", "agent_type", "generator_name", "context_notes", "completion_notes",
             "blocked_reason", "file_path", "feature", "sprint", "assignee", "story_points"]  # fmt: skip
    return {
        "key": key, "title": "t", "status": "pending", "priority": 5, "inputs": [],
        "expected_outputs": [], "metadata": {}, **dict.fromkeys(unset),
    }  # fmt: skip


# --- why nothing was found, from one statement ----------------------------------------


def test_a_refused_batch_names_every_unknown_feature_and_inserts_nothing(client: TestClient) -> None:
    client.post("/projects", json={"key": "alpha", "name": "Alpha"})
    client.post("/projects/alpha/epics", json={"key": "E01", "title": "Epic"})
    client.post("/projects/alpha/features", json={"key": "E01-F01", "epic": "E01", "title": "F"})
    response = client.post(
        "/projects/alpha/tasks/bulk",
        json=[
            {"key": "T-1", "title": "a", "feature": "E01-F01"},
            {"key": "T-2", "title": "b", "feature": "E09-F01"},
            {"key": "T-3", "title": "c", "feature": "E08-F01"},
            {"key": "T-4", "title": "d", "feature": "E09-F01"},
        ],
    )
    assert response.status_code == 404, response.text
    assert response.json()["errors"] == [
        {"field": "body.1.feature", "message": "no feature 'E09-F01'"},
        {"field": "body.2.feature", "message": "no feature 'E08-F01'"},
        {"field": "body.3.feature", "message": "no feature 'E09-F01'"},
    ]
    assert client.get("/projects/alpha/tasks").json()["items"] == []


def test_a_patch_naming_an_unknown_feature_changes_nothing(client: TestClient) -> None:
    client.post("/projects", json={"key": "alpha", "name": "Alpha"})
    client.post("/projects/alpha/tasks", json={"key": "T-1", "title": "before"})
    response = client.patch("/projects/alpha/tasks/T-1", json={"title": "after", "feature": "E09-F01"})
    assert response.status_code == 404, response.text
    assert response.json()["errors"][0]["field"] == "body.feature"
    assert client.get("/projects/alpha/tasks/T-1").json()["title"] == "before"
    missing = client.patch("/projects/alpha/tasks/T-9", json={"feature": "E09-F01"})
    assert missing.status_code == 404
    assert missing.json()["detail"] == "task 'T-9' does not exist in project 'alpha'"


# --- the list page's index ------------------------------------------------------------


def test_a_page_of_one_status_is_read_in_order_from_the_page_index(conn: psycopg.Connection[Any]) -> None:
    conn.execute("INSERT INTO projects (key, name) SELECT 'P' || g, 'P' FROM generate_series(1, 4) g")
    conn.execute(
        """
        INSERT INTO tasks (project_id, key, title, status)
        SELECT p.id, 'T-' || g, 't', (ARRAY['pending', 'blocked', 'completed', 'cancelled'])[1 + g % 4]
          FROM projects p CROSS JOIN generate_series(1, 5000) g
        """
    )
    conn.execute("ANALYZE tasks")
    (project_id,) = conn.execute("SELECT id FROM projects WHERE key = 'P2'").fetchone()  # type: ignore[misc]
    params = {**tasks.Filters(statuses=["pending"]).params(), "project_id": project_id, "project": "P2"}
    loaded = queries.load("tasks")
    for name in ("task_list", "task_list_status"):  # filtered page, and the one-status page
        (plan,) = conn.execute(  # type: ignore[misc]
            sql.SQL("EXPLAIN (FORMAT JSON) ") + loaded[name], params, prepare=False
        ).fetchone()
        path = _path_to(plan[0]["Plan"], "idx_tasks_project_status_id")
        assert path, (name, plan)
        # The page's rows come from the index in id order and the Limit stops the scan:
        # nothing sorts the project's rows of that status (the 51 kept may be sorted
        # again later, when the documents are put in order).
        kinds = [node["Node Type"] for node in path]
        assert "Limit" in kinds, (name, kinds)
        below_limit = kinds[len(kinds) - 1 - kinds[::-1].index("Limit") :]
        assert "Sort" not in below_limit and "Incremental Sort" not in below_limit, (name, kinds)


def _path_to(node: dict[str, Any], index: str) -> list[dict[str, Any]]:
    """The plan nodes from `node` down to the scan of `index` (empty: not used)."""
    if node.get("Index Name") == index:
        return [node]
    for child in node.get("Plans", []):
        found = _path_to(child, index)
        if found:
            return [node, *found]
    return []


def test_a_page_of_one_status_and_a_filtered_one_are_the_same(client: TestClient) -> None:
    client.post("/projects", json={"key": "alpha", "name": "Alpha"})
    client.post(
        "/projects/alpha/tasks/bulk",
        json=[{"key": f"T-{n}", "title": "t", "priority": 1 + n % 3} for n in range(7)],
    )
    client.post("/projects/alpha/tasks/T-3/status", json={"status": "cancelled"})
    one = client.get("/projects/alpha/tasks", params={"status": "pending", "limit": 4}).json()
    filtered = client.get(
        "/projects/alpha/tasks",
        params={"status": "pending", "priority_min": 1, "priority_max": 9, "limit": 4},
    ).json()
    assert [t["key"] for t in one["items"]] == ["T-0", "T-1", "T-2", "T-4"]
    assert one["items"] == filtered["items"]
    rest = client.get("/projects/alpha/tasks", params={"status": "pending", "after": one["next"]}).json()
    assert [t["key"] for t in rest["items"]] == ["T-5", "T-6"] and rest["next"] is None
