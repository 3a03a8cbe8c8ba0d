-- depends: 0040_sprint_frozen_tasks
-- An active sprint's report computes its burndown live (sprint_burndown_days): the
-- same days and events, with less work per event.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

-- As 0040 (the same days and events, to the byte): the re-estimates read as one
-- range of the sprint's events rather than a probe per task, each day's events
-- sorted by a number per task rather than by project and key, and each event's
-- JSON written from a part made once per task.
CREATE OR REPLACE FUNCTION sprint_burndown_days(sprint_id bigint, tasks sprint_frozen_tasks[])
RETURNS TABLE (day date, i bigint, planned_days bigint, scope_points numeric, completed_points numeric,
               events json)
LANGUAGE plpgsql STABLE SET jit = off AS $$
#variable_conflict use_column
BEGIN
RETURN QUERY
WITH sprint AS (
    SELECT s.id, s.state, s.end_date, w.timezone AS tz, w.starts, w.closes,
           (w.starts AT TIME ZONE w.timezone)::date AS first_day,
           ((w.closes - interval '1 microsecond') AT TIME ZONE w.timezone)::date AS close_day
      FROM sprints s CROSS JOIN LATERAL sprint_window(s) w
     WHERE s.id = sprint_burndown_days.sprint_id
), this_tasks AS (
    -- task_order: the tasks in (project, key) order, one number each (a task's key is
    -- unique in its project), so the day's events sort by numbers, not by text;
    -- named_as: the middle of each of its events' JSON, written once per task
    SELECT t.*, s.starts,
           '"project" : ' || to_json(t.project)::text || ', "key" : ' || to_json(t.key)::text AS named_as
      FROM (SELECT t.*, pr.key AS project, row_number() OVER (ORDER BY pr.key, t.key) AS task_order
              FROM unnest(sprint_burndown_days.tasks) t
              JOIN projects pr ON pr.id = t.project_id) t
     CROSS JOIN sprint s
), day_span AS (
    SELECT s.first_day,
           least(CASE WHEN s.state = 'closed' THEN greatest(coalesce(s.end_date, s.close_day), s.close_day)
                      ELSE least(coalesce(s.end_date, s.close_day), s.close_day) END,
                 s.first_day + CASE WHEN s.end_date IS NULL THEN 89 ELSE 366 END) AS last_day,
           coalesce(s.end_date, s.close_day) AS planned_last_day
      FROM sprint s
     WHERE s.closes IS NOT NULL
), days AS (
    SELECT d::date AS day, row_number() OVER (ORDER BY d) - 1 AS i,
           greatest(ds.planned_last_day - ds.first_day, 1) AS planned_days
      FROM day_span ds, generate_series(ds.first_day, ds.last_day, interval '1 day') d
), reestimates AS MATERIALIZED (  -- this sprint's re-estimates: one range of its events
    SELECT e.project_id, e.task_id, e.happened_at, e.points_before, e.points_after
      FROM sprint_membership_events e
     WHERE e.sprint_id = sprint_burndown_days.sprint_id AND e.happened_at <= (SELECT closes FROM sprint)
       AND e.change = 'reestimated'
), changes AS (  -- what moved scope or completion, and when (this sprint's membership history)
    SELECT t.project, t.key, t.task_order, t.named_as, c.change, c.at, c.scope_delta, c.completed_delta, c.points
      FROM this_tasks t
     CROSS JOIN LATERAL (VALUES
            ('committed', t.starts, CASE WHEN t.committed THEN coalesce(t.points_at_start, 0) END, 0::numeric,
             t.points_at_start),
            ('joined', t.joined_at, CASE WHEN t.is_added THEN coalesce(t.points_when_joined, 0) END, 0,
             t.points_when_joined),
            (CASE WHEN t.in_at_close THEN 'cancelled' ELSE 'left' END, t.removed_at,
             CASE WHEN t.removed THEN -coalesce(t.removed_points, 0) END, 0, t.removed_points),
            ('completed', t.completed_at, CASE WHEN t.completed_in THEN 0 END,
             coalesce(t.points_at_close, 0), t.points_at_close)) c (change, at, scope_delta, completed_delta,
                                                                     points)
     WHERE c.scope_delta IS NOT NULL
    UNION ALL
    SELECT t.project, t.key, t.task_order, t.named_as, 'reestimated', e.happened_at,
           coalesce(e.points_after, 0) - coalesce(e.points_before, 0), 0, e.points_after
      FROM reestimates e
      JOIN this_tasks t ON t.project_id = e.project_id AND t.task_id = e.task_id
     WHERE (t.committed OR t.is_added)
       AND e.happened_at > coalesce(t.joined_at, t.starts)
), dated_changes AS (
    SELECT ch.*, least(greatest((ch.at AT TIME ZONE s.tz)::date, ds.first_day), ds.last_day) AS day
      FROM changes ch CROSS JOIN sprint s CROSS JOIN day_span ds
), correction AS (  -- re-estimates made while outside the sprint, counted on the last day (normally 0)
    SELECT (SELECT coalesce(sum(reestimated_points), 0) FROM this_tasks)
           - coalesce(sum(scope_delta) FILTER (WHERE change = 'reestimated'), 0) AS points
      FROM dated_changes
), day_changes AS (  -- each day's changes, summed and listed once
    SELECT ch.day, sum(ch.scope_delta) AS scope_delta, sum(ch.completed_delta) AS completed_delta,
           -- each event as json_build_object('change', ch.change, 'project', ch.project, 'key', ch.key,
           -- 'points', ch.points, 'at', ch.at) writes it, to the byte, with one conversion per event
           -- rather than ten (a change is one of five plain words, points a finite number or none)
           json_agg(('{"change" : "' || ch.change || '", ' || ch.named_as
                     || ', "points" : ' || coalesce(ch.points::text, 'null')
                     || ', "at" : ' || to_json(ch.at)::text || '}')::json
                    ORDER BY ch.at, ch.task_order, ch.change) FILTER (WHERE ch.change <> 'committed') AS events
      FROM dated_changes ch
     GROUP BY ch.day
), history_burndown AS (  -- running sums up to the end of each day
    SELECT d.day, d.i, d.planned_days,
           sum(coalesce(c.scope_delta, 0)) OVER (ORDER BY d.day)
               + CASE WHEN d.day = (SELECT last_day FROM day_span) THEN (SELECT points FROM correction) ELSE 0 END
               AS scope_points,
           sum(coalesce(c.completed_delta, 0)) OVER (ORDER BY d.day) AS completed_points,
           coalesce(c.events, '[]'::json) AS events
      FROM days d LEFT JOIN day_changes c ON c.day = d.day
)
SELECT b.day, b.i, b.planned_days::bigint, b.scope_points, b.completed_points, b.events FROM history_burndown b;
END;
$$;
