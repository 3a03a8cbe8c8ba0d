-- name: workstream_insert :one
-- A workstream of a project named by key; no row when the project does not exist.
INSERT INTO project_workstreams AS w (project_id, name, jira_board_id, jira_board_name, workstream_type,
                                      category, is_active, metadata, timezone)
SELECT p.id, %(name)s, %(jira_board_id)s, %(jira_board_name)s, %(workstream_type)s, %(category)s,
       %(is_active)s, %(metadata)s, %(timezone)s
  FROM projects p
 WHERE lower(p.key) = lower(%(project)s)
RETURNING row_to_json(w)::text;

-- name: workstream_get :one
SELECT row_to_json(w)::text FROM project_workstreams w WHERE w.id = %(id)s;

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
SELECT json_build_object(
    'items', coalesce(json_agg(row_to_json(w) ORDER BY n) FILTER (WHERE n <= %(limit)s), '[]'::json),
    'next', max(api_cursor(w.id::text)) FILTER (WHERE n = %(limit)s AND EXISTS (
                SELECT 1 FROM numbered later WHERE later.n > %(limit)s)))::text
  FROM numbered JOIN project_workstreams w ON w.id = numbered.id;

-- name: workstream_update :one
UPDATE project_workstreams w
   SET (name, jira_board_id, jira_board_name, workstream_type, category, is_active, metadata, timezone) =
       (SELECT r.name, r.jira_board_id, r.jira_board_name, r.workstream_type, r.category, r.is_active,
               r.metadata, r.timezone
          FROM jsonb_populate_record(w, %(patch)s::jsonb) r)
 WHERE w.id = %(id)s
RETURNING row_to_json(w)::text;

-- name: workstream_delete :one
DELETE FROM project_workstreams WHERE id = %(id)s RETURNING id;

-- name: association_upsert :one
-- Put a workstream in a sprint, or change how it takes part. Answers the
-- association and whether it is new.
INSERT INTO project_sprint_associations AS a (sprint_id, workstream_id, association_type,
                                              expected_story_points, actual_story_points, priority, is_active)
VALUES (%(sprint_id)s, %(workstream_id)s, %(association_type)s, %(expected_story_points)s,
        %(actual_story_points)s, %(priority)s, %(is_active)s)
ON CONFLICT (sprint_id, workstream_id) DO UPDATE
   SET association_type = excluded.association_type,
       expected_story_points = excluded.expected_story_points,
       actual_story_points = excluded.actual_story_points,
       priority = excluded.priority,
       is_active = excluded.is_active
RETURNING row_to_json(a)::text, (xmax = 0) AS created;

-- name: association_list :one
-- A sprint's workstreams with their project; no row when the sprint does not exist.
SELECT json_build_object(
    'items', coalesce((SELECT json_agg(to_jsonb(a) || jsonb_build_object('project', p.key, 'workstream', w.name)
                                       ORDER BY a.priority NULLS LAST, a.id)
                         FROM project_sprint_associations a
                         JOIN project_workstreams w ON w.id = a.workstream_id
                         JOIN projects p ON p.id = w.project_id
                        WHERE a.sprint_id = s.id), '[]'::json),
    'next', NULL)::text
  FROM sprints s
 WHERE s.id = %(sprint_id)s;

-- name: association_delete :one
DELETE FROM project_sprint_associations
 WHERE sprint_id = %(sprint_id)s AND workstream_id = %(workstream_id)s
RETURNING id;

-- name: metric_insert :one
-- A snapshot of a workstream in a sprint; the database refuses one without an
-- active association (trg_project_sprint_metrics_active_association).
INSERT INTO project_sprint_metrics AS m (
    sprint_id, workstream_id, snapshot_at, issues_total, issues_completed, issues_blocked, bugs,
    story_points_total, story_points_completed, completion_percent, velocity, burndown_rate,
    scope_added_points, scope_removed_points, team_size, capacity_utilization,
    discipline_breakdown, status_breakdown, metadata)
VALUES (%(sprint_id)s, %(workstream_id)s, coalesce(%(snapshot_at)s, now()), %(issues_total)s,
        %(issues_completed)s, %(issues_blocked)s, %(bugs)s, %(story_points_total)s,
        %(story_points_completed)s, %(completion_percent)s, %(velocity)s, %(burndown_rate)s,
        %(scope_added_points)s, %(scope_removed_points)s, %(team_size)s, %(capacity_utilization)s,
        %(discipline_breakdown)s, %(status_breakdown)s, %(metadata)s)
RETURNING row_to_json(m)::text;

-- name: metric_list :one
-- A sprint's snapshots in time order, optionally of one workstream; no row when
-- the sprint does not exist.
SELECT json_build_object(
    'items', coalesce((SELECT json_agg(row_to_json(m) ORDER BY m.snapshot_at, m.id)
                         FROM project_sprint_metrics m
                        WHERE m.sprint_id = s.id
                          AND (%(workstream_id)s::bigint IS NULL OR m.workstream_id = %(workstream_id)s)),
                      '[]'::json),
    'next', NULL)::text
  FROM sprints s
 WHERE s.id = %(sprint_id)s;
