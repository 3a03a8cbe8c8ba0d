-- name: workstream_insert :one
-- A workstream of a project named by key; no row when the project does not exist.
WITH added AS (
    INSERT INTO project_workstreams AS w (project_id, name, jira_board_id, jira_board_name, workstream_type,
                                          category, is_active, metadata, timezone)
    SELECT p.id, %(name)s, %(jira_board_id)s, %(jira_board_name)s, %(workstream_type)s, %(category)s,
           %(is_active)s, %(metadata)s, %(timezone)s
      FROM projects p
     WHERE lower(p.key) = lower(%(project)s)
    RETURNING w AS workstream
)
SELECT workstream_json(added.workstream, p.key)::text
  FROM added JOIN projects p ON p.id = (added.workstream).project_id;

-- name: workstream_get :one
SELECT workstream_json(w, p.key)::text
  FROM project_workstreams w JOIN projects p ON p.id = w.project_id
 WHERE w.id = %(id)s;

-- name: workstream_list :one
-- A page of workstreams: of a project (idx_project_workstreams_project), of a
-- board (idx_project_workstreams_jira_board), active or not.
WITH page AS (
    SELECT w.id FROM project_workstreams w
     WHERE w.id > %(after_id)s
       AND (%(project)s::text IS NULL
            OR w.project_id = (SELECT id FROM projects WHERE lower(key) = lower(%(project)s)))
       AND (%(board)s::bigint IS NULL OR w.jira_board_id = %(board)s)
       AND (%(is_active)s::boolean IS NULL OR w.is_active = %(is_active)s)
     ORDER BY w.id
     LIMIT %(limit)s + 1
), numbered AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM page
)
SELECT api_page(
    coalesce(array_to_json(array_agg(workstream_json(w, p.key) ORDER BY n) FILTER (WHERE n <= %(limit)s)),
                      '[]'::json),
    max(api_cursor(w.id::text)) FILTER (WHERE n = %(limit)s AND EXISTS (
                SELECT 1 FROM numbered later WHERE later.n > %(limit)s)))::text
  FROM numbered
  JOIN project_workstreams w ON w.id = numbered.id
  JOIN projects p ON p.id = w.project_id;

-- name: workstream_update :one
WITH changed AS (
    UPDATE project_workstreams w
       SET (name, jira_board_id, jira_board_name, workstream_type, category, is_active, metadata, timezone) =
           (SELECT r.name, r.jira_board_id, r.jira_board_name, r.workstream_type, r.category, r.is_active,
                   r.metadata, r.timezone
              FROM jsonb_populate_record(w, %(patch)s::jsonb) r)
     WHERE w.id = %(id)s
    RETURNING w AS workstream
)
SELECT workstream_json(changed.workstream, p.key)::text
  FROM changed JOIN projects p ON p.id = (changed.workstream).project_id;

-- name: workstream_delete :one
DELETE FROM project_workstreams WHERE id = %(id)s RETURNING id;

-- name: association_upsert :one
-- Put a workstream in a sprint, or change how it takes part. Answers the
-- association and whether it is new; no row when the sprint does not exist.
WITH put AS (
    INSERT INTO project_sprint_associations AS a (sprint_id, workstream_id, association_type,
                                                  expected_story_points, actual_story_points, priority,
                                                  is_active)
    SELECT s.id, %(workstream_id)s, %(association_type)s, %(expected_story_points)s,
           %(actual_story_points)s, %(priority)s, %(is_active)s
      FROM sprints s
     WHERE s.id = %(sprint_id)s
    ON CONFLICT (sprint_id, workstream_id) DO UPDATE
       SET association_type = excluded.association_type,
           expected_story_points = excluded.expected_story_points,
           actual_story_points = excluded.actual_story_points,
           priority = excluded.priority,
           is_active = excluded.is_active
    RETURNING a AS association, (xmax = 0) AS created
)
SELECT sprint_workstream_json(put.association, p.key, w.name)::text, put.created
  FROM put
  JOIN project_workstreams w ON w.id = (put.association).workstream_id
  JOIN projects p ON p.id = w.project_id;

-- name: association_list :one
-- A sprint's workstreams with their project; no row when the sprint does not exist.
SELECT api_page(
    coalesce((SELECT array_to_json(array_agg(sprint_workstream_json(a, p.key, w.name)
                                       ORDER BY a.priority NULLS LAST, a.id))
                         FROM project_sprint_associations a
                         JOIN project_workstreams w ON w.id = a.workstream_id
                         JOIN projects p ON p.id = w.project_id
                        WHERE a.sprint_id = s.id), '[]'::json),
    NULL)::text
  FROM sprints s
 WHERE s.id = %(sprint_id)s;

-- name: association_delete :one
DELETE FROM project_sprint_associations
 WHERE sprint_id = %(sprint_id)s AND workstream_id = %(workstream_id)s
RETURNING id;

-- name: metric_insert :one
-- A snapshot of a workstream in a sprint. Answers it, or none and why: whether the
-- sprint and the workstream were found. The database refuses a snapshot without an
-- active association (trg_project_sprint_metrics_active_association).
WITH found AS (
    SELECT s.id AS sprint_id, w.id AS workstream_id
      FROM (SELECT 1) one
      LEFT JOIN sprints s ON s.id = %(sprint_id)s
      LEFT JOIN project_workstreams w ON w.id = %(workstream_id)s
), added AS (
    INSERT INTO project_sprint_metrics AS m (
        sprint_id, workstream_id, snapshot_at, issues_total, issues_completed, issues_blocked, bugs,
        story_points_total, story_points_completed, completion_percent, velocity, burndown_rate,
        scope_added_points, scope_removed_points, team_size, capacity_utilization,
        discipline_breakdown, status_breakdown, metadata)
    SELECT f.sprint_id, f.workstream_id, coalesce(%(snapshot_at)s, now()), %(issues_total)s,
           %(issues_completed)s, %(issues_blocked)s, %(bugs)s, %(story_points_total)s,
           %(story_points_completed)s, %(completion_percent)s, %(velocity)s, %(burndown_rate)s,
           %(scope_added_points)s, %(scope_removed_points)s, %(team_size)s, %(capacity_utilization)s,
           %(discipline_breakdown)s, %(status_breakdown)s, %(metadata)s
      FROM found f
     WHERE f.sprint_id IS NOT NULL AND f.workstream_id IS NOT NULL
    RETURNING m AS metric
)
SELECT (SELECT sprint_metric_json(added.metric)::text FROM added),
       f.sprint_id IS NOT NULL AS sprint_found,
       f.workstream_id IS NOT NULL AS workstream_found
  FROM found f;

-- name: metric_list :one
-- A sprint's snapshots in time order, optionally of one workstream; no row when
-- the sprint does not exist.
SELECT api_page(
    coalesce((SELECT array_to_json(array_agg(sprint_metric_json(m) ORDER BY m.snapshot_at, m.id))
                         FROM project_sprint_metrics m
                        WHERE m.sprint_id = s.id
                          AND (%(workstream_id)s::bigint IS NULL OR m.workstream_id = %(workstream_id)s)),
                      '[]'::json),
    NULL)::text
  FROM sprints s
 WHERE s.id = %(sprint_id)s;
