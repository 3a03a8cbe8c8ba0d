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
-- comet's. Each has five two-week sprints, created future; seed_sprint_lifecycle
-- starts and closes them.
INSERT INTO sprints (jira_sprint_id, name, state, start_date, end_date, goal, jira_board_id, jira_project_key)
SELECT 900000 + board * 10 + n,
       CASE board WHEN 100 THEN 'Atlas+Beacon ' ELSE 'Comet ' END || n,
       'future',
       current_date - (5 - n) * 14 - 3, current_date - (5 - n) * 14 + 10,
       'Sprint goal ' || n, board,
       CASE board WHEN 100 THEN 'atlas, beacon' ELSE 'comet' END
  FROM unnest(ARRAY[100, 200]) AS board, generate_series(1, 5) AS n
ON CONFLICT DO NOTHING;

-- name: seed_workstreams :exec
-- The meta-board's teams sit in Berlin, comet's in New York: the sprints' days.
INSERT INTO project_workstreams (project_id, name, jira_board_id, jira_board_name, category, timezone)
SELECT p.id, p.name || ' stream', CASE p.key WHEN 'comet' THEN 200 ELSE 100 END,
       CASE p.key WHEN 'comet' THEN 'Comet board' ELSE 'Atlas+Beacon board' END, 'product',
       CASE p.key WHEN 'comet' THEN 'America/New_York' ELSE 'Europe/Berlin' END
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

-- name: seed_sprint_lifecycle :exec
-- 1,000 tasks per project, and each board's sprints run in order through the
-- same sprint_start / sprint_close the API calls, at instants in the past
-- (worktrack.event_at, as an import does): tasks created two days before their
-- sprint starts, some added a day after the start, some completed before they
-- join, some removed, re-estimated or cancelled, most completed over the days,
-- the rest moved to the next sprint at the close. Sprints that are no longer
-- future are skipped, so a second run adds nothing.
DO $$
DECLARE
    s record;
    tz text;
    starts timestamptz;
    n int;
    next_sprint bigint;
    k int;
BEGIN
    -- the past instants are honoured only in an import transaction
    PERFORM import_begin('demo');
    PERFORM set_config('worktrack.actor', 'demo', true);
    FOR s IN
        SELECT sp.id, sp.start_date, sp.end_date, sp.jira_board_id,
               row_number() OVER (PARTITION BY sp.jira_board_id ORDER BY sp.start_date) AS n
          FROM sprints sp
         WHERE sp.jira_sprint_id BETWEEN 900000 AND 999999 AND sp.state = 'future'
         ORDER BY sp.start_date, sp.jira_board_id
    LOOP
        n := s.n;
        tz := sprint_timezone(s.id, NULL);
        starts := (s.start_date + time '09:00') AT TIME ZONE tz;
        -- The sprint's tasks: 1 in 6 of each of its projects' 1,000; 1 in 11 waits in the
        -- backlog to be added after the start, 1 in 29 is done before it joins.
        PERFORM set_config('worktrack.event_at', (starts - interval '2 days')::text, true);
        INSERT INTO tasks (project_id, feature_id, sprint_id, key, title, priority, agent_type, inputs,
                           story_points, created_at)
        SELECT w.project_id,
               (SELECT f.id FROM features f WHERE f.project_id = w.project_id ORDER BY f.id OFFSET g % 12 LIMIT 1),
               CASE WHEN g % 11 = 0 OR g % 29 = 0 THEN NULL ELSE s.id END,
               'T-' || lpad(g::text, 4, '0'), 'Demo task ' || g, 1 + g % 10,
               (ARRAY['coder', 'reviewer', 'tester'])[1 + g % 3], jsonb_build_array('PRD-' || (g % 40)),
               (ARRAY[1, 2, 3, 5, 8, NULL])[1 + g % 7], starts - interval '2 days'
          FROM project_sprint_associations a
          JOIN project_workstreams w ON w.id = a.workstream_id
         CROSS JOIN generate_series(1, 1000) g
         WHERE a.sprint_id = s.id AND 1 + g % 6 = n
        ON CONFLICT DO NOTHING;
        PERFORM set_config('worktrack.event_at', (starts - interval '1 day')::text, true);
        UPDATE tasks SET status = 'in_progress'
         WHERE sprint_id IS NULL AND substr(key, 3)::int % 29 = 0 AND 1 + substr(key, 3)::int % 6 = n
           AND status = 'pending' AND created_at = starts - interval '2 days';
        PERFORM set_config('worktrack.event_at', (starts - interval '20 hours')::text, true);
        UPDATE tasks SET status = 'completed'
         WHERE sprint_id IS NULL AND substr(key, 3)::int % 29 = 0 AND 1 + substr(key, 3)::int % 6 = n
           AND status = 'in_progress' AND created_at = starts - interval '2 days';

        PERFORM sprint_start(s.id, starts);
        FOR k IN 0 .. least(s.end_date, current_date) - s.start_date LOOP
            EXIT WHEN starts + k * interval '1 day' + interval '8 hours' > now();
            PERFORM set_config('worktrack.event_at', (starts + k * interval '1 day')::text, true);
            IF k = 1 THEN  -- added after the start, and the ones already done
                UPDATE tasks SET sprint_id = s.id
                 WHERE sprint_id IS NULL AND (substr(key, 3)::int % 11 = 0 OR substr(key, 3)::int % 29 = 0)
                   AND 1 + substr(key, 3)::int % 6 = n AND created_at = starts - interval '2 days';
            ELSIF k = 2 THEN  -- removed from the sprint, and re-estimated
                UPDATE tasks SET sprint_id = NULL
                 WHERE sprint_id = s.id AND substr(key, 3)::int % 13 = 0 AND status = 'pending';
                UPDATE tasks SET story_points = story_points + 2
                 WHERE sprint_id = s.id AND substr(key, 3)::int % 17 = 0 AND story_points IS NOT NULL
                   AND status = 'pending';
            ELSIF k = 4 THEN  -- cancelled while in the sprint
                UPDATE tasks SET status = 'cancelled'
                 WHERE sprint_id = s.id AND substr(key, 3)::int % 19 = 0 AND status = 'pending';
            END IF;
            -- a tenth of the work starts each day and is done hours or a day later; 1 in 7 (1 point each) never is
            UPDATE tasks SET status = 'in_progress'
             WHERE sprint_id = s.id AND status = 'pending' AND substr(key, 3)::int / 6 % 10 = k % 10
               AND substr(key, 3)::int % 7 <> 0;
            PERFORM set_config('worktrack.event_at', (starts + k * interval '1 day' + interval '3 hours')::text, true);
            UPDATE tasks SET status = 'completed'
             WHERE sprint_id = s.id AND status = 'in_progress' AND substr(key, 3)::int / 6 % 10 = (k + 9) % 10
               AND substr(key, 3)::int / 7 % 3 = 0 AND substr(key, 3)::int % 7 <> 0;
            PERFORM set_config('worktrack.event_at', (starts + k * interval '1 day' + interval '8 hours')::text, true);
            UPDATE tasks SET status = 'completed'
             WHERE sprint_id = s.id AND status = 'in_progress' AND substr(key, 3)::int / 6 % 10 = k % 10
               AND substr(key, 3)::int / 7 % 3 <> 0 AND substr(key, 3)::int % 7 <> 0;
        END LOOP;
        IF s.end_date < current_date THEN
            SELECT id INTO next_sprint FROM sprints
             WHERE jira_board_id = s.jira_board_id AND jira_sprint_id BETWEEN 900000 AND 999999
               AND start_date > s.start_date
             ORDER BY start_date LIMIT 1;
            PERFORM set_config('worktrack.event_at', '', true);
            PERFORM sprint_close(s.id, next_sprint, (s.end_date + time '17:00') AT TIME ZONE tz);
        END IF;
    END LOOP;
    -- The rest of each project's tasks wait in the backlog.
    PERFORM set_config('worktrack.event_at', (now() - interval '1 day')::text, true);
    INSERT INTO tasks (project_id, feature_id, key, title, priority, agent_type, inputs, story_points, created_at)
    SELECT p.id, (SELECT f.id FROM features f WHERE f.project_id = p.id ORDER BY f.id OFFSET g % 12 LIMIT 1),
           'T-' || lpad(g::text, 4, '0'), 'Demo task ' || g, 1 + g % 10,
           (ARRAY['coder', 'reviewer', 'tester'])[1 + g % 3], jsonb_build_array('PRD-' || (g % 40)),
           (ARRAY[1, 2, 3, 5, 8, NULL])[1 + g % 7], now() - interval '1 day'
      FROM projects p CROSS JOIN generate_series(1, 1000) g
     WHERE p.metadata @> '{"demo": true}'
    ON CONFLICT DO NOTHING;
    PERFORM set_config('worktrack.event_at', '', true);
END
$$;

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
