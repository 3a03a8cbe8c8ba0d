-- name: sprint_insert :one
-- A sprint created active or closed is a record of one run elsewhere (legacy data):
-- its instants stay empty and its report reads its dates. New sprints are future
-- and move on through sprint_start and sprint_close.
INSERT INTO sprints AS s (jira_sprint_id, name, state, start_date, end_date, goal, jira_board_id,
                          jira_project_key, timezone)
VALUES (%(jira_sprint_id)s, %(name)s, %(state)s, %(start_date)s, %(end_date)s, %(goal)s, %(jira_board_id)s,
        %(jira_project_key)s, %(timezone)s)
RETURNING sprint_json(s)::text;

-- name: sprint_get :one
SELECT sprint_json(s)::text FROM sprints s WHERE s.id = %(id)s;

-- name: sprint_list :one
-- A page of sprints in id order: by state (idx_sprints_state_dates), board
-- (idx_sprints_jira_board) or project (the sprints one of its workstreams is in).
WITH page AS (
    SELECT s.id FROM sprints s
     WHERE s.id > %(after_id)s
       AND (%(state)s::text IS NULL OR s.state = %(state)s)
       AND (%(board)s::bigint IS NULL OR s.jira_board_id = %(board)s)
       AND (%(project)s::text IS NULL OR EXISTS (
                SELECT 1 FROM project_sprint_associations a
                  JOIN project_workstreams w ON w.id = a.workstream_id
                  JOIN projects p ON p.id = w.project_id
                 WHERE a.sprint_id = s.id AND lower(p.key) = lower(%(project)s)))
     ORDER BY s.id
     LIMIT %(limit)s + 1
), numbered AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM page
)
SELECT api_page(
    coalesce(array_to_json(array_agg(sprint_json(s) ORDER BY n) FILTER (WHERE n <= %(limit)s)), '[]'::json),
    max(api_cursor(s.id::text)) FILTER (WHERE n = %(limit)s AND EXISTS (
                SELECT 1 FROM numbered later WHERE later.n > %(limit)s)))::text
  FROM numbered JOIN sprints s ON s.id = numbered.id;

-- name: sprint_update :one
-- Everything but the state, which only sprint_start and sprint_close change.
UPDATE sprints s
   SET (name, start_date, end_date, goal, jira_board_id, jira_project_key, timezone) =
       (SELECT r.name, r.start_date, r.end_date, r.goal, r.jira_board_id, r.jira_project_key, r.timezone
          FROM jsonb_populate_record(s, %(patch)s::jsonb) r)
 WHERE s.id = %(id)s
RETURNING sprint_json(s)::text;

-- name: sprint_start :one
-- future -> active (sprint_start in migrations/0030): no row when there is no such
-- sprint; the database refuses a sprint that is not future.
SELECT sprint_json(s)::text
  FROM sprint_start(%(id)s, %(activated_at)s::timestamptz, %(end_date)s::date) s
 WHERE s.id IS NOT NULL;

-- name: sprint_close :one
-- active -> closed, moving open work to move_to or the backlog, each move
-- recorded (sprint_close in migrations/0030); no row when there is no such sprint.
SELECT sprint_json(s)::text
  FROM sprint_close(%(id)s, %(move_to)s::bigint, %(completed_at)s::timestamptz) s
 WHERE s.id IS NOT NULL;

-- name: sprint_delete :one
-- Delete a sprint; its analyses, associations, metrics, capacities and reports
-- go with it, but not while it has queue items (fk_sprint_queue_items_sprint).
DELETE FROM sprints WHERE id = %(id)s RETURNING id;

-- name: analysis_insert :one
-- An analysis of a sprint, of a project named by key or of none. Answers the
-- analysis, or none and why: whether the sprint and the project were found.
WITH found AS (
    SELECT s.id AS sprint_id, p.id AS project_id, p.key AS project_key
      FROM (SELECT 1) one
      LEFT JOIN sprints s ON s.id = %(sprint_id)s
      LEFT JOIN projects p ON lower(p.key) = lower(%(project)s)
), added AS (
    INSERT INTO sprint_analyses AS a (sprint_id, project_id, analysis_type, total_story_points,
                                      completed_story_points, total_issues, completed_issues,
                                      discipline_breakdown, issue_details)
    SELECT f.sprint_id, f.project_id, %(analysis_type)s, %(total_story_points)s, %(completed_story_points)s,
           %(total_issues)s, %(completed_issues)s, %(discipline_breakdown)s, %(issue_details)s
      FROM found f
     WHERE f.sprint_id IS NOT NULL AND (%(project)s::text IS NULL OR f.project_id IS NOT NULL)
    RETURNING a AS analysis
)
SELECT (SELECT sprint_analysis_json(added.analysis, f.project_key)::text FROM added),
       f.sprint_id IS NOT NULL AS sprint_found,
       %(project)s::text IS NULL OR f.project_id IS NOT NULL AS project_found
  FROM found f;

-- name: analysis_list :one
-- A sprint's analyses (idx_sprint_analyses_sprint), optionally of one type; no
-- row at all when the sprint does not exist.
SELECT api_page(
    coalesce((SELECT array_to_json(array_agg(sprint_analysis_json(a, p.key) ORDER BY a.id))
                         FROM sprint_analyses a
                         LEFT JOIN projects p ON p.id = a.project_id
                        WHERE a.sprint_id = s.id
                          AND (%(analysis_type)s::text IS NULL OR a.analysis_type = %(analysis_type)s)),
                      '[]'::json),
    NULL)::text
  FROM sprints s
 WHERE s.id = %(sprint_id)s;
