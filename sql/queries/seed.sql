-- Demo data for `worktrack seed --demo`. Every statement skips what exists, so
-- seeding twice adds nothing. Dates are relative to today, so the demo always
-- has closed sprints behind it and an active one now.

-- name: seed_users :exec
INSERT INTO users (email, username, full_name, jira_account_id, settings)
SELECT 'dev' || n || '@demo.worktrack.dev', 'dev' || n, initcap(name) || ' Demo', 'demo-' || n,
       jsonb_build_object('theme', CASE WHEN n % 2 = 0 THEN 'dark' ELSE 'light' END)
  FROM unnest(ARRAY['ada', 'bo', 'cy', 'di', 'ed', 'flo']) WITH ORDINALITY AS u (name, n)
ON CONFLICT DO NOTHING;

-- name: seed_projects :exec
INSERT INTO projects (key, name, description, metadata)
VALUES ('atlas', 'Atlas', 'Search and indexing', '{"demo": true}'),
       ('beacon', 'Beacon', 'Notifications', '{"demo": true}'),
       ('comet', 'Comet', 'Billing', '{"demo": true}')
ON CONFLICT DO NOTHING;

-- name: seed_epics_and_features :exec
WITH epics_added AS (
    INSERT INTO epics (project_id, key, title)
    SELECT p.id, 'E0' || e, p.name || ' epic ' || e
      FROM projects p CROSS JOIN generate_series(1, 4) e
     WHERE p.metadata @> '{"demo": true}'
    ON CONFLICT DO NOTHING
    RETURNING project_id, id, key
)
INSERT INTO features (project_id, epic_id, key, title)
SELECT e.project_id, e.id, e.key || '-F0' || f, 'Feature ' || f || ' of ' || e.key
  FROM epics_added e CROSS JOIN generate_series(1, 3) f
ON CONFLICT DO NOTHING;

-- name: seed_sprints :exec
-- Two boards: board 100 is a meta-board spanning atlas and beacon, board 200 is
-- comet's. Each has four closed two-week sprints and an active one.
INSERT INTO sprints (jira_sprint_id, name, state, start_date, end_date, goal, jira_board_id, jira_project_key)
SELECT 900000 + board * 10 + n,
       CASE board WHEN 100 THEN 'Atlas+Beacon ' ELSE 'Comet ' END || n,
       CASE WHEN n = 5 THEN 'active' ELSE 'closed' END,
       current_date - (5 - n) * 14 - 3, current_date - (5 - n) * 14 + 10,
       'Sprint goal ' || n, board,
       CASE board WHEN 100 THEN 'atlas, beacon' ELSE 'comet' END
  FROM unnest(ARRAY[100, 200]) AS board, generate_series(1, 5) AS n
ON CONFLICT DO NOTHING;

-- name: seed_workstreams :exec
INSERT INTO project_workstreams (project_id, name, jira_board_id, jira_board_name, category)
SELECT p.id, p.name || ' stream', CASE p.key WHEN 'comet' THEN 200 ELSE 100 END,
       CASE p.key WHEN 'comet' THEN 'Comet board' ELSE 'Atlas+Beacon board' END, 'product'
  FROM projects p
 WHERE p.metadata @> '{"demo": true}'
   AND NOT EXISTS (SELECT 1 FROM project_workstreams w WHERE w.project_id = p.id AND w.is_active);

-- name: seed_associations :exec
INSERT INTO project_sprint_associations (sprint_id, workstream_id, association_type, expected_story_points)
SELECT s.id, w.id, CASE WHEN p.key IN ('atlas', 'comet') THEN 'primary' ELSE 'secondary' END, 40
  FROM sprints s
  JOIN projects p ON p.key = ANY (string_to_array(replace(s.jira_project_key, ' ', ''), ','))
  JOIN project_workstreams w ON w.project_id = p.id AND w.is_active
 WHERE s.jira_sprint_id BETWEEN 900000 AND 999999
ON CONFLICT DO NOTHING;

-- name: seed_tasks :exec
-- 1,000 tasks per project spread over its features and sprints; completed ones
-- finished inside their sprint, each with the history of its start.
WITH sprint_of AS (
    SELECT p.id AS project_id, s.id AS sprint_id, s.start_date, s.state,
           row_number() OVER (PARTITION BY p.id ORDER BY s.start_date) AS n
      FROM projects p
      JOIN project_workstreams w ON w.project_id = p.id AND w.is_active
      JOIN project_sprint_associations a ON a.workstream_id = w.id
      JOIN sprints s ON s.id = a.sprint_id
     WHERE p.metadata @> '{"demo": true}'
), planned AS (
    SELECT p.id AS project_id, g,
           (SELECT f.id FROM features f WHERE f.project_id = p.id ORDER BY f.id OFFSET g % 12 LIMIT 1) AS feature_id,
           so.sprint_id, so.start_date, so.state,
           (ARRAY[1, 2, 3, 5, 8, NULL])[1 + g % 6] AS points
      FROM projects p
     CROSS JOIN generate_series(1, 1000) g
      LEFT JOIN sprint_of so ON so.project_id = p.id AND so.n = 1 + g % 6
     WHERE p.metadata @> '{"demo": true}'
), added AS (
    INSERT INTO tasks (project_id, feature_id, sprint_id, key, title, status, priority, agent_type, inputs,
                       story_points, created_at, completed_at)
    SELECT project_id, feature_id, sprint_id, 'T-' || lpad(g::text, 4, '0'), 'Demo task ' || g,
           CASE WHEN sprint_id IS NULL THEN 'pending'
                WHEN state = 'closed' AND g % 7 <> 0 THEN 'completed'
                WHEN state = 'closed' THEN 'cancelled'
                ELSE (ARRAY['pending', 'in_progress', 'completed', 'blocked', 'in_review'])[1 + g % 5] END,
           1 + g % 10, (ARRAY['coder', 'reviewer', 'tester'])[1 + g % 3],
           jsonb_build_array('PRD-' || (g % 40)), points,
           coalesce(start_date::timestamptz - interval '2 days', now() - interval '1 day'),
           CASE WHEN sprint_id IS NOT NULL AND (state = 'closed' AND g % 7 <> 0 OR state = 'active' AND g % 5 = 2)
                THEN start_date::timestamptz + interval '15 hours'
                     + (CASE WHEN state = 'active' THEN g % 3 ELSE g % 10 END) * interval '1 day' END
      FROM planned
    ON CONFLICT DO NOTHING
    RETURNING project_id, id, status, completed_at
)
INSERT INTO task_history (project_id, task_id, from_status, to_status, actor, note, changed_at)
SELECT project_id, id, 'pending', 'in_progress', 'demo-agent', 'claimed',
       completed_at - (1 + id % 48) * interval '1 hour'
  FROM added
 WHERE status = 'completed';

-- name: seed_dependencies :exec
-- Within a project, some tasks wait on the task ten before them (never a cycle).
INSERT INTO task_dependencies (project_id, task_id, depends_on_id)
SELECT t.project_id, t.id, o.id
  FROM tasks t
  JOIN projects p ON p.id = t.project_id AND p.metadata @> '{"demo": true}'
  JOIN tasks o ON o.project_id = t.project_id AND o.key = 'T-' || lpad((substr(t.key, 3)::int - 10)::text, 4, '0')
 WHERE substr(t.key, 3)::int % 25 = 0
ON CONFLICT DO NOTHING;

-- name: seed_metrics :exec
-- Daily snapshots of every demo sprint's workstreams, up to today, from its tasks.
INSERT INTO project_sprint_metrics (sprint_id, workstream_id, snapshot_at, issues_total, issues_completed,
                                    story_points_total, story_points_completed, completion_percent, team_size)
SELECT a.sprint_id, a.workstream_id, d + interval '18 hours',
       count(t.id), count(t.id) FILTER (WHERE t.completed_at < d + interval '18 hours'),
       coalesce(sum(t.story_points), 0),
       coalesce(sum(t.story_points) FILTER (WHERE t.completed_at < d + interval '18 hours'), 0),
       round(100.0 * coalesce(sum(t.story_points) FILTER (WHERE t.completed_at < d + interval '18 hours'), 0)
             / nullif(sum(t.story_points), 0), 2),
       6
  FROM project_sprint_associations a
  JOIN sprints s ON s.id = a.sprint_id AND s.jira_sprint_id BETWEEN 900000 AND 999999
  JOIN project_workstreams w ON w.id = a.workstream_id
  CROSS JOIN LATERAL generate_series(s.start_date, least(s.end_date, current_date), interval '1 day') d
  LEFT JOIN tasks t ON t.sprint_id = s.id AND t.project_id = w.project_id AND t.status <> 'cancelled'
 GROUP BY a.sprint_id, a.workstream_id, d
ON CONFLICT DO NOTHING;

-- name: seed_analyses :exec
INSERT INTO sprint_analyses (sprint_id, project_id, analysis_type, total_story_points, completed_story_points,
                             total_issues, completed_issues, discipline_breakdown)
SELECT s.id, w.project_id, 'velocity', m.story_points_total, m.story_points_completed, m.issues_total,
       m.issues_completed, jsonb_build_object('team_count', 6, 'backend', 3, 'frontend', 2, 'qa', 1)
  FROM sprints s
  JOIN project_sprint_associations a ON a.sprint_id = s.id AND a.association_type = 'primary'
  JOIN project_workstreams w ON w.id = a.workstream_id
  JOIN LATERAL (SELECT * FROM project_sprint_metrics m WHERE m.sprint_id = s.id AND m.workstream_id = w.id
                 ORDER BY m.snapshot_at DESC LIMIT 1) m ON true
 WHERE s.state = 'closed' AND s.jira_sprint_id BETWEEN 900000 AND 999999
   AND NOT EXISTS (SELECT 1 FROM sprint_analyses x WHERE x.sprint_id = s.id AND x.analysis_type = 'velocity');

-- name: seed_is_empty :one
SELECT NOT EXISTS (SELECT 1 FROM projects);
