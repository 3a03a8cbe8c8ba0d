-- depends: 0050_documents_without_spaces
-- A task in the sprint at its start but completed or cancelled then is not in the
-- commitment. Until now, when it was completed again during the sprint, it counted
-- as completed without ever being in the scope (completed could exceed the final
-- scope). Now its reopening (its first change to an open status after the start)
-- brings it into the scope as "added", with its points then, as a joining after
-- the start does; the burndown shows the reopening as the day's "joined" event
-- (the row's joined_at is when the task came into the scope). Completed again
-- without being reopened (an imported "Won't Do -> Done"), it is completed outside
-- the sprint. A task reopened after it left the sprint is not added. So every task
-- completed in the sprint is in its scope. Sprints closed before this keep the
-- figures their close stored.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

-- As 0049, but for when a task not committed came into the scope (entering).
CREATE OR REPLACE FUNCTION sprint_report_tasks(sprint_id bigint, starts timestamptz, closes timestamptz)
RETURNS SETOF sprint_frozen_tasks
LANGUAGE plpgsql STABLE ROWS 2000 SET jit = off AS $$
#variable_conflict use_column
BEGIN
RETURN QUERY
WITH in_view AS (
    SELECT sprint_report_tasks.sprint_id AS id, sprint_report_tasks.starts AS starts,
           sprint_report_tasks.closes AS closes
), member_events AS (  -- per task: the events that fix its membership at the start and at the close
    SELECT v.id AS sprint_id, v.starts, v.closes, e.project_id, e.task_id,
           (array_agg(e ORDER BY e.happened_at DESC, e.id DESC) FILTER (WHERE e.happened_at <= v.starts))[1]
               AS last_by_start,
           -- the close's own moves happen at the close: "at the close" is just before them
           (array_agg(e ORDER BY e.happened_at DESC, e.id DESC) FILTER (WHERE NOT e.is_close_move))[1]
               AS last_by_close,
           (array_agg(e ORDER BY e.happened_at DESC, e.id DESC)
                FILTER (WHERE e.change = 'joined' AND e.happened_at > v.starts))[1] AS last_join_after_start,
           (array_agg(e ORDER BY e.happened_at DESC, e.id DESC)
                FILTER (WHERE e.change = 'left' AND NOT e.is_close_move))[1] AS last_removal,
           max(e.happened_at) FILTER (WHERE e.change = 'joined') AS last_joined_at,
           bool_or(e.is_close_move) AS moved_at_close,
           max(e.moved_to_sprint_id) FILTER (WHERE e.is_close_move) AS moved_to
      FROM in_view v
      JOIN sprint_membership_events e ON e.sprint_id = v.id AND e.happened_at <= v.closes
     GROUP BY v.id, v.starts, v.closes, e.project_id, e.task_id
), members AS (
    SELECT m.sprint_id, m.starts, m.closes, m.project_id, m.task_id,
           (m.last_by_start).change AS change_at_start, (m.last_by_start).points_after AS points_at_start,
           (m.last_by_close).change AS change_at_close, (m.last_by_close).points_after AS points_at_close,
           m.last_joined_at,
           (m.last_join_after_start).happened_at AS joined_at,
           (m.last_join_after_start).points_after AS points_when_joined,
           (m.last_removal).happened_at AS left_at, (m.last_removal).points_before AS points_when_left,
           m.moved_at_close, m.moved_to
      FROM member_events m
), as_of AS (  -- each task's status as of the start and the close, from its status history
    SELECT m.*, t.key, t.created_at,
           coalesce(h.status_at_start, h.status_before_start) AS status_at_start,
           coalesce(h.status_at_close, h.status_before_close) AS status_at_close,
           h.completed_at, h.cancelled_at, h.started_at, h.reopened_at
      FROM members m
     CROSS JOIN LATERAL (  -- one probe of tasks_pkey per member (LIMIT keeps it a probe)
            SELECT t.key, t.created_at FROM tasks t
             WHERE t.project_id = m.project_id AND t.id = m.task_id LIMIT 1) t
     CROSS JOIN LATERAL (
            -- the status a task had at an instant: what its last change before it made it,
            -- else what its first change after it started from (for the creation row of a
            -- task created earlier, by import or before history was kept: what it was created as)
            SELECT (array_agg(h.to_status ORDER BY h.changed_at DESC, h.id DESC)
                        FILTER (WHERE h.changed_at <= m.starts))[1] AS status_at_start,
                   (array_agg(coalesce(h.from_status, CASE WHEN t.created_at <= m.starts THEN h.to_status END)
                              ORDER BY h.changed_at, h.id)
                        FILTER (WHERE h.changed_at > m.starts))[1] AS status_before_start,
                   (array_agg(h.to_status ORDER BY h.changed_at DESC, h.id DESC)
                        FILTER (WHERE h.changed_at <= m.closes))[1] AS status_at_close,
                   (array_agg(coalesce(h.from_status, CASE WHEN t.created_at <= m.closes THEN h.to_status END)
                              ORDER BY h.changed_at, h.id)
                        FILTER (WHERE h.changed_at > m.closes))[1] AS status_before_close,
                   max(h.changed_at) FILTER (WHERE h.to_status = 'completed' AND h.changed_at <= m.closes)
                       AS completed_at,
                   max(h.changed_at) FILTER (WHERE h.to_status = 'cancelled' AND h.changed_at <= m.closes)
                       AS cancelled_at,
                   min(h.changed_at) FILTER (WHERE h.to_status = 'in_progress' AND h.changed_at <= m.closes)
                       AS started_at,
                   -- the first change to an open status after the start (as every status
                   -- figure, read from to_status: imported rows may have no from_status)
                   min(h.changed_at) FILTER (WHERE h.to_status NOT IN ('completed', 'cancelled')
                                               AND h.changed_at > m.starts AND h.changed_at <= m.closes)
                       AS reopened_at
              FROM task_history h
             WHERE h.project_id = m.project_id AND h.task_id = m.task_id) h
), classified AS (
    SELECT a.*, x.committed, x.in_at_close,
           -- completed inside the window while a member: after its last joining, or else
           -- (it left and came back since) while the membership it then had lasted; a task
           -- finished at the start (in the sprint then, not joined since) only once reopened
           coalesce(a.change_at_close <> 'left' AND a.status_at_close = 'completed' AND a.completed_at >= a.starts
                    AND NOT (x.finished_at_start AND a.reopened_at IS NULL)
                    AND (a.completed_at >= a.last_joined_at
                         OR (SELECT e.change <> 'left' FROM sprint_membership_events e
                              WHERE e.project_id = a.project_id AND e.task_id = a.task_id
                                AND e.sprint_id = a.sprint_id AND e.happened_at <= a.completed_at
                              ORDER BY e.happened_at DESC, e.id DESC LIMIT 1)), false) AS completed_in,
           x.finished_at_start AND a.reopened_at IS NOT NULL AS reopened_in
      FROM as_of a
     CROSS JOIN LATERAL (
            SELECT coalesce(a.change_at_start <> 'left' AND a.status_at_start NOT IN ('completed', 'cancelled'),
                            false) AS committed,
                   coalesce(a.change_at_close <> 'left', false) AS in_at_close,
                   coalesce(a.change_at_start <> 'left' AND a.joined_at IS NULL
                            AND a.status_at_start IN ('completed', 'cancelled'), false) AS finished_at_start) x
), entering AS (  -- when a task not committed came into the scope after the start, with its points then:
                  -- its last joining, or its reopening if it was finished at the start
    SELECT c.*,
           CASE WHEN c.reopened_in THEN c.reopened_at ELSE c.joined_at END AS entered_at,
           CASE WHEN c.reopened_in
                THEN (SELECT e.points_after FROM sprint_membership_events e
                       WHERE e.project_id = c.project_id AND e.task_id = c.task_id
                         AND e.sprint_id = c.sprint_id AND e.happened_at <= c.reopened_at
                       ORDER BY e.happened_at DESC, e.id DESC LIMIT 1)
                ELSE c.points_when_joined END AS points_when_entered
      FROM classified c
), figures AS (
    SELECT c.*,
           c.in_at_close AND c.status_at_close = 'completed' AND NOT c.completed_in AS completed_outside,
           added.is_added,
           (c.committed OR added.is_added)
               AND (NOT c.in_at_close OR c.status_at_close IS NOT DISTINCT FROM 'cancelled') AS removed,
           c.in_at_close AND c.status_at_close NOT IN ('completed', 'cancelled') AS carried_over
      FROM entering c
     CROSS JOIN LATERAL (
            SELECT NOT c.committed AND c.entered_at IS NOT NULL AND c.in_at_close
                   AND NOT (c.status_at_close = 'completed' AND NOT c.completed_in)
                   AND NOT coalesce(c.status_at_close = 'cancelled' AND c.cancelled_at <= c.entered_at, false)
                   AS is_added) added
)
    -- points a task brought into scope, took out of it, and its net re-estimate
SELECT f.sprint_id, f.project_id, f.task_id, f.key, f.created_at, f.started_at, f.completed_at,
       f.status_at_close, f.points_at_start, f.points_at_close, f.points_when_entered, f.entered_at,
       CASE WHEN f.removed AND NOT f.in_at_close THEN f.points_when_left
            WHEN f.removed THEN f.points_at_close END::numeric AS removed_points,
       CASE WHEN f.removed AND NOT f.in_at_close THEN f.left_at WHEN f.removed THEN f.cancelled_at END
           AS removed_at,
       CASE WHEN f.committed OR f.is_added
            THEN coalesce(CASE WHEN f.removed AND NOT f.in_at_close THEN f.points_when_left
                               ELSE f.points_at_close END, 0)
                 - coalesce(CASE WHEN f.committed THEN f.points_at_start ELSE f.points_when_entered END, 0)
            ELSE 0 END::numeric AS reestimated_points,
       f.committed, coalesce(f.is_added, false), coalesce(f.removed, false), f.in_at_close, f.completed_in,
       coalesce(f.completed_outside, false), coalesce(f.carried_over, false),
       coalesce(f.moved_at_close, false), f.moved_to
  FROM figures f;
END;
$$;
