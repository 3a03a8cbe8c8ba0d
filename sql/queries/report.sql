-- name: sprint_report :one
-- The report of a sprint, every figure beside its definition and its source.
-- Each task's figures come from the sprint membership history and the task
-- status history as of the sprint's start and close instants (sprint_window):
-- sprint_report_tasks() computes them (the definitions live there, migration
-- 0037), and sprint_close stores them for a closed sprint (sprint_frozen_tasks),
-- so a closed sprint's report and the velocity read stored rows and never
-- change. Sprints without membership history (legacy sprints known only
-- through metric snapshots) get their figures from the snapshots. Velocity
-- applies the same definitions to the last N closed sprints of each workstream
-- that closed before this one started. Unestimated tasks count 0 points and are
-- counted apart. No row when the sprint does not exist.
WITH workstreams AS (
    SELECT a.workstream_id, w.name, w.project_id, p.key AS project, a.association_type
      FROM project_sprint_associations a
      JOIN project_workstreams w ON w.id = a.workstream_id
      JOIN projects p ON p.id = w.project_id
     WHERE a.sprint_id = %(sprint_id)s AND a.is_active
), spans AS (  -- this sprint and the closed sprints of its workstreams, with their instants
    SELECT s.id, s.name, s.state, s.start_date, s.end_date, s.goal, s.activated_at, s.completed_at,
           w.timezone AS tz, w.starts, w.closes
      FROM sprints s
     CROSS JOIN LATERAL sprint_window(s) w
     WHERE s.id = %(sprint_id)s
        OR s.state = 'closed' AND s.id IN (SELECT pa.sprint_id FROM project_sprint_associations pa
                                            WHERE pa.workstream_id IN (SELECT workstream_id FROM workstreams))
), sprint AS (
    SELECT sp.*, (sp.starts AT TIME ZONE sp.tz)::date AS first_day,
           ((sp.closes - interval '1 microsecond') AT TIME ZONE sp.tz)::date AS close_day
      FROM spans sp WHERE sp.id = %(sprint_id)s
), final_snapshots AS (  -- each sprint's last snapshot of each workstream
    SELECT DISTINCT ON (m.sprint_id, m.workstream_id)
           m.sprint_id, m.workstream_id, m.story_points_completed, m.story_points_total, m.issues_total,
           m.issues_completed, m.scope_added_points, m.scope_removed_points
      FROM project_sprint_metrics m
     WHERE m.workstream_id IN (SELECT workstream_id FROM workstreams)
     ORDER BY m.sprint_id, m.workstream_id, m.snapshot_at DESC
), history AS (  -- per workstream, its closed sprints with figures, latest first
    SELECT w.workstream_id, w.project_id, p.id AS sprint_id, p.name, p.starts, p.closes, x.has_history,
           row_number() OVER (PARTITION BY w.workstream_id ORDER BY p.closes DESC, p.id DESC) AS k
      FROM workstreams w
      JOIN project_sprint_associations pa ON pa.workstream_id = w.workstream_id
      JOIN spans p ON p.id = pa.sprint_id AND p.state = 'closed' AND p.id <> %(sprint_id)s
     CROSS JOIN sprint s
     CROSS JOIN LATERAL (
            SELECT coalesce((SELECT min(e.happened_at) FROM sprint_membership_events e
                              WHERE e.sprint_id = p.id) <= p.closes, false) AS has_history) x
     WHERE p.closes <= coalesce(s.starts, now())
       AND (x.has_history OR EXISTS (SELECT 1 FROM final_snapshots f
                                      WHERE f.sprint_id = p.id AND f.workstream_id = w.workstream_id))
), counted_sprints AS (  -- the closed sprints velocity counts that have membership history
    SELECT DISTINCT sprint_id, starts, closes FROM history
     WHERE k <= %(velocity_sprints)s AND has_history
), in_view AS (  -- the sprint whose tasks are read
    SELECT id AS sprint_id, state, starts, closes FROM sprint
), task_rows AS (  -- a closed sprint's rows as stored at its close; else computed now (same definitions)
    SELECT f.* FROM in_view v JOIN sprint_frozen_tasks f ON f.sprint_id = v.sprint_id WHERE v.state = 'closed'
    UNION ALL
    SELECT f.*
      FROM in_view v CROSS JOIN LATERAL sprint_report_tasks(v.sprint_id, v.starts, v.closes) f
     WHERE v.state <> 'closed'
        -- no stored row: min() over the key's prefix is the first entry of the primary
        -- key (an EXISTS here is planned as a scan for the first of ~2,000 rows of a
        -- sprint, which may read the whole table before this sprint's rows)
        OR (SELECT min(x.project_id) FROM sprint_frozen_tasks x WHERE x.sprint_id = v.sprint_id) IS NULL
), this_tasks AS (
    SELECT t.*, pr.key AS project, s.starts
      FROM task_rows t JOIN sprint s ON s.id = t.sprint_id JOIN projects pr ON pr.id = t.project_id
), task_figures AS (
    SELECT
        count(*) > 0 AS has_tasks,
        coalesce(sum(t.points_at_start) FILTER (WHERE t.committed), 0) AS committed_points,
        count(*) FILTER (WHERE t.committed) AS committed_issues,
        count(*) FILTER (WHERE t.committed AND t.points_at_start IS NULL) AS committed_unestimated,
        coalesce(sum(t.points_at_close) FILTER (WHERE t.completed_in), 0) AS completed_points,
        count(*) FILTER (WHERE t.completed_in) AS completed_issues,
        count(*) FILTER (WHERE t.completed_in AND t.points_at_close IS NULL) AS completed_unestimated,
        coalesce(sum(t.points_at_close) FILTER (WHERE t.completed_outside), 0) AS outside_points,
        count(*) FILTER (WHERE t.completed_outside) AS outside_issues,
        coalesce(sum(t.points_when_joined) FILTER (WHERE t.is_added), 0) AS added_points,
        count(*) FILTER (WHERE t.is_added) AS added_issues,
        coalesce(sum(t.removed_points) FILTER (WHERE t.removed), 0) AS removed_points,
        count(*) FILTER (WHERE t.removed) AS removed_issues,
        coalesce(sum(t.reestimated_points), 0) AS reestimated_points,
        coalesce(sum(t.points_at_close) FILTER (WHERE t.carried_over), 0) AS carry_over_points,
        count(*) FILTER (WHERE t.carried_over) AS carry_over_issues
      FROM this_tasks t
), snapshot_figures AS (  -- for a sprint without membership history: its first and last snapshots
    SELECT coalesce(sum(first.story_points_total), 0) AS committed_points,
           coalesce(sum(first.issues_total), 0) AS committed_issues,
           coalesce(sum(f.story_points_completed), 0) AS completed_points,
           coalesce(sum(f.issues_completed), 0) AS completed_issues,
           coalesce(sum(f.scope_added_points), 0) AS added_points,
           coalesce(sum(f.scope_removed_points), 0) AS removed_points,
           coalesce(sum(f.story_points_total), 0) AS final_scope_points,
           coalesce(sum(f.story_points_total - f.story_points_completed), 0) AS carry_over_points,
           coalesce(sum(f.issues_total - f.issues_completed), 0) AS carry_over_issues,
           count(*) > 0 AS has_snapshots
      FROM final_snapshots f
     CROSS JOIN LATERAL (
            SELECT m.story_points_total, m.issues_total FROM project_sprint_metrics m
             WHERE m.sprint_id = f.sprint_id AND m.workstream_id = f.workstream_id
             ORDER BY m.snapshot_at LIMIT 1) first
     WHERE f.sprint_id = %(sprint_id)s
), report_figures AS (  -- the figures shown, from whichever source this sprint has
    SELECT h.from_history,
           -- without either (a sprint not started, or a legacy one without snapshots) every figure is 0
           CASE WHEN h.from_history THEN 'membership history'
                WHEN sf.has_snapshots THEN 'metric snapshots'
                WHEN (SELECT state FROM sprint) = 'future' THEN 'none: not started'
                ELSE 'none: no tasks and no snapshots' END AS source,
           CASE WHEN h.from_history THEN tf.committed_points ELSE sf.committed_points END AS committed_points,
           CASE WHEN h.from_history THEN tf.committed_issues ELSE sf.committed_issues END AS committed_issues,
           CASE WHEN h.from_history THEN tf.completed_points ELSE sf.completed_points END AS completed_points,
           CASE WHEN h.from_history THEN tf.completed_issues ELSE sf.completed_issues END AS completed_issues,
           CASE WHEN h.from_history THEN tf.added_points ELSE sf.added_points END AS added_points,
           CASE WHEN h.from_history THEN tf.removed_points ELSE sf.removed_points END AS removed_points,
           CASE WHEN h.from_history THEN tf.reestimated_points ELSE 0 END AS reestimated_points,
           CASE WHEN h.from_history
                THEN tf.committed_points + tf.added_points - tf.removed_points + tf.reestimated_points
                ELSE sf.final_scope_points END AS final_scope_points,
           CASE WHEN h.from_history THEN tf.carry_over_points ELSE sf.carry_over_points END AS carry_over_points,
           CASE WHEN h.from_history THEN tf.carry_over_issues ELSE sf.carry_over_issues END AS carry_over_issues,
           tf.committed_unestimated, tf.completed_unestimated, tf.outside_points, tf.outside_issues,
           tf.added_issues, tf.removed_issues
      FROM task_figures tf CROSS JOIN snapshot_figures sf
     CROSS JOIN LATERAL (  -- a sprint started here without tasks has figures all the same (0)
            SELECT tf.has_tasks OR (SELECT activated_at IS NOT NULL FROM sprint) AND NOT sf.has_snapshots
                   AS from_history) h
), flow AS (  -- hours from first start (cycle) and from creation (lead) to completion
    SELECT extract(epoch FROM t.completed_at - t.started_at) / 3600 AS cycle_hours,
           extract(epoch FROM t.completed_at - t.created_at) / 3600 AS lead_hours
      FROM this_tasks t WHERE t.completed_in
), frozen_days AS (  -- a closed sprint's burndown as stored at its close
    SELECT d.* FROM sprint s JOIN sprint_frozen_days d ON d.sprint_id = s.id WHERE s.state = 'closed'
), history_burndown AS (  -- else computed from this sprint's task rows
    SELECT d.day, d.i, d.planned_days, d.scope_points, d.completed_points, d.events FROM frozen_days d
    UNION ALL
    SELECT b.*
      FROM sprint s
     CROSS JOIN LATERAL sprint_burndown_days(
            s.id, (SELECT array_agg(ROW(t.*)::sprint_frozen_tasks) FROM task_rows t WHERE t.sprint_id = s.id)) b
     WHERE NOT EXISTS (SELECT 1 FROM frozen_days)
), days AS (
    SELECT day, i, planned_days FROM history_burndown
), snapshot_burndown AS (  -- per day: the latest snapshot of each workstream up to that day's end
    SELECT d.day, d.i, d.planned_days,
           sum(m.story_points_total) AS scope_points,
           sum(m.story_points_completed) AS completed_points,
           '[]'::json AS events
      FROM days d CROSS JOIN sprint s
      LEFT JOIN LATERAL (
            -- the sprint's workstreams as the caller sees them, as for every snapshot figure
            -- (project_sprint_metrics carries no project_id for row-level security to filter)
            SELECT DISTINCT ON (ms.workstream_id) ms.story_points_total, ms.story_points_completed
              FROM project_sprint_metrics ms
             WHERE ms.sprint_id = %(sprint_id)s AND ms.workstream_id IN (SELECT workstream_id FROM workstreams)
               AND ms.snapshot_at < (d.day + 1)::timestamp AT TIME ZONE s.tz
             ORDER BY ms.workstream_id, ms.snapshot_at DESC) m ON true
     GROUP BY d.day, d.i, d.planned_days
), burndown AS (
    SELECT b.*, (SELECT committed_points FROM report_figures) AS ideal_from
      FROM history_burndown b WHERE (SELECT from_history FROM report_figures)
    UNION ALL
    SELECT b.*, (SELECT scope_points FROM snapshot_burndown WHERE scope_points IS NOT NULL ORDER BY i LIMIT 1)
      FROM snapshot_burndown b WHERE (SELECT source FROM report_figures) = 'metric snapshots'
), sprint_completed AS (  -- completed points per counted sprint and project: stored at its close
                          -- (an index-only read), else computed by the same definitions
    SELECT f.sprint_id, f.project_id, sum(coalesce(f.points_at_close, 0)) AS points
      FROM sprint_frozen_tasks f
     WHERE f.completed_in AND f.sprint_id IN (SELECT sprint_id FROM counted_sprints)
     GROUP BY f.sprint_id, f.project_id
    UNION ALL
    SELECT c.sprint_id, f.project_id, sum(coalesce(f.points_at_close, 0))
      FROM counted_sprints c CROSS JOIN LATERAL sprint_report_tasks(c.sprint_id, c.starts, c.closes) f
     WHERE f.completed_in AND NOT EXISTS (SELECT 1 FROM sprint_frozen_tasks x WHERE x.sprint_id = c.sprint_id)
     GROUP BY c.sprint_id, f.project_id
), velocity_rows AS (
    SELECT h.workstream_id, h.sprint_id, h.name, h.closes, h.k,
           CASE WHEN h.has_history THEN coalesce(sc.points, 0) ELSE f.story_points_completed END
               AS completed_points,
           CASE WHEN h.has_history THEN 'membership history' ELSE 'metric snapshots' END AS source
      FROM history h
      LEFT JOIN sprint_completed sc ON sc.sprint_id = h.sprint_id AND sc.project_id = h.project_id
      LEFT JOIN final_snapshots f ON f.sprint_id = h.sprint_id AND f.workstream_id = h.workstream_id
     WHERE h.k <= %(velocity_sprints)s
), velocity AS (
    SELECT w.workstream_id, w.name, w.project,
           json_agg(json_build_object('sprint_id', v.sprint_id, 'name', v.name,
                                      'completed_points', v.completed_points, 'source', v.source)
                    ORDER BY v.k) FILTER (WHERE v.sprint_id IS NOT NULL) AS sprints,
           round(avg(v.completed_points), 2) AS mean,
           round(stddev_samp(v.completed_points), 2) AS stddev,
           count(v.sprint_id) AS n
      FROM workstreams w LEFT JOIN velocity_rows v ON v.workstream_id = w.workstream_id
     GROUP BY w.workstream_id, w.name, w.project
), previous AS (  -- the primary workstream's closed sprint just before this one
    SELECT v.sprint_id, v.name, v.completed_points, w.project_id
      FROM velocity_rows v JOIN workstreams w ON w.workstream_id = v.workstream_id AND w.association_type = 'primary'
     WHERE v.k = 1
)
SELECT json_build_object(
    'sprint', (SELECT json_build_object(
        'id', id, 'name', name, 'state', state, 'start_date', start_date, 'end_date', end_date, 'goal', goal,
        'timezone', tz, 'activated_at', activated_at, 'completed_at', completed_at,
        'as_of', json_build_object('start', starts, 'close', closes,
                                   'definition', 'figures are computed as of the start instant and the close'
                                                 ' instant (now while the sprint is active)')) FROM sprint),
    'commitment', json_build_object(
        'points', f.committed_points, 'issues', f.committed_issues,
        'unestimated_issues', f.committed_unestimated, 'source', f.source,
        'definition', 'tasks in the sprint at its start that were neither completed nor cancelled then;'
                      ' points as estimated then'),
    'completed', json_build_object(
        'points', f.completed_points, 'issues', f.completed_issues,
        'unestimated_issues', f.completed_unestimated, 'source', f.source,
        'definition', 'tasks in the sprint at its close, completed while in it and inside the window, and still'
                      ' completed at the close; points as estimated at the close'),
    'completed_outside', json_build_object(
        'points', f.outside_points, 'issues', f.outside_issues, 'source', f.source,
        'tasks', coalesce((SELECT json_agg(json_build_object('project', t.project, 'key', t.key,
                                                             'story_points', t.points_at_close,
                                                             'completed_at', t.completed_at)
                                           ORDER BY t.project, t.key)
                             FROM this_tasks t WHERE t.completed_outside), '[]'::json),
        'definition', 'tasks in the sprint at its close that were completed before they joined it or before its'
                      ' start; counted in neither commitment nor completed'),
    'scope_change', json_build_object(
        'added_points', f.added_points, 'added_issues', f.added_issues,
        'removed_points', f.removed_points, 'removed_issues', f.removed_issues,
        'reestimated_points', f.reestimated_points,
        'net_points', f.added_points - f.removed_points + f.reestimated_points,
        'share_of_commitment_percent',
            round(100.0 * (f.added_points - f.removed_points + f.reestimated_points)
                  / nullif(f.committed_points, 0), 2),
        'source', f.source,
        'definition', 'added: tasks that joined after the start, or were in the sprint at the start completed'
                      ' or cancelled and were reopened after it, and were still in (or completed in) the sprint at'
                      ' its close, points when they joined or reopened; removed: tasks that left before the close'
                      ' other than by the close''s own move, or were cancelled after the start while in the sprint,'
                      ' points when they went; re-estimated: the net change of points of tasks in scope after the'
                      ' start'),
    'completion', json_build_object(
        'of_commitment_percent', round(100.0 * f.completed_points / nullif(f.committed_points, 0), 2),
        'of_final_scope_percent', round(100.0 * f.completed_points / nullif(f.final_scope_points, 0), 2),
        'final_scope_points', f.final_scope_points, 'source', f.source,
        'definition', 'of_commitment_percent: completed / commitment; of_final_scope_percent: completed / final'
                      ' scope, where final scope = commitment + added - removed + re-estimated'),
    'carry_over', json_build_object(
        'points', f.carry_over_points, 'issues', f.carry_over_issues, 'source', f.source,
        'tasks', coalesce((SELECT json_agg(json_build_object(
                                 'project', t.project, 'key', t.key, 'status', t.status_at_close,
                                 'story_points', t.points_at_close,
                                 'moved_to', CASE WHEN t.moved_at_close
                                                  THEN coalesce(to_json(t.moved_to), '"backlog"'::json) END)
                                           ORDER BY t.project, t.key)
                             FROM this_tasks t WHERE t.carried_over), '[]'::json),
        'definition', 'tasks in the sprint at its close, neither completed nor cancelled then; moved_to: the sprint'
                      ' the close moved each to, "backlog", or null while the sprint is open'),
    'cycle_time_hours', (SELECT json_build_object(
        'p50', round((percentile_cont(0.5) WITHIN GROUP (ORDER BY cycle_hours))::numeric, 2),
        'p85', round((percentile_cont(0.85) WITHIN GROUP (ORDER BY cycle_hours))::numeric, 2),
        'tasks', count(cycle_hours),
        'definition', 'first in_progress to completed, for tasks completed in the sprint') FROM flow),
    'lead_time_hours', (SELECT json_build_object(
        'p50', round((percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_hours))::numeric, 2),
        'p85', round((percentile_cont(0.85) WITHIN GROUP (ORDER BY lead_hours))::numeric, 2),
        'tasks', count(lead_hours),
        'definition', 'created to completed, for tasks completed in the sprint') FROM flow),
    'burndown', coalesce((SELECT json_agg(json_build_object(
                    'day', b.day, 'scope_points', b.scope_points, 'completed_points', b.completed_points,
                    'remaining_points', b.scope_points - b.completed_points,
                    'ideal_remaining_points',
                        round(b.ideal_from * greatest(1 - b.i::numeric / b.planned_days, 0), 2),
                    'events', b.events)
                    ORDER BY b.day) FROM burndown b), '[]'::json),
    'burndown_source', f.source,
    'burndown_definition', 'one point per day in the sprint''s time zone from its start to its end date (to the'
                           ' close if it closed late, to today at most while active, 90 days at most without an'
                           ' end date): scope and completed points at the end of the day, remaining, the ideal'
                           ' line from the commitment to 0 at the end date, and the day''s changes',
    'velocity', json_build_object(
        'last_closed_sprints', %(velocity_sprints)s,
        'definition', 'per workstream (a project''s source): mean and sample standard deviation of the points'
                      ' its project completed in its last N closed sprints that closed before this one started,'
                      ' by the definition of completed above (metric snapshots for sprints without history)',
        'workstreams', coalesce((SELECT json_agg(json_build_object(
                    'workstream_id', v.workstream_id, 'workstream', v.name, 'project', v.project,
                    'mean_points', v.mean, 'stddev_points', v.stddev, 'sprints_counted', v.n,
                    'sprints', coalesce(v.sprints, '[]'::json)) ORDER BY v.workstream_id)
                    FROM velocity v), '[]'::json)),
    'previous_sprint', (SELECT json_build_object(
        'sprint_id', pr.sprint_id, 'name', pr.name, 'completed_points', pr.completed_points,
        'this_sprint_completed_points',
            CASE WHEN f.from_history
                 THEN (SELECT coalesce(sum(coalesce(t.points_at_close, 0)) FILTER (WHERE t.completed_in), 0)
                         FROM this_tasks t WHERE t.project_id = pr.project_id)
                 ELSE (SELECT sum(fs.story_points_completed) FROM final_snapshots fs
                         JOIN workstreams w ON w.workstream_id = fs.workstream_id
                        WHERE fs.sprint_id = %(sprint_id)s AND w.association_type = 'primary') END,
        'definition', 'completed points of the primary workstream''s project in its previous closed sprint')
        FROM previous pr)
)::text
  FROM report_figures f
 WHERE EXISTS (SELECT 1 FROM sprint);
