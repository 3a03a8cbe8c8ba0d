-- name: sprint_report :one
-- The computed report of a sprint, each figure beside its inputs and definition.
-- From the sprint's tasks and their history: commitment, completed, scope change,
-- completion, carry-over, cycle and lead time. From the metric snapshots:
-- burndown, velocity over the last N closed sprints of each workstream, and the
-- comparison with the previous sprint. Unestimated tasks count 0 points and are
-- counted apart. No row when the sprint does not exist.
WITH sprint AS (
    SELECT s.*, s.start_date::timestamptz AS starts, (s.end_date + 1)::timestamptz AS ends
      FROM sprints s
     WHERE s.id = %(sprint_id)s
), sprint_tasks AS (
    SELECT t.project_id, t.id, t.key, t.status, t.story_points, t.created_at, t.completed_at,
           p.key AS project,
           -- removed from scope: cancelled inside the sprint window
           EXISTS (SELECT 1 FROM task_history h
                    WHERE h.project_id = t.project_id AND h.task_id = t.id AND h.to_status = 'cancelled'
                      AND h.changed_at >= s.starts AND h.changed_at < s.ends) AS cancelled_in_window,
           -- carried over: neither completed inside the window nor cancelled
           t.status <> 'cancelled'
             AND NOT coalesce(t.completed_at >= s.starts AND t.completed_at < s.ends, false) AS carried_over
      FROM tasks t JOIN projects p ON p.id = t.project_id CROSS JOIN sprint s
     WHERE t.sprint_id = %(sprint_id)s
), task_figures AS (
    SELECT
        coalesce(sum(t.story_points) FILTER (WHERE t.created_at < s.starts), 0) AS committed_points,
        count(*) FILTER (WHERE t.created_at < s.starts) AS committed_issues,
        count(*) FILTER (WHERE t.created_at < s.starts AND t.story_points IS NULL) AS committed_unestimated,
        coalesce(sum(t.story_points) FILTER (WHERE t.completed_at >= s.starts AND t.completed_at < s.ends), 0)
            AS completed_points,
        count(*) FILTER (WHERE t.completed_at >= s.starts AND t.completed_at < s.ends) AS completed_issues,
        count(*) FILTER (WHERE t.completed_at >= s.starts AND t.completed_at < s.ends
                           AND t.story_points IS NULL) AS completed_unestimated,
        coalesce(sum(t.story_points) FILTER (WHERE t.created_at >= s.starts), 0) AS added_points,
        count(*) FILTER (WHERE t.created_at >= s.starts) AS added_issues,
        coalesce(sum(t.story_points) FILTER (WHERE t.cancelled_in_window), 0) AS removed_points,
        count(*) FILTER (WHERE t.cancelled_in_window) AS removed_issues,
        coalesce(sum(t.story_points) FILTER (WHERE t.status <> 'cancelled'), 0) AS final_scope_points,
        coalesce(sum(t.story_points) FILTER (WHERE t.carried_over), 0) AS carry_over_points,
        count(*) FILTER (WHERE t.carried_over) AS carry_over_issues
      FROM sprint s LEFT JOIN sprint_tasks t ON true
), flow AS (  -- hours from first start (cycle) and from creation (lead) to completion
    SELECT extract(epoch FROM t.completed_at - started.at) / 3600 AS cycle_hours,
           extract(epoch FROM t.completed_at - t.created_at) / 3600 AS lead_hours
      FROM sprint s
      JOIN sprint_tasks t ON t.completed_at >= s.starts AND t.completed_at < s.ends
      LEFT JOIN LATERAL (
            SELECT min(h.changed_at) AS at FROM task_history h
             WHERE h.project_id = t.project_id AND h.task_id = t.id AND h.to_status = 'in_progress') started
        ON true
), workstreams AS (
    SELECT a.workstream_id, w.name, p.key AS project, a.association_type
      FROM project_sprint_associations a
      JOIN project_workstreams w ON w.id = a.workstream_id
      JOIN projects p ON p.id = w.project_id
     WHERE a.sprint_id = %(sprint_id)s AND a.is_active
), days AS (
    SELECT d::date AS day, row_number() OVER (ORDER BY d) - 1 AS i, count(*) OVER () AS n
      FROM sprint s, generate_series(s.start_date, least(s.end_date, s.start_date + 366), interval '1 day') d
), burndown AS (  -- per day: the latest snapshot of each workstream up to that day's end
    SELECT d.day, d.i, d.n,
           sum(m.story_points_total) AS scope_points,
           sum(m.story_points_completed) AS completed_points
      FROM days d
      LEFT JOIN LATERAL (
            SELECT DISTINCT ON (ms.workstream_id) ms.story_points_total, ms.story_points_completed
              FROM project_sprint_metrics ms
             WHERE ms.sprint_id = %(sprint_id)s AND ms.snapshot_at < (d.day + 1)::timestamptz
               AND d.day <= current_date  -- days still ahead have no actuals, only the ideal line
             ORDER BY ms.workstream_id, ms.snapshot_at DESC) m ON true
     GROUP BY d.day, d.i, d.n
), final_snapshots AS (  -- each sprint's last snapshot of each workstream
    SELECT DISTINCT ON (m.sprint_id, m.workstream_id)
           m.sprint_id, m.workstream_id, m.story_points_completed, m.story_points_total
      FROM project_sprint_metrics m
     WHERE m.workstream_id IN (SELECT workstream_id FROM workstreams)
     ORDER BY m.sprint_id, m.workstream_id, m.snapshot_at DESC
), history AS (  -- the last N closed sprints of each workstream before this one
    SELECT w.workstream_id, prior.id AS sprint_id, prior.name, prior.end_date, f.story_points_completed,
           row_number() OVER (PARTITION BY w.workstream_id ORDER BY prior.end_date DESC, prior.id DESC) AS k
      FROM workstreams w
      JOIN project_sprint_associations pa ON pa.workstream_id = w.workstream_id
      JOIN sprints prior ON prior.id = pa.sprint_id
      JOIN final_snapshots f ON f.sprint_id = prior.id AND f.workstream_id = w.workstream_id
      CROSS JOIN sprint s
     WHERE prior.state = 'closed' AND prior.id <> s.id AND prior.end_date < coalesce(s.start_date, current_date)
), velocity AS (
    SELECT w.workstream_id, w.name, w.project,
           json_agg(json_build_object('sprint_id', h.sprint_id, 'name', h.name,
                                      'completed_points', h.story_points_completed)
                    ORDER BY h.end_date DESC) FILTER (WHERE h.k <= %(velocity_sprints)s) AS sprints,
           round(avg(h.story_points_completed) FILTER (WHERE h.k <= %(velocity_sprints)s), 2) AS mean,
           round(stddev_samp(h.story_points_completed) FILTER (WHERE h.k <= %(velocity_sprints)s), 2) AS stddev,
           count(h.sprint_id) FILTER (WHERE h.k <= %(velocity_sprints)s) AS n
      FROM workstreams w LEFT JOIN history h ON h.workstream_id = w.workstream_id
     GROUP BY w.workstream_id, w.name, w.project
), previous AS (  -- the primary workstream's closed sprint just before this one
    SELECT h.sprint_id, h.name, h.story_points_completed
      FROM history h JOIN workstreams w ON w.workstream_id = h.workstream_id AND w.association_type = 'primary'
     WHERE h.k = 1
)
SELECT json_build_object(
    'sprint', (SELECT json_build_object('id', id, 'name', name, 'state', state, 'start_date', start_date,
                                        'end_date', end_date, 'goal', goal) FROM sprint),
    'commitment', json_build_object(
        'points', f.committed_points, 'issues', f.committed_issues,
        'unestimated_issues', f.committed_unestimated,
        'definition', 'story points of the sprint''s tasks that existed when it started'),
    'completed', json_build_object(
        'points', f.completed_points, 'issues', f.completed_issues,
        'unestimated_issues', f.completed_unestimated,
        'definition', 'story points of the sprint''s tasks completed inside the sprint window'),
    'scope_change', json_build_object(
        'added_points', f.added_points, 'added_issues', f.added_issues,
        'removed_points', f.removed_points, 'removed_issues', f.removed_issues,
        'net_points', f.added_points - f.removed_points,
        'share_of_commitment_percent',
            round(100.0 * (f.added_points - f.removed_points) / nullif(f.committed_points, 0), 2),
        'definition', 'added: tasks created after the start; removed: tasks cancelled inside the window'),
    'completion', json_build_object(
        'of_commitment_percent', round(100.0 * f.completed_points / nullif(f.committed_points, 0), 2),
        'of_final_scope_percent', round(100.0 * f.completed_points / nullif(f.final_scope_points, 0), 2),
        'final_scope_points', f.final_scope_points),
    'carry_over', json_build_object(
        'points', f.carry_over_points, 'issues', f.carry_over_issues,
        'tasks', coalesce((SELECT json_agg(json_build_object('project', t.project, 'key', t.key,
                                                             'status', t.status, 'story_points', t.story_points)
                                           ORDER BY t.project, t.key)
                             FROM sprint_tasks t WHERE t.carried_over), '[]'::json)),
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
                        round((SELECT scope_points FROM burndown WHERE scope_points IS NOT NULL
                                ORDER BY i LIMIT 1)
                              * (1 - b.i::numeric / greatest(b.n - 1, 1)), 2))
                    ORDER BY b.day) FROM burndown b), '[]'::json),
    'velocity', json_build_object(
        'last_closed_sprints', %(velocity_sprints)s,
        'workstreams', coalesce((SELECT json_agg(json_build_object(
                    'workstream_id', v.workstream_id, 'workstream', v.name, 'project', v.project,
                    'mean_points', v.mean, 'stddev_points', v.stddev, 'sprints_counted', v.n,
                    'sprints', coalesce(v.sprints, '[]'::json)) ORDER BY v.workstream_id)
                    FROM velocity v), '[]'::json)),
    'previous_sprint', (SELECT json_build_object(
        'sprint_id', pr.sprint_id, 'name', pr.name, 'completed_points', pr.story_points_completed,
        'this_sprint_completed_points', (SELECT sum(fs.story_points_completed) FROM final_snapshots fs
                                          JOIN workstreams w ON w.workstream_id = fs.workstream_id
                                         WHERE fs.sprint_id = %(sprint_id)s AND w.association_type = 'primary'),
        'definition', 'last snapshot of the primary workstream in its previous closed sprint')
        FROM previous pr)
)::text
  FROM task_figures f
 WHERE EXISTS (SELECT 1 FROM sprint);
