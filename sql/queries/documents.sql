-- The documents the API answers with, each shape defined once. A fragment is a
-- SELECT over a row set the including statement names (`task_rows`,
-- `epic_rows`, `feature_rows`: rows with the table's columns, from a CTE that
-- reads them, or from the RETURNING of the write that just made them), and
-- answers (project_id, id, doc). The single-row and the multi-row queries (get,
-- page, create, status change, claim, export) all include the same fragment, so
-- a shape cannot drift between them, and every document is built set-based:
-- joins, and one lateral aggregate per kind of edge, no function called per row.
-- A distributed planner can push all of it down to the project's shard (every
-- join carries project_id; projects is small enough to be a reference table).
-- row_to_json prints no spaces between keys and values, so pages carry no
-- bytes they need not.

-- name: task_document :fragment
-- A task: its keys (project, epic, feature, the tasks it depends on, waits on,
-- is related to, was discovered from), never ids of work items.
SELECT r.project_id, r.id, row_to_json(d)::text AS doc
  FROM task_rows r
  JOIN projects p ON p.id = r.project_id
  LEFT JOIN features f ON f.project_id = r.project_id AND f.id = r.feature_id
  LEFT JOIN epics e ON e.project_id = f.project_id AND e.id = f.epic_id
  LEFT JOIN LATERAL (
        SELECT array_agg(o.key ORDER BY o.key) AS depends_on,
               -- What the task still waits for: dependencies neither completed nor cancelled.
               array_agg(o.key ORDER BY o.key) FILTER (WHERE NOT dep.is_satisfied) AS waiting_on
          FROM task_dependencies dep
          JOIN tasks o ON o.project_id = dep.project_id AND o.id = dep.depends_on_id
         WHERE dep.project_id = r.project_id AND dep.task_id = r.id) deps ON true
  LEFT JOIN LATERAL (
        -- related links are stored in both directions: one probe finds them all.
        SELECT array_agg(o.key ORDER BY o.key) FILTER (WHERE l.kind = 'related') AS related,
               array_agg(o.key ORDER BY o.key) FILTER (WHERE l.kind = 'discovered_from') AS discovered_from
          FROM task_links l
          JOIN tasks o ON o.project_id = l.project_id AND o.id = l.linked_task_id
         WHERE l.project_id = r.project_id AND l.task_id = r.id) links ON true
 CROSS JOIN LATERAL (
        SELECT r.key, p.key AS project, e.key AS epic, f.key AS feature, r.sprint_id AS sprint,
               r.title, r.description, r.status, r.priority, r.agent_type, r.generator_name,
               r.assignee_id AS assignee, r.claimed_by, r.claimed_at, r.lease_expires_at, r.attempts,
               r.inputs, r.expected_outputs, r.context_notes, r.completion_notes, r.blocked_reason,
               r.file_path, r.story_points, r.metadata,
               coalesce(deps.depends_on, '{}') AS depends_on,
               coalesce(deps.waiting_on, '{}') AS waiting_on,
               r.evidence,
               coalesce(links.related, '{}') AS related,
               coalesce(links.discovered_from, '{}') AS discovered_from,
               r.created_at, r.updated_at, r.started_at, r.completed_at) d

-- name: epic_document :fragment
-- An epic, with how many features it has and the progress of their tasks.
SELECT r.project_id, r.id, row_to_json(d)::text AS doc
  FROM epic_rows r
  JOIN projects p ON p.id = r.project_id
  LEFT JOIN LATERAL (
        SELECT count(DISTINCT f.id) AS features,
               count(t.id) FILTER (WHERE t.status <> 'cancelled') AS counted,
               count(t.id) FILTER (WHERE t.status = 'completed') AS completed
          FROM features f
          LEFT JOIN tasks t ON t.project_id = f.project_id AND t.feature_id = f.id
         WHERE f.project_id = r.project_id AND f.epic_id = r.id) c ON true
 CROSS JOIN LATERAL (
        SELECT r.key, p.key AS project, r.title, r.description, r.metadata, c.features,
               progress_json(c.counted, c.completed) AS progress, r.created_at, r.updated_at) d

-- name: feature_document :fragment
-- A feature, with the progress of its tasks.
SELECT r.project_id, r.id, row_to_json(d)::text AS doc
  FROM feature_rows r
  JOIN projects p ON p.id = r.project_id
  JOIN epics e ON e.project_id = r.project_id AND e.id = r.epic_id
  LEFT JOIN LATERAL (
        SELECT count(*) FILTER (WHERE t.status <> 'cancelled') AS counted,
               count(*) FILTER (WHERE t.status = 'completed') AS completed
          FROM tasks t
         WHERE t.project_id = r.project_id AND t.feature_id = r.id) c ON true
 CROSS JOIN LATERAL (
        SELECT r.key, p.key AS project, e.key AS epic, r.title, r.description, r.metadata,
               progress_json(c.counted, c.completed) AS progress, r.created_at, r.updated_at) d
