-- Queries of `worktrack import-jira` (service/jira_import.py). Everything is
-- matched by its Jira id, so a second run updates and never duplicates.

-- name: jira_project_upsert :one
-- The board's project, by key (case-insensitive); its Jira board in metadata.
INSERT INTO projects (key, name, metadata)
VALUES (%(key)s, %(name)s, jsonb_build_object('jira', jsonb_build_object('board_id', %(board_id)s::bigint)))
ON CONFLICT (lower(key)) DO UPDATE
   SET metadata = projects.metadata || EXCLUDED.metadata
RETURNING id, (xmax = 0) AS inserted;

-- name: jira_workstream_upsert :one
-- The project's workstream for the board (matched by board id); a new one is
-- active only when the project has no active workstream yet.
WITH found AS (
    SELECT id FROM project_workstreams
     WHERE project_id = %(project_id)s AND jira_board_id = %(board_id)s
     ORDER BY is_active DESC, id LIMIT 1
), created AS (
    INSERT INTO project_workstreams (project_id, name, jira_board_id, jira_board_name, is_active)
    SELECT %(project_id)s, %(board_name)s, %(board_id)s, %(board_name)s,
           NOT EXISTS (SELECT 1 FROM project_workstreams WHERE project_id = %(project_id)s AND is_active)
     WHERE NOT EXISTS (SELECT 1 FROM found)
    RETURNING id
)
SELECT id FROM found UNION ALL SELECT id FROM created;

-- name: jira_user_upsert :one
-- A Jira user by accountId. Jira Cloud often hides the e-mail address: then an
-- address under the reserved .invalid domain stands in for it.
INSERT INTO users (email, username, full_name, jira_account_id)
VALUES (coalesce(%(email)s, %(account_id)s || '@jira.invalid'), %(account_id)s, %(name)s, %(account_id)s)
ON CONFLICT (jira_account_id) WHERE jira_account_id IS NOT NULL DO UPDATE
   SET full_name = EXCLUDED.full_name
 WHERE users.full_name IS DISTINCT FROM EXCLUDED.full_name
RETURNING id, (xmax = 0) AS inserted;

-- name: jira_user_id :one
SELECT id FROM users WHERE jira_account_id = %(account_id)s;

-- name: jira_sprint_get :one
SELECT id, state FROM sprints WHERE jira_sprint_id = %(jira_id)s;

-- name: jira_sprint_insert :one
-- A sprint as Jira has it now, its instants included (no trigger fires on insert).
INSERT INTO sprints (jira_sprint_id, name, state, start_date, end_date, goal, jira_board_id, jira_project_key,
                     activated_at, completed_at)
VALUES (%(jira_id)s, %(name)s, %(state)s, %(start_date)s, %(end_date)s, %(goal)s, %(board_id)s, %(project_key)s,
        %(activated_at)s, %(completed_at)s)
RETURNING id;

-- name: jira_sprint_update :one
-- Name, goal and dates of a sprint not closed yet (a closed one is final).
UPDATE sprints
   SET name = %(name)s, goal = %(goal)s, start_date = %(start_date)s, end_date = %(end_date)s
 WHERE id = %(id)s AND state <> 'closed'
   AND (name, goal, start_date, end_date) IS DISTINCT FROM (%(name)s, %(goal)s, %(start_date)s, %(end_date)s)
RETURNING id;

-- name: jira_sprint_activate :one
UPDATE sprints SET state = 'active', activated_at = %(activated_at)s
 WHERE id = %(id)s AND state = 'future'
RETURNING id;

-- name: jira_sprint_complete :one
-- Closed as Jira closed it; the open work's moves come from each issue's history.
UPDATE sprints SET state = 'closed', completed_at = %(completed_at)s
 WHERE id = %(id)s AND state = 'active'
RETURNING id;

-- name: jira_sprint_associate :exec
INSERT INTO project_sprint_associations (sprint_id, workstream_id, association_type)
VALUES (%(sprint_id)s, %(workstream_id)s, 'primary')
ON CONFLICT DO NOTHING;

-- name: jira_import_begin :exec
-- This transaction is an import: history at Jira's times, by Jira's authors.
SELECT import_begin('jira'), set_config('worktrack.note', 'imported from Jira', true);

-- name: jira_event_at :exec
SELECT set_config('worktrack.event_at', %(at)s::timestamptz::text, true),
       set_config('worktrack.actor', %(actor)s, true),
       set_config('worktrack.closing_sprint', coalesce(%(closing)s::text, ''), true);

-- name: jira_task_get :one
SELECT id, status, sprint_id, story_points, metadata -> 'jira' AS jira
  FROM tasks WHERE project_id = %(project_id)s AND key = %(key)s FOR UPDATE;

-- name: jira_task_insert :one
-- Created as Jira created it; one created done or in progress (a truncated
-- changelog) gets its resolution date or creation time as its instants.
INSERT INTO tasks (project_id, key, title, description, status, priority, assignee_id, sprint_id, story_points,
                   metadata, created_at, started_at, completed_at)
VALUES (%(project_id)s, %(key)s, %(title)s, %(description)s, %(status)s, %(priority)s, %(assignee_id)s,
        %(sprint_id)s, %(story_points)s, jsonb_build_object('jira', %(jira)s::jsonb), %(created_at)s,
        CASE WHEN %(status)s IN ('in_progress', 'in_review', 'completed') THEN %(created_at)s END,
        CASE WHEN %(status)s = 'completed' THEN coalesce(%(resolved_at)s, %(created_at)s) END)
RETURNING id;

-- name: jira_task_fields :exec
-- The fields Jira keeps no history of here: as they are now.
UPDATE tasks
   SET title = %(title)s, description = %(description)s, priority = %(priority)s, assignee_id = %(assignee_id)s,
       metadata = jsonb_set(metadata, '{jira}', coalesce(metadata -> 'jira', '{}') || %(jira)s::jsonb)
 WHERE project_id = %(project_id)s AND id = %(id)s
   AND (title, description, priority, assignee_id, metadata -> 'jira')
       IS DISTINCT FROM (%(title)s, %(description)s, %(priority)s, %(assignee_id)s,
                         coalesce(metadata -> 'jira', '{}') || %(jira)s::jsonb);

-- name: jira_task_status :exec
UPDATE tasks SET status = %(status)s WHERE project_id = %(project_id)s AND id = %(id)s;

-- name: jira_task_sprint :exec
UPDATE tasks SET sprint_id = %(sprint_id)s WHERE project_id = %(project_id)s AND id = %(id)s;

-- name: jira_task_points :exec
UPDATE tasks SET story_points = %(points)s WHERE project_id = %(project_id)s AND id = %(id)s;

-- name: jira_task_counts :one
-- A task's history rows and membership events, to count what an import added.
SELECT (SELECT count(*) FROM task_history WHERE project_id = %(project_id)s AND task_id = %(id)s),
       (SELECT count(*) FROM sprint_membership_events WHERE project_id = %(project_id)s AND task_id = %(id)s);
